package tokenizer

import (
	"compress/bzip2"
	"encoding/json"
	"errors"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sync"
	"testing"

	"github.com/google/go-cmp/cmp"
)

var (
	ggufOnce   sync.Map
	ggufLoaded sync.Map
)

// llama3GGUF builds the GGUF vocabulary that llama.cpp's converter writes
// for the Llama 3 tokenizer.json (no tokenizer.ggml.pre, as in the official
// bitnet-b1.58-2B-4T GGUF) and loads it with FromGGUF.
func llama3GGUF(tb testing.TB) *Tokenizer {
	return ggufModel(tb, "llama3", func() GGUFVocab {
		data, err := os.ReadFile(filepath.Join(modelDir(tb, "llama3"), "tokenizer.json"))
		if err != nil {
			tb.Fatal(err)
		}
		var f struct {
			AddedTokens []struct {
				ID      int32  `json:"id"`
				Content string `json:"content"`
			} `json:"added_tokens"`
			Model struct {
				Vocab  map[string]int32 `json:"vocab"`
				Merges []string         `json:"merges"`
			} `json:"model"`
		}
		if err := json.Unmarshal(data, &f); err != nil {
			tb.Fatal(err)
		}
		n := len(f.Model.Vocab) + len(f.AddedTokens)
		v := GGUFVocab{Model: "gpt2", Tokens: make([]string, n), Types: make([]int32, n), Merges: f.Model.Merges,
			BOS: 128000, EOS: 128001, EOT: 128009, Pad: -1}
		for tok, id := range f.Model.Vocab {
			v.Tokens[id], v.Types[id] = tok, pieceNormal
		}
		for _, a := range f.AddedTokens {
			v.Tokens[a.ID], v.Types[a.ID] = a.Content, pieceControl
		}
		return v
	})
}

// llama2GGUF builds the GGUF vocabulary of the Llama 2 tokenizer.model.
func llama2GGUF(tb testing.TB) *Tokenizer {
	return ggufModel(tb, "llama2", func() GGUFVocab {
		data, err := os.ReadFile(filepath.Join(modelDir(tb, "llama2"), "tokenizer.model"))
		if err != nil {
			tb.Fatal(err)
		}
		m, err := parseSPM("tokenizer.model", data)
		if err != nil {
			tb.Fatal(err)
		}
		v := GGUFVocab{Model: "llama", BOS: 1, EOS: 2, EOT: -1, Pad: -1}
		for _, p := range m.pieces {
			v.Tokens = append(v.Tokens, p.piece)
			v.Scores = append(v.Scores, p.score)
			v.Types = append(v.Types, int32(p.typ))
		}
		return v
	})
}

func ggufModel(tb testing.TB, name string, build func() GGUFVocab) *Tokenizer {
	tb.Helper()
	once, _ := ggufOnce.LoadOrStore(name, new(sync.Once))
	once.(*sync.Once).Do(func() {
		tok, err := FromGGUF(build())
		if err != nil {
			tb.Fatal(err)
		}
		ggufLoaded.Store(name, tok)
	})
	tok, ok := ggufLoaded.Load(name)
	if !ok {
		tb.Fatal("GGUF vocabulary did not load")
	}
	return tok.(*Tokenizer)
}

func TestGGUFSpecials(t *testing.T) {
	tok := llama3GGUF(t)
	if tok.BOS() != 128000 {
		t.Errorf("BOS = %d", tok.BOS())
	}
	if got := tok.EOS(); len(got) != 2 || got[0] != 128001 || got[1] != 128009 {
		t.Errorf("EOS = %v", got)
	}
	if got := tok.Encode("", EncodeOptions{AddSpecial: true}); len(got) != 1 || got[0] != 128000 {
		t.Errorf("Encode(\"\", AddSpecial) = %v", got)
	}
}

// TestGGUFFile reads the tokenizer of bitnet-tiny's GGUF (the GGUF package's
// fixture, written by llama.cpp's converter) and checks it against the ids
// in the model's reference.json, and its stop ids against
// generation_config.json.
func TestGGUFFile(t *testing.T) {
	f, err := os.Open("../../testdata/gguf/golden-tiny.i2_s.gguf.bz2")
	if errors.Is(err, fs.ErrNotExist) {
		t.Skip("no bitnet-tiny GGUF fixture")
	}
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	path := filepath.Join(t.TempDir(), "tiny.gguf")
	out, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := io.Copy(out, bzip2.NewReader(f)); err != nil {
		t.Fatal(err)
	}
	out.Close()
	tok, err := LoadGGUF(path)
	if err != nil {
		t.Fatal(err)
	}
	got := tok.Encode("Once upon a time, there was a little girl named Lily.", EncodeOptions{AddSpecial: true})
	want := []int32{4086, 411, 432, 258, 385, 44, 384, 277, 258, 373, 423, 509, 424, 46}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("ids (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]int32{4087, 4095}, tok.EOS()); diff != "" {
		t.Errorf("EOS (-want +got):\n%s", diff)
	}
	if tok.ChatTemplate() == "" || tok.EOSToken() != "<|eot_id|>" {
		t.Errorf("ChatTemplate %q, EOSToken %q", tok.ChatTemplate(), tok.EOSToken())
	}
	if tiny := bitnetTiny(t); tok.Decode(got) != tiny.Decode(got) {
		t.Errorf("GGUF and tokenizer.json decode differently")
	}
}
