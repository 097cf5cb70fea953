package sample

import (
	"math"
	"slices"
	"testing"
)

func logs(ps ...float64) []float32 {
	out := make([]float32, len(ps))
	for i, p := range ps {
		out[i] = float32(math.Log(p))
	}
	return out
}

func checkBeams(t *testing.T, step string, got []Beam, parents []int, want []Beam, wantParents []int) {
	t.Helper()
	if !slices.Equal(parents, wantParents) {
		t.Fatalf("%s: parents = %v, want %v", step, parents, wantParents)
	}
	if len(got) != len(want) {
		t.Fatalf("%s: %d beams, want %d: %+v", step, len(got), len(want), got)
	}
	for i := range want {
		g, w := got[i], want[i]
		if !slices.Equal(g.IDs, w.IDs) || g.Done != w.Done || math.Abs(g.LogProb-w.LogProb) > 1e-6 {
			t.Fatalf("%s: beam %d = %+v, want %+v", step, i, g, w)
		}
	}
}

// TestBeamStep walks a width-2 search over tokens {0, 1, 2=EOS} by hand.
func TestBeamStep(t *testing.T) {
	eos := []int32{2}
	const lp = 1.0
	ln := math.Log

	// Step 1 from the empty beam, p = .5 .3 .2. The EOS candidate scores
	// ln .2 = -1.61 and loses to ln .5 and ln .3.
	beams, parents := BeamStep([]Beam{{}}, [][]float32{logs(.5, .3, .2)}, 2, eos, lp)
	checkBeams(t, "step 1", beams, parents,
		[]Beam{{IDs: []int32{0}, LogProb: ln(.5)}, {IDs: []int32{1}, LogProb: ln(.3)}},
		[]int{0, 0})

	// Step 2. Beam [0] with p = .1 .1 .8, beam [1] with p = .6 .3 .1.
	// Candidates and scores (finished ones divided by length 2):
	//	[0 2] done ln .4 / 2  = -0.458
	//	[1 0]      ln .18     = -1.715
	//	[1 2] done ln .03 / 2 = -1.753
	//	[1 1]      ln .09     = -2.408
	//	[0 0], [0 1] ln .05   = -2.996
	beams, parents = BeamStep(beams, [][]float32{logs(.1, .1, .8), logs(.6, .3, .1)}, 2, eos, lp)
	checkBeams(t, "step 2", beams, parents,
		[]Beam{{IDs: []int32{0, 2}, LogProb: ln(.4), Done: true}, {IDs: []int32{1, 0}, LogProb: ln(.18)}},
		[]int{0, 1})

	// Step 3. The finished beam is carried as is (its logits are ignored)
	// and keeps -0.458; [1 0] with p = .5 .1 .4 gives [1 0 2] done
	// ln .072 / 3 = -0.877, [1 0 0] ln .09 = -2.408, [1 0 1] ln .018.
	beams, parents = BeamStep(beams, [][]float32{nil, logs(.5, .1, .4)}, 2, eos, lp)
	checkBeams(t, "step 3", beams, parents,
		[]Beam{{IDs: []int32{0, 2}, LogProb: ln(.4), Done: true}, {IDs: []int32{1, 0, 2}, LogProb: ln(.072), Done: true}},
		[]int{0, 1})
	if got, want := beams[1].Score(lp), ln(.072)/3; math.Abs(got-want) > 1e-6 {
		t.Fatalf("Score = %v, want %v", got, want)
	}

	// Everything is finished: another step changes nothing.
	again, parents := BeamStep(beams, [][]float32{nil, nil}, 2, eos, lp)
	checkBeams(t, "step 4", again, parents, beams, []int{0, 1})
}

func TestBeamStepLengthPenaltyZero(t *testing.T) {
	// With length penalty 0 finished beams compare by raw sum: at step 2
	// above, [1 2] done ln .03 = -3.5 now ranks below [1 1] ln .09.
	beams := []Beam{{IDs: []int32{0}, LogProb: math.Log(.5)}, {IDs: []int32{1}, LogProb: math.Log(.3)}}
	next, parents := BeamStep(beams, [][]float32{logs(.1, .1, .8), logs(.6, .3, .1)}, 3, []int32{2}, 0)
	checkBeams(t, "lp 0", next, parents, []Beam{
		{IDs: []int32{0, 2}, LogProb: math.Log(.4), Done: true},
		{IDs: []int32{1, 0}, LogProb: math.Log(.18)},
		{IDs: []int32{1, 1}, LogProb: math.Log(.09)},
	}, []int{0, 1, 1})
}

func TestBeamStepTies(t *testing.T) {
	// Two identical beams with flat logits: every candidate ties, so the
	// lower parent and then the lower token id win.
	beams := []Beam{{IDs: []int32{7}}, {IDs: []int32{7}}}
	flat := []float32{0, 0, 0}
	next, parents := BeamStep(beams, [][]float32{flat, flat}, 4, nil, 1)
	checkBeams(t, "ties", next, parents, []Beam{
		{IDs: []int32{7, 0}, LogProb: math.Log(1.0 / 3)},
		{IDs: []int32{7, 1}, LogProb: math.Log(1.0 / 3)},
		{IDs: []int32{7, 2}, LogProb: math.Log(1.0 / 3)},
		{IDs: []int32{7, 0}, LogProb: math.Log(1.0 / 3)},
	}, []int{0, 0, 0, 1})
}

func TestBeamStepDoesNotAlias(t *testing.T) {
	// Two children of one parent must not share the appended element.
	parent := Beam{IDs: make([]int32, 1, 8)}
	next, _ := BeamStep([]Beam{parent}, [][]float32{{1, 0}}, 2, nil, 1)
	if next[0].IDs[1] != 0 || next[1].IDs[1] != 1 {
		t.Fatalf("children share storage: %+v", next)
	}
	if len(parent.IDs) != 1 || parent.IDs[:2][1] != 0 {
		t.Fatal("parent IDs modified")
	}
}
