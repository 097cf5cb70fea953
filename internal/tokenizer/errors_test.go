package tokenizer

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

const okModel = `"model": {"type": "BPE", "vocab": {"a": 0, "b": 1, "ab": 2}, "merges": ["a b"]}`

func TestLoadErrors(t *testing.T) {
	for _, c := range []struct {
		name    string
		file    string // file name in a temp folder
		content string
		want    []string // substrings of the error, besides the path
	}{
		{"unknown model type", "tokenizer.json", `{"model": {"type": "WordPiece", "vocab": {}}}`, []string{"model.type", `"WordPiece"`}},
		{"unknown pre-tokenizer", "tokenizer.json", `{` + okModel + `, "pre_tokenizer": {"type": "Whitespace"}}`, []string{"pre_tokenizer.type", `"Whitespace"`}},
		{"unknown nested pre-tokenizer", "tokenizer.json", `{` + okModel + `, "pre_tokenizer": {"type": "Sequence", "pretokenizers": [{"type": "ByteLevel"}, {"type": "Foo"}]}}`, []string{"pre_tokenizer.pretokenizers[1].type", `"Foo"`}},
		{"unknown normalizer", "tokenizer.json", `{` + okModel + `, "normalizer": {"type": "NFKC"}}`, []string{"normalizer.type", `"NFKC"`}},
		{"unknown decoder", "tokenizer.json", `{` + okModel + `, "decoder": {"type": "Sequence", "decoders": [{"type": "WordPiece"}]}}`, []string{"decoder.decoders[0].type", `"WordPiece"`}},
		{"unknown post-processor", "tokenizer.json", `{` + okModel + `, "post_processor": {"type": "Foo"}}`, []string{"post_processor.type", `"Foo"`}},
		{"unknown split behavior", "tokenizer.json", `{` + okModel + `, "pre_tokenizer": {"type": "Split", "pattern": {"String": " "}, "behavior": "Sideways"}}`, []string{"pre_tokenizer.behavior", "Sideways"}},
		{"bad regex", "tokenizer.json", `{` + okModel + `, "pre_tokenizer": {"type": "Split", "pattern": {"Regex": "(("}, "behavior": "Isolated"}}`, []string{"pre_tokenizer.pattern", "bad regex"}},
		{"merge names unknown token", "tokenizer.json", `{"model": {"type": "BPE", "vocab": {"a": 0, "ab": 1}, "merges": ["a b"]}}`, []string{"model.merges[0]", `"b" is not in the vocab`}},
		{"merge pair names unknown token", "tokenizer.json", `{"model": {"type": "BPE", "vocab": {"a": 0, "b": 1, "ab": 2}, "merges": [["a", "b"], ["x", "a"]]}}`, []string{"model.merges[1]", `"x" is not in the vocab`}},
		{"merge result not in vocab", "tokenizer.json", `{"model": {"type": "BPE", "vocab": {"a": 0, "b": 1}, "merges": ["a b"]}}`, []string{"model.merges[0]", `"ab"`}},
		{"merge without space", "tokenizer.json", `{"model": {"type": "BPE", "vocab": {"a": 0}, "merges": ["ab"]}}`, []string{"model.merges[0]"}},
		{"unknown unk token", "tokenizer.json", `{"model": {"type": "BPE", "vocab": {"a": 0}, "merges": [], "unk_token": "<unk>"}}`, []string{"model.unk_token"}},
		{"negative id", "tokenizer.json", `{"model": {"type": "BPE", "vocab": {"a": -1}, "merges": []}}`, []string{"model.vocab", "out of range"}},
		{"missing model", "tokenizer.json", `{"normalizer": null}`, []string{"model", "missing"}},
		{"malformed JSON", "tokenizer.json", "{\n  \"model\": {\"type\": \"BPE\",\n", []string{"malformed JSON"}},
		{"wrong JSON type", "tokenizer.json", `{"model": {"type": "BPE", "vocab": ["a"], "merges": []}}`, []string{"model.vocab", "malformed JSON"}},
		{"wrong type in component", "tokenizer.json", `{` + okModel + `, "decoder": {"type": "Strip", "content": " ", "start": "one"}}`, []string{"decoder.start"}},
		{"truncated protobuf", "tokenizer.model", "\x0a\x10\x0a\x03abc", []string{"protobuf"}},
		{"not a SentencePiece model", "tokenizer.model", "\x10\x01", []string{"pieces", "no pieces"}},
		{"unigram SentencePiece model", "tokenizer.model", "\x0a\x05\x0a\x01a\x18\x01\x12\x02\x18\x01", []string{"trainer_spec.model_type", "unigram"}},
	} {
		t.Run(c.name, func(t *testing.T) {
			dir := t.TempDir()
			path := filepath.Join(dir, c.file)
			if err := os.WriteFile(path, []byte(c.content), 0o644); err != nil {
				t.Fatal(err)
			}
			for _, p := range []string{path, dir} {
				_, err := Load(p)
				if err == nil {
					t.Fatalf("Load(%s) succeeded", p)
				}
				var te *Error
				if !errors.As(err, &te) {
					t.Errorf("error %v is not a *Error", err)
				}
				for _, w := range append([]string{path}, c.want...) {
					if !strings.Contains(err.Error(), w) {
						t.Errorf("error %q does not mention %q", err, w)
					}
				}
			}
		})
	}
}

