package tokenizer

import (
	"testing"
	"unicode/utf8"
)

// FuzzEncode checks that Encode never panics, that byte-level BPE
// round-trips every valid string, that the Llama 3 fast pre-tokenizer gives
// the same ids as regexp2, and that the Llama 2 tokenizer.json and
// tokenizer.model agree.
func FuzzEncode(f *testing.F) {
	for _, s := range trickyTexts {
		f.Add(s)
	}
	for _, s := range []string{
		"Hello <|eot_id|> world", "<|begin_of_text|>System: hi<|eot_id|>", "Hello<s>world</s><pad></line><unk>",
		"\xff\xfe", "\xf0\x9f\xa6", "<0x41>", "▁▁x▁", "   leading", "x" + string(rune(0x10FFFF)),
	} {
		f.Add(s)
	}
	l3, l2, l2spm := llama3(f), llama2(f), llama2SPM(f)
	slow := *l3
	slow.llama3Fast = false
	f.Fuzz(func(t *testing.T, s string) {
		for _, opts := range []EncodeOptions{{}, {NoParseSpecial: true}, {AddSpecial: true}} {
			ids := l3.Encode(s, opts)
			if utf8.ValidString(s) && !opts.AddSpecial {
				if got := l3.Decode(ids); got != s {
					t.Fatalf("llama3 %+v: Decode(Encode(%q)) = %q", opts, s, got)
				}
			}
			if want := slow.Encode(s, opts); !equalIDs(ids, want) {
				t.Fatalf("llama3 %+v %q: fast %v, regexp2 %v", opts, s, ids, want)
			}
			a, b := l2.Encode(s, opts), l2spm.Encode(s, opts)
			if !equalIDs(a, b) {
				t.Fatalf("llama2 %+v %q: tokenizer.json %v, tokenizer.model %v", opts, s, a, b)
			}
			if utf8.ValidString(s) && roundTrips(l2, s, opts) && !opts.AddSpecial {
				if got := l2.Decode(a); got != s {
					t.Fatalf("llama2 %+v: Decode(Encode(%q)) = %q", opts, s, got)
				}
			}
		}
	})
}

func equalIDs(a, b []int32) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// FuzzDecode checks that Decode and the streamer never panic and agree.
func FuzzDecode(f *testing.F) {
	f.Add([]byte{0, 1, 2, 3})
	f.Add([]byte{0xff, 0xff, 0xff, 0x7f, 0x10, 0, 0, 0})
	l3, l2 := llama3(f), llama2(f)
	f.Fuzz(func(t *testing.T, raw []byte) {
		var ids []int32
		for i := 0; i+1 < len(raw); i += 2 {
			ids = append(ids, int32(raw[i])|int32(raw[i+1])<<8|int32(raw[i]&1)<<16)
		}
		for _, tok := range []*Tokenizer{l3, l2} {
			want := tok.Decode(ids)
			if !utf8.ValidString(want) {
				t.Fatalf("Decode(%v) is not valid UTF-8", ids)
			}
			st := tok.NewStreamer()
			got := ""
			for _, id := range ids {
				got += st.Add(id)
			}
			got += st.Flush()
			if got != want {
				t.Fatalf("%v: streamed %q, Decode %q", ids, got, want)
			}
		}
	})
}

// FuzzLoad checks that reading arbitrary bytes as a tokenizer file returns
// an error or a tokenizer, and never panics.
func FuzzLoad(f *testing.F) {
	f.Add([]byte(`{"model":{"type":"BPE","vocab":{"a":0,"b":1,"ab":2},"merges":["a b"]}}`))
	f.Add([]byte(`{"model":{"type":"BPE","vocab":{"a":0},"merges":[["a","a"]]},"pre_tokenizer":{"type":"Metaspace","replacement":"▁"}}`))
	f.Add([]byte{0x0a, 0x05, 0x0a, 0x01, 'a', 0x18, 0x01})
	f.Add([]byte{0x0a, 0x80})
	f.Fuzz(func(t *testing.T, data []byte) {
		tok, err := parseFile("fuzz", data)
		if err != nil {
			return
		}
		tok.Encode("Hello world ▁ 🦙 <s>", EncodeOptions{AddSpecial: true})
		tok.Decode([]int32{0, 1, 2, 3, -1, 1 << 30})
	})
}
