// Package model defines what every architecture shares: the configuration,
// the registry through which architectures announce themselves, the weight
// sources (HF folders and GGUF files), the KV cache and the Model interface
// the engine drives.
package model

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
)

// Config is the shape and numerics of a model, from config.json or GGUF
// metadata.
type Config struct {
	Arch          string // registered architecture name
	SourceArch    string // as named by the file (HF class or GGUF arch)
	Hidden        int
	Intermediate  int
	Layers        int
	Heads         int
	KVHeads       int
	HeadDim       int
	Vocab         int
	MaxPos        int
	RopeTheta     float64
	RMSEps        float32
	Act           string // "relu2" or "silu"
	TiedEmbedding bool
	BOS           int32   // -1 if unknown
	EOS           []int32 // stop ids named by the model files
	// LinearClass decides what a packed checkpoint's weight_scale means:
	// "autobitlinear" multiplies, "bitlinear" divides.
	LinearClass string
}

// Validate checks that the numbers can describe a working model.
func (c *Config) Validate(src string) error {
	check := func(name string, v int) error {
		if v <= 0 {
			return fmt.Errorf("%s: %s must be positive, got %d", src, name, v)
		}
		return nil
	}
	for _, f := range []struct {
		n string
		v int
	}{{"hidden_size", c.Hidden}, {"intermediate_size", c.Intermediate}, {"num_hidden_layers", c.Layers},
		{"num_attention_heads", c.Heads}, {"num_key_value_heads", c.KVHeads}, {"vocab_size", c.Vocab},
		{"max_position_embeddings", c.MaxPos}, {"head_dim", c.HeadDim}} {
		if err := check(f.n, f.v); err != nil {
			return err
		}
	}
	if c.Heads%c.KVHeads != 0 {
		return fmt.Errorf("%s: num_attention_heads %d is not a multiple of num_key_value_heads %d", src, c.Heads, c.KVHeads)
	}
	if c.HeadDim%2 != 0 {
		return fmt.Errorf("%s: head_dim %d must be even for RoPE", src, c.HeadDim)
	}
	if c.Layers > 1024 || c.Hidden > 1<<16 || c.Intermediate > 1<<18 || c.Vocab > 1<<22 || c.Heads > 1024 {
		return fmt.Errorf("%s: implausible model dimensions (hidden %d, layers %d, vocab %d)", src, c.Hidden, c.Layers, c.Vocab)
	}
	switch c.Act {
	case "relu2", "silu":
	default:
		return fmt.Errorf("%s: unsupported hidden_act %q (want relu2 or silu)", src, c.Act)
	}
	return nil
}

// hfConfig mirrors the config.json fields we read.
type hfConfig struct {
	Architectures []string        `json:"architectures"`
	ModelType     string          `json:"model_type"`
	Hidden        int             `json:"hidden_size"`
	Intermediate  int             `json:"intermediate_size"`
	Layers        int             `json:"num_hidden_layers"`
	Heads         int             `json:"num_attention_heads"`
	KVHeads       int             `json:"num_key_value_heads"`
	HeadDim       int             `json:"head_dim"`
	Vocab         int             `json:"vocab_size"`
	MaxPos        int             `json:"max_position_embeddings"`
	RopeTheta     float64         `json:"rope_theta"`
	RMSEps        float64         `json:"rms_norm_eps"`
	Act           string          `json:"hidden_act"`
	Tied          *bool           `json:"tie_word_embeddings"`
	BOS           json.RawMessage `json:"bos_token_id"`
	EOS           json.RawMessage `json:"eos_token_id"`
	Quant         *struct {
		Method      string `json:"quant_method"`
		LinearClass string `json:"linear_class"`
		Mode        string `json:"quantization_mode"`
	} `json:"quantization_config"`
	RopeScaling json.RawMessage `json:"rope_scaling"`
}

