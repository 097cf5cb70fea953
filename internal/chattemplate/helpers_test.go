package chattemplate

import (
	"bytes"
	"compress/gzip"
	"io"
	"os"
	"path/filepath"
	"testing"

	"github.com/bitnet-go/bitnet/internal/tokenizer"
)

// loadLlama3 unpacks the Llama 3 tokenizer of testdata/tokenizer/llama3
// into dir and loads it.
func loadLlama3(t *testing.T, dir string) *tokenizer.Tokenizer {
	t.Helper()
	src := "../../testdata/tokenizer/llama3"
	for _, name := range []string{"tokenizer.json.gz", "tokenizer_config.json", "special_tokens_map.json"} {
		data, err := os.ReadFile(filepath.Join(src, name))
		if err != nil {
			t.Fatal(err)
		}
		if filepath.Ext(name) == ".gz" {
			zr, err := gzip.NewReader(bytes.NewReader(data))
			if err != nil {
				t.Fatal(err)
			}
			if data, err = io.ReadAll(zr); err != nil {
				t.Fatal(err)
			}
			name = name[:len(name)-3]
		}
		if err := os.WriteFile(filepath.Join(dir, name), data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	tok, err := tokenizer.Load(dir)
	if err != nil {
		t.Fatal(err)
	}
	return tok
}
