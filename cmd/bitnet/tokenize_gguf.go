package main

import "github.com/bitnet-go/bitnet/internal/tokenizer"

// loadTokenizerFromGGUF reads the vocabulary a GGUF model file carries.
func loadTokenizerFromGGUF(path string) (*tokenizer.Tokenizer, error) {
	return tokenizer.LoadGGUF(path)
}
