package sample

import (
	"cmp"
	"fmt"
	"math"
	"slices"
)

// Beam is one hypothesis of a beam search. IDs holds the generated tokens
// only (not the prompt), so that length normalisation counts what the
// search chose; start a search with a single empty Beam. LogProb is the sum
// of the log-softmax of each chosen token. BeamStep never modifies a Beam's
// IDs in place, so beams may share backing arrays.
type Beam struct {
	IDs     []int32
	LogProb float64
	Done    bool
}

// Score is the value beams are ranked by. As in Hugging Face's beam search,
// a live beam scores its summed log-probability and a finished beam that
// sum divided by len(IDs)^lengthPenalty: with lengthPenalty > 0 long
// finished answers are not punished merely for having more terms, < 0
// favours short ones, 0 compares raw sums. When generation stops at a
// length limit, mark the remaining beams Done and take the highest Score,
// which is how HF finalises unfinished beams.
func (b Beam) Score(lengthPenalty float64) float64 {
	return beamScore(b.LogProb, len(b.IDs), b.Done, lengthPenalty)
}

func beamScore(logProb float64, n int, done bool, lengthPenalty float64) float64 {
	if !done || n == 0 {
		return logProb
	}
	return logProb / math.Pow(float64(n), lengthPenalty)
}

// BeamStep advances a beam search by one token. logits[i] holds the model's
// next-token logits for beams[i] (ignored, and may be nil, for beams that
// are Done). Each live beam is extended by its width best tokens; finished
// beams compete unchanged; the width best candidates by Score survive,
// ordered best first, ties broken by lower parent index and then lower token
// id so that the result is deterministic. A candidate whose last token is in
// eos is marked Done.
//
// parents[j] is the index in beams of the beam next[j] grew from, so the
// engine can copy that beam's KV cache into slot j. The search is over when
// every returned beam is Done.
func BeamStep(beams []Beam, logits [][]float32, width int, eos []int32, lengthPenalty float64) (next []Beam, parents []int) {
	if len(logits) != len(beams) {
		panic(fmt.Sprintf("sample: BeamStep got %d logit rows for %d beams", len(logits), len(beams)))
	}
	if width <= 0 {
		return nil, nil
	}
	type candidate struct {
		parent int
		tok    int32 // -1 for a finished beam carried over
		lp     float64
		score  float64
		done   bool
	}
	var cs []candidate
	var top []cand
	for i, b := range beams {
		if b.Done {
			cs = append(cs, candidate{parent: i, tok: -1, lp: b.LogProb, score: b.Score(lengthPenalty), done: true})
			continue
		}
		lse := LogSumExp(logits[i])
		if math.IsInf(lse, -1) {
			continue // the model allows nothing after this beam
		}
		// No beam can contribute more than width survivors, so its width
		// best tokens are all that can matter.
		top = selectTop(top, logits[i], width)
		for _, t := range top {
			lp := b.LogProb + float64(t.logit) - lse
			done := slices.Contains(eos, t.id)
			cs = append(cs, candidate{parent: i, tok: t.id, lp: lp, score: beamScore(lp, len(b.IDs)+1, done, lengthPenalty), done: done})
		}
	}
	slices.SortFunc(cs, func(a, b candidate) int {
		switch {
		case a.score > b.score:
			return -1
		case a.score < b.score:
			return 1
		}
		if c := cmp.Compare(a.parent, b.parent); c != 0 {
			return c
		}
		return cmp.Compare(a.tok, b.tok)
	})
	cs = cs[:min(width, len(cs))]
	next = make([]Beam, len(cs))
	parents = make([]int, len(cs))
	for j, c := range cs {
		parents[j] = c.parent
		p := beams[c.parent]
		if c.tok < 0 {
			next[j] = p
			continue
		}
		ids := make([]int32, len(p.IDs)+1)
		copy(ids, p.IDs)
		ids[len(p.IDs)] = c.tok
		next[j] = Beam{IDs: ids, LogProb: c.lp, Done: c.done}
	}
	return next, parents
}
