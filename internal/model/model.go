package model

import "errors"

// ErrContextFull is returned when a sequence would grow past its context.
var ErrContextFull = errors.New("prompt longer than the context")

// Input is one sequence's share of a forward batch: Tokens are appended
// after the positions already in Seq.
type Input struct {
	Seq    *KVCache
	Tokens []int32
	// AllLogits asks for the logits of every token from LogitsFrom on (an
	// index into Tokens), not only the last one (teacher forcing,
	// perplexity).
	AllLogits  bool
	LogitsFrom int
}

// Stats describes the memory a model holds.
type Stats struct {
	MappedBytes int64 // file bytes mapped
	WeightBytes int64 // bytes of weights in their compute layout
	// TokenBytes is what decoding one token reads of them: every matrix
	// and the lm_head, but of an untied embedding table only its row.
	TokenBytes   int64
	HeapBytes    int64 // weights built at load (repacked tensors), in an arena
	Parameters   int64
	TensorTypes  map[string]int
	TensorCount  int
	EmbeddingTyp string
}

// Model is what the engine drives. Forward advances several sequences at
// once, each at its own position, and returns per input the logits of its
// last token (Vocab floats) or of all its tokens.
type Model interface {
	Config() *Config
	NewCache(maxLen int) *KVCache
	Forward(batch []Input) ([][]float32, error)
	Stats() Stats
	Close() error
}
