package tokenizer

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
)

type encodeCase struct {
	Case   string   `json:"case"`
	Text   string   `json:"text"`
	IDs    []int32  `json:"ids"`
	Tokens []string `json:"tokens"`
}

type decodeCase struct {
	Kind string  `json:"kind"`
	Case string  `json:"case"`
	IDs  []int32 `json:"ids"`
	Text string  `json:"text"`
}

// variant is one way of loading a reference tokenizer.
type variant struct {
	name   string
	vector string // testdata folder with the vectors
	load   func(testing.TB) *Tokenizer
	// skip reports cases this variant cannot reproduce, with the reason.
	skip func(c encodeCase) string
}

func variants() []variant {
	return []variant{
		{name: "llama3", vector: "llama3", load: llama3},
		{name: "llama3-gguf", vector: "llama3", load: llama3GGUF},
		{name: "llama2", vector: "llama2", load: llama2},
		{name: "llama2-spm", vector: "llama2", load: llama2SPM},
		{name: "llama2-spm-file", vector: "llama2", load: func(tb testing.TB) *Tokenizer {
			return loadModel(tb, "llama2", false, "tokenizer.model")
		}},
		{name: "llama2-spm-bare", vector: "llama2", load: llama2Bare, skip: noPadLine},
		{name: "llama2-gguf", vector: "llama2", load: llama2GGUF, skip: noPadLine},
	}
}

// noPadLine skips the cases that need <pad> (32000) or </line> (32001):
// tokenizer.json and tokenizer_config.json add them, but a tokenizer.model
// alone (or a GGUF made from it) has only its 32,000 pieces.
func noPadLine(c encodeCase) string {
	if strings.Contains(c.Text, "<pad>") || strings.Contains(c.Text, "</line>") {
		return "needs <pad> or </line>"
	}
	return ""
}

// llama2Bare loads a tokenizer.model with no configs beside it.
func llama2Bare(tb testing.TB) *Tokenizer {
	bareOnce.Do(func() {
		dir := filepath.Join(unpackRoot, "llama2-bare")
		if err := os.MkdirAll(dir, 0o755); err != nil {
			tb.Fatal(err)
		}
		path := filepath.Join(dir, "tokenizer.model")
		if err := os.WriteFile(path, readTestdata(tb, "llama2/tokenizer.model"), 0o644); err != nil {
			tb.Fatal(err)
		}
		t, err := Load(path)
		if err != nil {
			tb.Fatal(err)
		}
		bareTok = t
	})
	if bareTok == nil {
		tb.Fatal("bare tokenizer.model did not load")
	}
	return bareTok
}

var (
	bareOnce sync.Once
	bareTok  *Tokenizer
)

func checkEncode(t *testing.T, tok *Tokenizer, cases []encodeCase, opts EncodeOptions, skip func(encodeCase) string) {
	t.Helper()
	for i, c := range cases {
		if skip != nil && skip(c) != "" {
			continue
		}
		got := tok.Encode(c.Text, opts)
		if diff := cmp.Diff(c.IDs, got, cmpopts.EquateEmpty()); diff != "" {
			t.Errorf("line %d (%s) %q: ids (-want +got):\n%s", i+1, c.Case, c.Text, diff)
			continue
		}
		if c.Tokens != nil {
			var strs []string
			for _, id := range got {
				strs = append(strs, tok.TokenString(id))
			}
			if diff := cmp.Diff(c.Tokens, strs, cmpopts.EquateEmpty()); diff != "" {
				t.Errorf("line %d (%s): tokens (-want +got):\n%s", i+1, c.Case, diff)
			}
		}
	}
}

func TestEncodeVectors(t *testing.T) {
	for _, v := range variants() {
		t.Run(v.name, func(t *testing.T) {
			tok := v.load(t)
			t.Run("encode", func(t *testing.T) {
				checkEncode(t, tok, readJSONL[encodeCase](t, v.vector+"/encode.jsonl"), EncodeOptions{}, v.skip)
			})
			t.Run("special_as_text", func(t *testing.T) {
				checkEncode(t, tok, readJSONL[encodeCase](t, v.vector+"/encode_special_as_text.jsonl"), EncodeOptions{NoParseSpecial: true}, nil)
			})
			t.Run("with_special_tokens", func(t *testing.T) {
				checkEncode(t, tok, readJSONL[encodeCase](t, v.vector+"/encode_with_special_tokens.jsonl"), EncodeOptions{AddSpecial: true}, v.skip)
			})
		})
	}
}

