package tokenizer

import (
	"fmt"

	"github.com/bitnet-go/bitnet/internal/gguf"
)

// LoadGGUF reads the tokenizer.ggml.* metadata of a GGUF model file.
func LoadGGUF(path string) (*Tokenizer, error) {
	f, err := gguf.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return FromGGUFFile(f)
}

// FromGGUFFile builds the tokenizer of an open GGUF file.
func FromGGUFFile(f *gguf.File) (*Tokenizer, error) {
	v := GGUFVocab{BOS: -1, EOS: -1, EOT: -1, Pad: -1}
	var ok bool
	if v.Model, ok = f.String("tokenizer.ggml.model"); !ok {
		return nil, fmt.Errorf("%s: no tokenizer (tokenizer.ggml.model is missing)", f.Path)
	}
	v.Pre, _ = f.String("tokenizer.ggml.pre")
	v.Tokens, _ = f.Strings("tokenizer.ggml.tokens")
	v.Scores, _ = f.Float32s("tokenizer.ggml.scores")
	v.Types, _ = f.Int32s("tokenizer.ggml.token_type")
	v.Merges, _ = f.Strings("tokenizer.ggml.merges")
	for key, dst := range map[string]*int32{"bos": &v.BOS, "eos": &v.EOS, "eot": &v.EOT, "padding": &v.Pad} {
		if id, ok := f.Uint("tokenizer.ggml." + key + "_token_id"); ok {
			*dst = int32(id)
		}
	}
	v.AddBOS, v.AddBOSSet = f.Bool("tokenizer.ggml.add_bos_token")
	v.AddSpacePrefix, v.AddSpacePrefixSet = f.Bool("tokenizer.ggml.add_space_prefix")
	v.ChatTemplate, _ = f.String("tokenizer.chat_template")
	t, err := FromGGUF(v)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", f.Path, err)
	}
	return t, nil
}