func TestLoadPathErrors(t *testing.T) {
	dir := t.TempDir()
	if _, err := Load(filepath.Join(dir, "missing")); err == nil || !strings.Contains(err.Error(), "missing") {
		t.Errorf("missing path: %v", err)
	}
	if _, err := Load(dir); err == nil || !strings.Contains(err.Error(), "no tokenizer.json or tokenizer.model") {
		t.Errorf("empty folder: %v", err)
	}
	gguf := filepath.Join(dir, "model.gguf")
	os.WriteFile(gguf, []byte("GGUF"), 0o644)
	if _, err := Load(gguf); err == nil || !strings.Contains(err.Error(), gguf) {
		t.Errorf("truncated gguf: %v", err)
	}
	// A malformed config beside a good tokenizer.json names the config.
	os.WriteFile(filepath.Join(dir, "tokenizer.json"), []byte(`{`+okModel+`}`), 0o644)
	cfg := filepath.Join(dir, "tokenizer_config.json")
	os.WriteFile(cfg, []byte(`{"bos_token": `), 0o644)
	if _, err := Load(dir); err == nil || !strings.Contains(err.Error(), cfg) || !strings.Contains(err.Error(), "malformed JSON") {
		t.Errorf("bad tokenizer_config.json: %v", err)
	}
	os.WriteFile(cfg, []byte(`{"chat_template": 7}`), 0o644)
	if _, err := Load(dir); err == nil || !strings.Contains(err.Error(), "chat_template") {
		t.Errorf("bad chat_template: %v", err)
	}
	os.WriteFile(cfg, []byte(`{"chat_template": [{"name": "tool_use", "template": "T"}, {"name": "default", "template": "D"}], "eos_token": {"content": "b"}}`), 0o644)
	tok, err := Load(dir)
	if err != nil {
		t.Fatal(err)
	}
	if tok.ChatTemplate() != "D" {
		t.Errorf("ChatTemplate = %q, want the default one", tok.ChatTemplate())
	}
	if eos := tok.EOS(); len(eos) != 1 || eos[0] != 1 {
		t.Errorf("EOS = %v, want [1]", eos)
	}
}

func TestGGUFErrors(t *testing.T) {
	good := GGUFVocab{Model: "gpt2", Tokens: []string{"a", "b", "ab"}, Merges: []string{"a b"}, BOS: -1, EOS: -1, EOT: -1, Pad: -1}
	if _, err := FromGGUF(good); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		name string
		edit func(*GGUFVocab)
		want string
	}{
		{"unknown model", func(v *GGUFVocab) { v.Model = "bert" }, "tokenizer.ggml.model"},
		{"unknown pre", func(v *GGUFVocab) { v.Pre = "qwen9" }, "tokenizer.ggml.pre"},
		{"bad merge", func(v *GGUFVocab) { v.Merges = []string{"a c"} }, "tokenizer.ggml.merges[0]"},
		{"no tokens", func(v *GGUFVocab) { v.Tokens = nil }, "tokenizer.ggml.tokens"},
		{"types length", func(v *GGUFVocab) { v.Types = []int32{1} }, "tokenizer.ggml.token_type"},
		{"llama without scores", func(v *GGUFVocab) { v.Model = "llama" }, "tokenizer.ggml.scores"},
	} {
		v := good
		c.edit(&v)
		_, err := FromGGUF(v)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: error %v does not mention %s", c.name, err, c.want)
		}
	}
}
