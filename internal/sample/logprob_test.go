package sample

import (
	"math"
	"slices"
	"testing"
)

func near(a, b float32) bool { return math.Abs(float64(a-b)) < 1e-5 }

func TestLogSoftmax(t *testing.T) {
	want := []float32{float32(math.Log(.5)), float32(math.Log(.25)), float32(math.Log(.25))}
	for _, shift := range []float32{0, 30, -30} { // larger shifts lose float32 digits in the input itself
		logits := []float32{want[0] + shift, want[1] + shift, want[2] + shift}
		got := LogSoftmax(logits)
		for i := range want {
			if !near(got[i], want[i]) {
				t.Fatalf("shift %v: LogSoftmax = %v, want %v", shift, got, want)
			}
		}
		if lp := Logprob(logits, 1); !near(lp, want[1]) {
			t.Fatalf("shift %v: Logprob = %v, want %v", shift, lp, want[1])
		}
	}
	ninf := float32(math.Inf(-1))
	if got := LogSoftmax([]float32{ninf, ninf}); got[0] != ninf || got[1] != ninf {
		t.Fatalf("all -Inf: %v", got)
	}
}

func TestTopLogprobs(t *testing.T) {
	logits := []float32{0, 2, float32(math.Inf(-1)), 2, 1}
	got := TopLogprobs(logits, 3)
	lse := math.Log(1 + 2*math.Exp(2) + math.E)
	want := []TokenLogprob{{1, float32(2 - lse)}, {3, float32(2 - lse)}, {4, float32(1 - lse)}}
	if len(got) != len(want) {
		t.Fatalf("TopLogprobs = %v, want %v", got, want)
	}
	for i := range want {
		if got[i].ID != want[i].ID || !near(got[i].Logprob, want[i].Logprob) {
			t.Fatalf("TopLogprobs = %v, want %v", got, want)
		}
	}
	if got := TopLogprobs(logits, 10); len(got) != 4 {
		t.Fatalf("TopLogprobs lists %d tokens, want the 4 finite ones", len(got))
	}
	if got := TopLogprobs(logits, 0); got != nil {
		t.Fatalf("TopLogprobs(0) = %v", got)
	}
}

func TestSampleWithLogprobsUsesRawLogits(t *testing.T) {
	logits := []float32{float32(math.Log(.5)), float32(math.Log(.3)), float32(math.Log(.2))}
	p := DefaultParams()
	p.Temperature = 0
	p.LogitBias = map[int32]float32{0: -100, 1: 0.5}
	p.RepeatPenalty, p.RepeatLastN = 1.5, -1
	s, err := New(p, 3)
	if err != nil {
		t.Fatal(err)
	}
	id, chosen, top := s.SampleWithLogprobs(slices.Clone(logits), []int32{1, 2}, 2)
	if id != 1 {
		t.Fatalf("id = %d, want 1 (0 is banned)", id)
	}
	// Reported on the model's distribution, not the biased and penalised one.
	if chosen.ID != 1 || !near(chosen.Logprob, float32(math.Log(.3))) {
		t.Fatalf("chosen = %v, want {1 %v}", chosen, math.Log(.3))
	}
	if len(top) != 2 || top[0].ID != 0 || top[1].ID != 1 || !near(top[0].Logprob, float32(math.Log(.5))) {
		t.Fatalf("top = %v", top)
	}
}
