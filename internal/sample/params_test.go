package sample

import (
	"math"
	"strings"
	"testing"
)

func TestValidate(t *testing.T) {
	inf := float32(math.Inf(1))
	nan := float32(math.NaN())
	tests := []struct {
		name string
		edit func(*Params)
		want string // "" means valid
	}{
		{"defaults", func(*Params) {}, ""},
		{"greedy", func(p *Params) { p.Temperature = 0 }, ""},
		{"edges", func(p *Params) {
			p.TopP, p.MinP, p.TypicalP, p.RepeatLastN = 1, 1, 1, -1
			p.FrequencyPenalty, p.PresencePenalty = -2, 2
			p.LogitBias = map[int32]float32{0: float32(math.Inf(-1)), 7: 100}
		}, ""},
		{"temperature negative", func(p *Params) { p.Temperature = -1 }, "temperature must be >= 0, got -1"},
		{"temperature NaN", func(p *Params) { p.Temperature = nan }, "temperature must be >= 0, got NaN"},
		{"temperature Inf", func(p *Params) { p.Temperature = inf }, "temperature must be finite, got +Inf"},
		{"top_k", func(p *Params) { p.TopK = -1 }, "top_k must be >= 0, got -1"},
		{"top_p high", func(p *Params) { p.TopP = 1.5 }, "top_p must be in (0, 1], got 1.5"},
		{"top_p zero", func(p *Params) { p.TopP = 0 }, "top_p must be in (0, 1], got 0"},
		{"min_p", func(p *Params) { p.MinP = -0.1 }, "min_p must be in [0, 1], got -0.1"},
		{"typical_p", func(p *Params) { p.TypicalP = 0 }, "typical_p must be in (0, 1], got 0"},
		{"repeat_penalty", func(p *Params) { p.RepeatPenalty = 0 }, "repeat_penalty must be > 0, got 0"},
		{"repeat_penalty Inf", func(p *Params) { p.RepeatPenalty = inf }, "repeat_penalty must be finite, got +Inf"},
		{"repeat_last_n", func(p *Params) { p.RepeatLastN = -2 }, "repeat_last_n must be >= -1, got -2"},
		{"frequency_penalty", func(p *Params) { p.FrequencyPenalty = 2.5 }, "frequency_penalty must be in [-2, 2], got 2.5"},
		{"presence_penalty", func(p *Params) { p.PresencePenalty = -3 }, "presence_penalty must be in [-2, 2], got -3"},
		{"logit_bias id", func(p *Params) { p.LogitBias = map[int32]float32{-3: 1} }, "logit_bias token id must be >= 0, got -3"},
		{"logit_bias NaN", func(p *Params) { p.LogitBias = map[int32]float32{4: nan} }, "logit_bias value for token 4 must be a number or -Inf, got NaN"},
		{"several", func(p *Params) { p.TopK, p.TopP = -1, 2 }, "top_k must be >= 0, got -1\ntop_p must be in (0, 1], got 2"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := DefaultParams()
			tt.edit(&p)
			err := p.Validate()
			switch {
			case tt.want == "" && err != nil:
				t.Fatalf("Validate() = %v, want nil", err)
			case tt.want != "" && (err == nil || err.Error() != tt.want):
				t.Fatalf("Validate() = %v, want %q", err, tt.want)
			}
		})
	}
}

func TestZeroParamsInvalid(t *testing.T) {
	// The zero value must not silently mean "top_p 0"; it has to be rejected.
	err := Params{}.Validate()
	if err == nil || !strings.Contains(err.Error(), "top_p") {
		t.Fatalf("Params{}.Validate() = %v, want a top_p error", err)
	}
}

func TestNewErrors(t *testing.T) {
	p := DefaultParams()
	p.LogitBias = map[int32]float32{5: 1}
	if _, err := New(p, 5); err == nil || err.Error() != "logit_bias token id must be < 5 (the vocabulary size), got 5" {
		t.Errorf("New with out-of-range bias: %v", err)
	}
	if _, err := New(DefaultParams(), 0); err == nil || !strings.Contains(err.Error(), "vocabulary size") {
		t.Errorf("New with empty vocabulary: %v", err)
	}
	bad := DefaultParams()
	bad.TopP = 1.5
	if _, err := New(bad, 5); err == nil || !strings.Contains(err.Error(), "top_p") {
		t.Errorf("New did not validate: %v", err)
	}
}
