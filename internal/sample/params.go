package sample

import (
	"errors"
	"fmt"
	"math"
	"slices"
)

// Params configures a Sampler. Field names map to the CLI flags and the
// OpenAI/llama.cpp JSON fields named in Validate's messages (temperature,
// top_k, top_p, min_p, typical_p, repeat_penalty, repeat_last_n,
// frequency_penalty, presence_penalty, logit_bias, seed).
//
// The zero value is not valid: TopP, TypicalP and RepeatPenalty use 1, not
// 0, for "off" (as llama.cpp and OpenAI do), so start from DefaultParams.
type Params struct {
	// Temperature divides the logits before the final softmax. 0 means
	// greedy decoding: after bias and penalties the highest logit wins,
	// lowest id on ties, and the truncation stages are skipped because
	// they cannot change the argmax (typical-p could, but greedy is meant
	// to be the plain argmax).
	Temperature float32

	// TopK keeps only the K highest logits. 0 disables it.
	TopK int

	// TopP (nucleus sampling) keeps the smallest set of most likely tokens
	// whose probability mass is >= TopP. 1 disables it.
	TopP float32

	// MinP drops tokens whose probability is below MinP times the
	// probability of the most likely token. 0 disables it.
	MinP float32

	// TypicalP is locally typical sampling (Meister et al., 2022): tokens
	// are ranked by how close their surprisal is to the entropy of the
	// distribution and kept until their mass is >= TypicalP. 1 disables it.
	TypicalP float32

	// RepeatPenalty is llama.cpp's repetition penalty: a token that occurs
	// in the penalty window has a positive logit divided by it and a
	// negative one multiplied by it, so values > 1 always make it less
	// likely. 1 disables it.
	RepeatPenalty float32

	// RepeatLastN is how many of the most recent history ids the three
	// penalties look at. 0 disables the penalties, -1 uses the whole
	// history. DefaultParams uses 64, llama.cpp's default: long enough to
	// catch a loop, short enough not to punish words the prompt needs.
	RepeatLastN int

	// FrequencyPenalty and PresencePenalty follow OpenAI: with count the
	// number of occurrences in the penalty window,
	//
	//	logit -= count*FrequencyPenalty + (count > 0)*PresencePenalty
	//
	// Both are applied after RepeatPenalty, as in llama.cpp.
	FrequencyPenalty float32
	PresencePenalty  float32

	// LogitBias is added to the logits of the given token ids before any
	// other stage. -Inf, or any value <= -100, bans the token outright:
	// OpenAI documents -100 as a ban, and a finite -100 would still let a
	// token with a logit above 100 through.
	LogitBias map[int32]float32

	// Seed seeds the random draw when SeedSet is true: the same seed,
	// parameters and logits give the same tokens. When SeedSet is false New
	// takes a seed from crypto/rand; Sampler.Seed reports it so that a run
	// can be reproduced.
	Seed    uint64
	SeedSet bool
}

// banBias is the logit bias at or below which a token is removed rather
// than merely made unlikely.
const banBias = -100

// DefaultParams returns llama.cpp's defaults for the stages this package
// implements, so outputs are comparable with llama-cli: temperature 0.8,
// top-k 40, top-p 0.95, min-p 0.05, typical-p off, and the penalties off
// with a window of 64. The repeat penalty is 1 (off) because llama.cpp
// switched it off by default: on instruction-tuned models it mostly damages
// code and lists, which legitimately repeat tokens.
func DefaultParams() Params {
	return Params{
		Temperature:   0.8,
		TopK:          40,
		TopP:          0.95,
		MinP:          0.05,
		TypicalP:      1,
		RepeatPenalty: 1,
		RepeatLastN:   64,
	}
}

// Validate reports every out-of-range parameter, each message naming the
// parameter as the CLI flag and JSON field spell it, so the server can return
// it as is. Token ids in LogitBias are checked against the vocabulary in New.
func (p Params) Validate() error {
	var errs []error
	bad := func(format string, args ...any) {
		errs = append(errs, fmt.Errorf(format, args...))
	}
	// The comparisons are written as !(in range) so that NaN is rejected too.
	switch {
	case !(p.Temperature >= 0):
		bad("temperature must be >= 0, got %v", p.Temperature)
	case math.IsInf(float64(p.Temperature), 1):
		bad("temperature must be finite, got %v", p.Temperature)
	}
	if p.TopK < 0 {
		bad("top_k must be >= 0, got %d", p.TopK)
	}
	if !(p.TopP > 0 && p.TopP <= 1) {
		bad("top_p must be in (0, 1], got %v", p.TopP)
	}
	if !(p.MinP >= 0 && p.MinP <= 1) {
		bad("min_p must be in [0, 1], got %v", p.MinP)
	}
	if !(p.TypicalP > 0 && p.TypicalP <= 1) {
		bad("typical_p must be in (0, 1], got %v", p.TypicalP)
	}
	switch {
	case !(p.RepeatPenalty > 0):
		bad("repeat_penalty must be > 0, got %v", p.RepeatPenalty)
	case math.IsInf(float64(p.RepeatPenalty), 1):
		bad("repeat_penalty must be finite, got %v", p.RepeatPenalty)
	}
	if p.RepeatLastN < -1 {
		bad("repeat_last_n must be >= -1, got %d", p.RepeatLastN)
	}
	if !(p.FrequencyPenalty >= -2 && p.FrequencyPenalty <= 2) {
		bad("frequency_penalty must be in [-2, 2], got %v", p.FrequencyPenalty)
	}
	if !(p.PresencePenalty >= -2 && p.PresencePenalty <= 2) {
		bad("presence_penalty must be in [-2, 2], got %v", p.PresencePenalty)
	}
	// Sorted so that the message does not depend on map iteration order.
	ids := make([]int32, 0, len(p.LogitBias))
	for id := range p.LogitBias {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	for _, id := range ids {
		v := p.LogitBias[id]
		if id < 0 {
			bad("logit_bias token id must be >= 0, got %d", id)
		}
		// +Inf would make the softmax compute Inf-Inf; a ban is the only
		// infinite bias with a meaning.
		if v != v || math.IsInf(float64(v), 1) {
			bad("logit_bias value for token %d must be a number or -Inf, got %v", id, v)
		}
	}
	return errors.Join(errs...)
}