// ids reads a token id field that may be a number, a list or null.
func ids(raw json.RawMessage) ([]int32, error) {
	if len(raw) == 0 || string(raw) == "null" {
		return nil, nil
	}
	var one int32
	if err := json.Unmarshal(raw, &one); err == nil {
		return []int32{one}, nil
	}
	var many []int32
	if err := json.Unmarshal(raw, &many); err != nil {
		return nil, fmt.Errorf("token id must be a number or a list of numbers, got %s", raw)
	}
	return many, nil
}

// ReadHFConfig reads dir/config.json (and the eos ids of
// generation_config.json) into a Config whose Arch is still unresolved.
func ReadHFConfig(dir string) (*Config, error) {
	path := filepath.Join(dir, "config.json")
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var h hfConfig
	if err := json.Unmarshal(b, &h); err != nil {
		return nil, fmt.Errorf("%s: malformed JSON: %v", path, err)
	}
	if len(h.Architectures) == 0 {
		return nil, fmt.Errorf("%s: no \"architectures\" field", path)
	}
	if len(h.RopeScaling) > 0 && string(h.RopeScaling) != "null" {
		return nil, fmt.Errorf("%s: rope_scaling is not supported", path)
	}
	c := &Config{
		SourceArch:   h.Architectures[0],
		Hidden:       h.Hidden,
		Intermediate: h.Intermediate,
		Layers:       h.Layers,
		Heads:        h.Heads,
		KVHeads:      h.KVHeads,
		HeadDim:      h.HeadDim,
		Vocab:        h.Vocab,
		MaxPos:       h.MaxPos,
		RopeTheta:    h.RopeTheta,
		RMSEps:       float32(h.RMSEps),
		Act:          h.Act,
		BOS:          -1,
		LinearClass:  "autobitlinear",
	}
	if c.KVHeads == 0 {
		c.KVHeads = c.Heads
	}
	if c.HeadDim == 0 && c.Heads > 0 {
		c.HeadDim = c.Hidden / c.Heads
	}
	if c.RopeTheta == 0 {
		c.RopeTheta = 10000
	}
	if c.RMSEps == 0 {
		c.RMSEps = 1e-6
	}
	if c.Act == "" {
		c.Act = "silu"
	}
	if h.Tied != nil {
		c.TiedEmbedding = *h.Tied
	}
	if h.Quant != nil && h.Quant.LinearClass != "" {
		c.LinearClass = h.Quant.LinearClass
	}
	switch c.LinearClass {
	case "autobitlinear", "bitlinear":
	default:
		return nil, fmt.Errorf("%s: quantization_config.linear_class %q is not supported (want autobitlinear or bitlinear)", path, c.LinearClass)
	}
	if v, err := ids(h.BOS); err != nil {
		return nil, fmt.Errorf("%s: bos_token_id: %v", path, err)
	} else if len(v) > 0 {
		c.BOS = v[0]
	}
	eos, err := ids(h.EOS)
	if err != nil {
		return nil, fmt.Errorf("%s: eos_token_id: %v", path, err)
	}
	c.EOS = eos
	genPath := filepath.Join(dir, "generation_config.json")
	if gb, err := os.ReadFile(genPath); err == nil {
		var g struct {
			EOS json.RawMessage `json:"eos_token_id"`
		}
		if err := json.Unmarshal(gb, &g); err != nil {
			return nil, fmt.Errorf("%s: malformed JSON: %v", genPath, err)
		}
		more, err := ids(g.EOS)
		if err != nil {
			return nil, fmt.Errorf("%s: eos_token_id: %v", genPath, err)
		}
		c.EOS = mergeIDs(c.EOS, more)
	}
	return c, nil
}

func mergeIDs(a, b []int32) []int32 {
	for _, v := range b {
		found := false
		for _, w := range a {
			if v == w {
				found = true
				break
			}
		}
		if !found {
			a = append(a, v)
		}
	}
	return a
}