func TestDecodeVectors(t *testing.T) {
	for _, v := range variants() {
		t.Run(v.name, func(t *testing.T) {
			tok := v.load(t)
			for i, c := range readJSONL[decodeCase](t, v.vector+"/decode.jsonl") {
				if v.skip != nil && hasIDAbove(c.IDs, 31999) {
					continue
				}
				got := tok.Decode(c.IDs)
				if got != c.Text {
					t.Errorf("line %d (%s %s) %v: got %q, want %q", i+1, c.Kind, c.Case, c.IDs, got, c.Text)
				}
				// The streaming detokenizer must give the same text.
				s := tok.NewStreamer()
				var b strings.Builder
				for _, id := range c.IDs {
					b.WriteString(s.Add(id))
				}
				b.WriteString(s.Flush())
				if b.String() != c.Text {
					t.Errorf("line %d (%s %s) %v: streamed %q, want %q", i+1, c.Kind, c.Case, c.IDs, b.String(), c.Text)
				}
			}
		})
	}
}

func hasIDAbove(ids []int32, n int32) bool {
	for _, id := range ids {
		if id > n {
			return true
		}
	}
	return false
}

func TestWarAndPeace(t *testing.T) {
	if testing.Short() {
		t.Skip("1 MB text")
	}
	text := warAndPeace(t)
	for _, v := range variants() {
		t.Run(v.name, func(t *testing.T) {
			want := readIDs(t, v.vector+"/war_and_peace_1mb.ids.json.gz")
			got := v.load(t).Encode(text, EncodeOptions{})
			if len(got) != len(want) {
				t.Errorf("got %d ids, want %d", len(got), len(want))
			}
			for i := range min(len(got), len(want)) {
				if got[i] != want[i] {
					t.Fatalf("first difference at id %d: got %d, want %d (context %v vs %v)",
						i, got[i], want[i], got[max(0, i-3):min(len(got), i+4)], want[max(0, i-3):min(len(want), i+4)])
				}
			}
			if dec := v.load(t).Decode(got); v.vector == "llama3" && dec != text {
				t.Errorf("Decode(Encode(text)) differs from text")
			}
		})
	}
}

type chatCase struct {
	Messages []struct {
		Role    string `json:"role"`
		Content string `json:"content"`
	} `json:"messages"`
	HFRendered    string  `json:"hf_rendered"`
	HFIDs         []int32 `json:"hf_ids"`
	ChatFormatIDs []int32 `json:"bitnet_chatformat_ids"`
}

// TestChatIDs checks the ids of the chat prompts: HF's rendered template
// encoded without BOS, and microsoft/BitNet's ChatFormat, which encodes each
// part on its own with special strings as text.
func TestChatIDs(t *testing.T) {
	tok := llama3(t)
	eot, ok := tok.TokenID("<|eot_id|>")
	if !ok {
		t.Fatal("no <|eot_id|>")
	}
	for i, c := range readJSONL[chatCase](t, "llama3/chat.jsonl") {
		if diff := cmp.Diff(c.HFIDs, tok.Encode(c.HFRendered, EncodeOptions{})); diff != "" {
			t.Errorf("chat %d: hf ids (-want +got):\n%s", i+1, diff)
		}
		plain := EncodeOptions{NoParseSpecial: true}
		ids := []int32{tok.BOS()}
		for _, m := range c.Messages {
			header := strings.ToUpper(m.Role[:1]) + m.Role[1:] + ": "
			ids = append(ids, tok.Encode(header, plain)...)
			ids = append(ids, tok.Encode(strings.TrimSpace(m.Content), plain)...)
			ids = append(ids, eot)
		}
		ids = append(ids, tok.Encode("Assistant: ", plain)...)
		if diff := cmp.Diff(c.ChatFormatIDs, ids); diff != "" {
			t.Errorf("chat %d: ChatFormat ids (-want +got):\n%s", i+1, diff)
		}
	}
}

