package tokenizer

import (
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/google/go-cmp/cmp"
)

// roundTrips reports whether Decode(Encode(s)) must equal s. Byte-level BPE
// keeps every byte. The Llama 2 decoder turns "▁" into a space and drops the
// leading space of the text, so a literal "▁" cannot survive, and neither
// can the "▁" Prepend adds after a special token in the middle of the text.
func roundTrips(tok *Tokenizer, s string, opts EncodeOptions) bool {
	if tok.model.byteFallback {
		return !strings.Contains(s, "▁") && opts.NoParseSpecial
	}
	return true
}

func TestRoundTrip(t *testing.T) {
	var texts []string
	texts = append(texts, trickyTexts...)
	for _, c := range readJSONL[encodeCase](t, "llama3/encode.jsonl") {
		texts = append(texts, c.Text)
	}
	for _, name := range []string{"llama3", "llama2", "llama2-spm"} {
		tok := map[string]func(testing.TB) *Tokenizer{"llama3": llama3, "llama2": llama2, "llama2-spm": llama2SPM}[name](t)
		for _, opts := range []EncodeOptions{{}, {NoParseSpecial: true}} {
			for _, s := range texts {
				if !roundTrips(tok, s, opts) {
					continue
				}
				if got := tok.Decode(tok.Encode(s, opts)); got != s {
					t.Errorf("%s %+v: Decode(Encode(%q)) = %q", name, opts, s, got)
				}
			}
		}
	}
}

// TestInvalidUTF8 checks that invalid input is encoded as Python would
// encode bytes.decode("utf-8", errors="replace"): one U+FFFD per maximal
// ill-formed subsequence.
func TestInvalidUTF8(t *testing.T) {
	tok := llama3(t)
	for _, c := range []struct{ in, same string }{
		{"\xff", "\uFFFD"},
		{"a\xf0\x9f\xa6b", "a\uFFFDb"},                   // truncated 4-byte sequence: one U+FFFD
		{"\xc0\x80", "\uFFFD\uFFFD"},                     // C0 can never start a character
		{"\xed\xa0\x80", "\uFFFD\uFFFD\uFFFD"},           // a surrogate
		{"x\xe2\x82", "x\uFFFD"},                         // truncated at the end
		{"\xf4\x90\x80\x80", "\uFFFD\uFFFD\uFFFD\uFFFD"}, // above U+10FFFF
	} {
		if diff := cmp.Diff(tok.Encode(c.same, EncodeOptions{}), tok.Encode(c.in, EncodeOptions{})); diff != "" {
			t.Errorf("Encode(%q) differs from Encode(%q):\n%s", c.in, c.same, diff)
		}
		if got := string(appendLossy(nil, []byte(c.in))); got != c.same {
			t.Errorf("appendLossy(%q) = %q, want %q", c.in, got, c.same)
		}
	}
}

// TestStreamer feeds ids one at a time and checks that every piece is
// valid UTF-8, that a character split over byte tokens is held back until
// complete, and that the pieces add up to Decode.
func TestStreamer(t *testing.T) {
	for _, name := range []string{"llama3", "llama2"} {
		tok := map[string]func(testing.TB) *Tokenizer{"llama3": llama3, "llama2": llama2}[name](t)
		for _, s := range append([]string{"🦙 llamas 你好 e\u0301 ok", "Hello<s> world</s>"}, trickyTexts...) {
			ids := tok.Encode(s, EncodeOptions{AddSpecial: true})
			st := tok.NewStreamer()
			var b strings.Builder
			for _, id := range ids {
				p := st.Add(id)
				if !utf8.ValidString(p) {
					t.Errorf("%s %q: piece %q is not valid UTF-8", name, s, p)
				}
				b.WriteString(p)
			}
			b.WriteString(st.Flush())
			if want := tok.Decode(ids); b.String() != want {
				t.Errorf("%s %q: streamed %q, Decode %q", name, s, b.String(), want)
			}
		}
	}
	// "🦙" is four byte tokens in Llama 3: nothing comes out until the last.
	tok := llama3(t)
	ids := tok.Encode("🦙", EncodeOptions{})
	if len(ids) < 2 {
		t.Fatalf("🦙 is %v", ids)
	}
	st := tok.NewStreamer()
	for _, id := range ids[:len(ids)-1] {
		if p := st.Add(id); p != "" {
			t.Errorf("piece %q before the character is complete", p)
		}
	}
	if p := st.Add(ids[len(ids)-1]); p != "🦙" {
		t.Errorf("last piece = %q, want 🦙", p)
	}
	// An unfinished character is flushed as U+FFFD.
	st = tok.NewStreamer()
	st.Add(ids[0])
	if p := st.Flush(); p != "\uFFFD" {
		t.Errorf("Flush = %q", p)
	}
}

// TestConcurrentEncode shares one Tokenizer (and its word cache) between
// goroutines.
func TestConcurrentEncode(t *testing.T) {
	tok := llama3(t)
	cases := readJSONL[encodeCase](t, "llama3/encode.jsonl")
	done := make(chan struct{})
	for g := 0; g < 4; g++ {
		go func() {
			defer func() { done <- struct{}{} }()
			for i := range cases {
				c := cases[(i+g*97)%len(cases)]
				if got := tok.Encode(c.Text, EncodeOptions{}); !equalIDs(got, c.IDs) && len(c.IDs) > 0 {
					t.Errorf("%q: %v, want %v", c.Text, got, c.IDs)
				}
			}
		}()
	}
	for range 4 {
		<-done
	}
}
