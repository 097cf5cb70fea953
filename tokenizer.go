package bitnet

import (
	"os"
	"strings"

	"github.com/bitnet-go/bitnet/internal/tokenizer"
)

// tokenEncodeSpecial is how prompts are encoded: BOS added as the model's
// post-processor adds it, special-token strings recognised.
func tokenEncodeSpecial() tokenizer.EncodeOptions {
	return tokenizer.EncodeOptions{AddSpecial: true}
}

// loadTokenizer reads the tokenizer of a model folder or GGUF file.
func loadTokenizer(path string) (*tokenizer.Tokenizer, error) {
	if st, err := os.Stat(path); err == nil && !st.IsDir() && strings.HasSuffix(strings.ToLower(path), ".gguf") {
		return tokenizer.LoadGGUF(path)
	}
	return tokenizer.Load(path)
}