func TestSpecialIDs(t *testing.T) {
	for _, tc := range []struct {
		name      string
		tok       func(testing.TB) *Tokenizer
		bos       int32
		eos       []int32
		vocab     int
		template  bool
		addPrefix []int32
	}{
		{"llama3", llama3, 128000, []int32{128001, 128009}, 128256, true, []int32{128000}},
		{"llama2", llama2, 1, []int32{2}, 32002, false, []int32{1}},
		{"llama2-spm", llama2SPM, 1, []int32{2}, 32002, false, []int32{1}},
		{"bitnet-tiny", bitnetTiny, 4086, []int32{4087, 4095}, 4096, true, []int32{4086}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tok := tc.tok(t)
			if tok.BOS() != tc.bos {
				t.Errorf("BOS = %d, want %d", tok.BOS(), tc.bos)
			}
			if diff := cmp.Diff(tc.eos, tok.EOS()); diff != "" {
				t.Errorf("EOS (-want +got):\n%s", diff)
			}
			if tok.VocabSize() != tc.vocab {
				t.Errorf("VocabSize = %d, want %d", tok.VocabSize(), tc.vocab)
			}
			if (tok.ChatTemplate() != "") != tc.template {
				t.Errorf("ChatTemplate = %q", tok.ChatTemplate())
			}
			if diff := cmp.Diff(tc.addPrefix, tok.Encode("", EncodeOptions{AddSpecial: true})); diff != "" {
				t.Errorf("Encode(\"\", AddSpecial) (-want +got):\n%s", diff)
			}
			if tok.EOSToken() == "" || tok.BOSToken() != tok.TokenString(tc.bos) {
				t.Errorf("EOSToken = %q, BOSToken = %q", tok.EOSToken(), tok.BOSToken())
			}
			for _, id := range tok.EOS() {
				if !tok.IsSpecial(id) {
					t.Errorf("EOS %d is not special", id)
				}
			}
		})
	}
}

func bitnetTiny(tb testing.TB) *Tokenizer { return loadModel(tb, "bitnet-tiny", false, "") }

// TestBitnetTiny checks the engine's test model against the input_ids of
// its reference.json (prompts encoded by transformers with BOS).
func TestBitnetTiny(t *testing.T) {
	tok := bitnetTiny(t)
	for _, c := range []struct {
		text string
		ids  []int32
	}{
		{"Once upon a time, there was a little girl named Lily.", []int32{4086, 411, 432, 258, 385, 44, 384, 277, 258, 373, 423, 509, 424, 46}},
		{"One day, Tom and his dog went to the park. They", []int32{4086, 413, 347, 44, 595, 265, 343, 704, 466, 267, 262, 582, 46, 357}},
		{"The sun was shining and the birds were singing.", []int32{4086, 290, 688, 277, 1940, 265, 262, 1217, 434, 1910, 46}},
		{"Sara had a big red ball. She", []int32{4086, 1376, 355, 258, 409, 1015, 787, 46, 321}},
		{"Once upon a time", []int32{4086, 411, 432, 258, 385}},
	} {
		got := tok.Encode(c.text, EncodeOptions{AddSpecial: true})
		if diff := cmp.Diff(c.ids, got); diff != "" {
			t.Errorf("%q (-want +got):\n%s", c.text, diff)
		}
		if dec := tok.Decode(got[1:]); dec != c.text {
			t.Errorf("Decode = %q, want %q", dec, c.text)
		}
	}
	// Special tokens of the tiny vocabulary are split out too.
	got := tok.Encode("Hi<|eot_id|>", EncodeOptions{})
	if got[len(got)-1] != 4095 {
		t.Errorf("Encode(Hi<|eot_id|>) = %v, want it to end in 4095", got)
	}
	if s := fmt.Sprint(tok.Decode([]int32{4086, 4095})); s != "<|begin_of_text|><|eot_id|>" {
		t.Errorf("Decode specials = %q", s)
	}
}
