package sample

import (
	"cmp"
	crand "crypto/rand"
	"encoding/binary"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
)

// TokenProb is one entry of the distribution the sampler draws from.
type TokenProb struct {
	ID   int32
	Prob float32
}

// Sampler applies one Params to successive logit vectors. It keeps scratch
// buffers and RNG state between calls, so it is not safe for concurrent use:
// make one per generation (New is cheap; the large buffers are allocated on
// first use).
type Sampler struct {
	p       Params
	vocab   int
	bias    []biasEntry
	logMinP float32
	seed    uint64
	rng     *rand.Rand

	counts  []int32 // per-token counts for the penalty window, all zero between calls
	touched []int32 // ids whose count is non-zero, so counts resets in O(window)
	cands   []cand
	typ     []typCand
	saved   []biasEntry // logits as they were before this call modified them
}

type biasEntry struct {
	id int32
	v  float32
}

type cand struct {
	id    int32
	logit float32
	p     float64
}

type typCand struct {
	c     cand
	score float64
}

var negInf = float32(math.Inf(-1))

// New validates p and builds a sampler for logit vectors of vocabSize
// entries. Without p.SeedSet the seed comes from crypto/rand.
func New(p Params, vocabSize int) (*Sampler, error) {
	if err := p.Validate(); err != nil {
		return nil, err
	}
	if vocabSize <= 0 {
		return nil, fmt.Errorf("vocabulary size must be > 0, got %d", vocabSize)
	}
	s := &Sampler{p: p, vocab: vocabSize}
	for id, v := range p.LogitBias {
		if int(id) >= vocabSize {
			return nil, fmt.Errorf("logit_bias token id must be < %d (the vocabulary size), got %d", vocabSize, id)
		}
		if v <= banBias {
			v = negInf
		}
		s.bias = append(s.bias, biasEntry{id, v})
	}
	// Sorted so the order of the saved entries, and so everything
	// downstream, does not depend on map iteration order.
	slices.SortFunc(s.bias, func(a, b biasEntry) int { return cmp.Compare(a.id, b.id) })
	s.p.LogitBias = nil // the map stays the caller's; s.bias is the private copy
	if p.MinP > 0 {
		s.logMinP = float32(math.Log(float64(p.MinP)))
	}
	s.seed = p.Seed
	if !p.SeedSet {
		var b [8]byte
		crand.Read(b[:]) // never fails since Go 1.24
		s.seed = binary.LittleEndian.Uint64(b[:])
	}
	// PCG takes 128 bits; the second word is a fixed odd constant (the
	// golden ratio) so that small seeds such as 0, 1, 2 are still well
	// separated streams.
	s.rng = rand.New(rand.NewPCG(s.seed, 0x9e3779b97f4a7c15))
	return s, nil
}

// Seed returns the seed in use, the one New drew when Params.SeedSet was
// false, so the server can report it and a run can be repeated.
func (s *Sampler) Seed() uint64 { return s.seed }

// Sample returns the next token id. logits must have vocabSize entries and
// is modified in place (bias and penalties are written into it), so take
// log-probabilities first or use SampleWithLogprobs. history is the prompt
// plus the ids generated so far; only its last RepeatLastN entries are read,
// and ids outside the vocabulary are ignored. If every token is banned (or
// NaN) it returns the lowest banned id, 0 if all are NaN, rather than fail
// in the middle of a generation; callers that ban tokens should leave at
// least one allowed.
func (s *Sampler) Sample(logits []float32, history []int32) int32 {
	return s.draw(s.dist(logits, history))
}

// SampleWithLogprobs is Sample plus what the OpenAI logprobs and
// top_logprobs fields need, all measured on the raw logits (before bias,
// penalties, truncation and temperature), which is what OpenAI reports:
// the chosen token's log-probability and the top n alternatives (n <= 0
// gives none).
func (s *Sampler) SampleWithLogprobs(logits []float32, history []int32, n int) (id int32, chosen TokenLogprob, top []TokenLogprob) {
	s.checkLen(logits)
	lse := LogSumExp(logits)
	top = topLogprobs(logits, n, lse)
	id = s.Sample(logits, history)
	return id, TokenLogprob{ID: id, Logprob: float32(float64(s.rawLogit(logits, id)) - lse)}, top
}

// Probs returns the distribution Sample would draw from, most likely first
// (ties: lower id). It modifies logits like Sample but does not advance the
// random stream. With Temperature 0 it is the single greedy token.
func (s *Sampler) Probs(logits []float32, history []int32) []TokenProb {
	c := s.dist(logits, history)
	out := make([]TokenProb, len(c))
	for i, x := range c {
		out[i] = TokenProb{ID: x.id, Prob: float32(x.p)}
	}
	slices.SortFunc(out, func(a, b TokenProb) int {
		if a.Prob != b.Prob {
			if a.Prob > b.Prob {
				return -1
			}
			return 1
		}
		return cmp.Compare(a.ID, b.ID)
	})
	return out
}

func (s *Sampler) checkLen(logits []float32) {
	if len(logits) != s.vocab {
		panic(fmt.Sprintf("sample: got %d logits, sampler was built for a vocabulary of %d", len(logits), s.vocab))
	}
}

// dist runs the chain and returns the surviving candidates with normalised
// probabilities in p. The slice aliases s.cands and is valid until the next
// call; its order is whatever the stages left, which is deterministic.
func (s *Sampler) dist(logits []float32, history []int32) []cand {
	s.checkLen(logits)
	s.saved = s.saved[:0]
	s.applyBias(logits)
	s.applyPenalties(logits, history)

	if s.p.Temperature == 0 {
		return s.single(argmax(logits))
	}
	c := s.truncate(logits)
	if len(c) == 0 {
		return s.single(argmax(logits))
	}
	softmax(c, float64(s.p.Temperature))
	return c
}

func (s *Sampler) single(id int32) []cand {
	s.cands = append(s.cands[:0], cand{id: id, p: 1})
	return s.cands
}

func (s *Sampler) save(id int32, v float32) {
	s.saved = append(s.saved, biasEntry{id, v})
}

// rawLogit undoes this call's in-place edits for one id; the first saved
// entry for an id is its value before any stage touched it.
func (s *Sampler) rawLogit(logits []float32, id int32) float32 {
	for _, e := range s.saved {
		if e.id == id {
			return e.v
		}
	}
	return logits[id]
}

func (s *Sampler) applyBias(logits []float32) {
	for _, b := range s.bias {
		s.save(b.id, logits[b.id])
		if b.v == negInf {
			logits[b.id] = negInf
		} else {
			logits[b.id] += b.v
		}
	}
}

func (s *Sampler) applyPenalties(logits []float32, history []int32) {
	p := &s.p
	if p.RepeatLastN == 0 || (p.RepeatPenalty == 1 && p.FrequencyPenalty == 0 && p.PresencePenalty == 0) {
		return
	}
	h := history
	if p.RepeatLastN > 0 && len(h) > p.RepeatLastN {
		h = h[len(h)-p.RepeatLastN:]
	}
	if len(h) == 0 {
		return
	}
	if s.counts == nil {
		s.counts = make([]int32, s.vocab)
	}
	s.touched = s.touched[:0]
	for _, id := range h {
		if id < 0 || int(id) >= s.vocab {
			continue
		}
		if s.counts[id] == 0 {
			s.touched = append(s.touched, id)
		}
		s.counts[id]++
	}
	for _, id := range s.touched {
		n := s.counts[id]
		s.counts[id] = 0
		l := logits[id]
		s.save(id, l)
		if l > 0 {
			l /= p.RepeatPenalty
		} else {
			l *= p.RepeatPenalty
		}
		logits[id] = l - (float32(n)*p.FrequencyPenalty + p.PresencePenalty)
	}
}

// argmax returns the lowest id holding the highest non-NaN logit, and 0 if
// there is none. It finds the maximum first, in four independent lanes so
// the compares do not form one serial chain, and then its first position:
// two cheap passes beat one pass that carries an index along.
func argmax(logits []float32) int32 {
	m0, m1, m2, m3 := negInf, negInf, negInf, negInf
	i := 0
	for ; i+4 <= len(logits); i += 4 {
		x := logits[i : i+4 : i+4]
		if x[0] > m0 {
			m0 = x[0]
		}
		if x[1] > m1 {
			m1 = x[1]
		}
		if x[2] > m2 {
			m2 = x[2]
		}
		if x[3] > m3 {
			m3 = x[3]
		}
	}
	for ; i < len(logits); i++ {
		if logits[i] > m0 {
			m0 = logits[i]
		}
	}
	// NaN never wins a > comparison, so the lanes hold no NaN and the
	// built-in max is safe here.
	m := max(m0, m1, m2, m3)
	for i, v := range logits {
		if v == m {
			return int32(i)
		}
	}
	return 0
}

// truncate runs top-k, typical-p, top-p and min-p. Banned (-Inf) and NaN
// logits never become candidates.
func (s *Sampler) truncate(logits []float32) []cand {
	p := &s.p
	var c []cand
	sorted := false
	if p.TopK > 0 && p.TopK < len(logits) {
		// A bounded heap over the vocabulary: O(V) cheap comparisons instead
		// of sorting 128k entries to keep 40.
		c = selectTop(s.cands, logits, p.TopK)
		sorted = true
	} else {
		c = s.cands[:0]
		for i, v := range logits {
			if v == v && v != negInf {
				c = append(c, cand{id: int32(i), logit: v})
			}
		}
	}
	s.cands = c
	if p.TypicalP < 1 {
		c = s.typical(c, float64(p.TypicalP))
		sorted = false
	}
	if p.TopP < 1 {
		minPFloor := negInf
		if p.MinP > 0 {
			minPFloor = s.logMinP
		}
		c = topP(c, float64(p.TopP), sorted, minPFloor)
	}
	if p.MinP > 0 {
		c = minP(c, s.logMinP)
	}
	return c
}

// selectTop returns the k highest finite logits, best first (ties: lower
// id), reusing h's storage.
func selectTop(h []cand, logits []float32, k int) []cand {
	h = h[:0]
	if k <= 0 {
		return h
	}
	i := 0
	for ; i < len(logits) && len(h) < k; i++ {
		v := logits[i]
		if v != v || v == negInf {
			continue
		}
		h = append(h, cand{id: int32(i), logit: v})
		siftUp(h, len(h)-1)
	}
	if len(h) == k {
		// The root is the worst kept entry. Ids arrive in increasing order,
		// so an equal logit is always worse than the root and only a strictly
		// greater one (never NaN) can enter.
		floor := h[0].logit
		for ; i < len(logits); i++ {
			if v := logits[i]; v > floor {
				h[0] = cand{id: int32(i), logit: v}
				siftDown(h, 0)
				floor = h[0].logit
			}
		}
	}
	sortDesc(h)
	return h
}

// worse orders candidates for the top-k heap: lower logit, then higher id.
func worse(a, b cand) bool {
	return a.logit < b.logit || (a.logit == b.logit && a.id > b.id)
}

func siftUp(h []cand, i int) {
	for i > 0 {
		parent := (i - 1) / 2
		if !worse(h[i], h[parent]) {
			return
		}
		h[i], h[parent] = h[parent], h[i]
		i = parent
	}
}

func siftDown(h []cand, i int) {
	for {
		l := 2*i + 1
		if l >= len(h) {
			return
		}
		m := l
		if r := l + 1; r < len(h) && worse(h[r], h[l]) {
			m = r
		}
		if !worse(h[m], h[i]) {
			return
		}
		h[i], h[m] = h[m], h[i]
		i = m
	}
}

func sortDesc(c []cand) {
	slices.SortFunc(c, func(a, b cand) int {
		switch {
		case a.logit > b.logit:
			return -1
		case a.logit < b.logit:
			return 1
		}
		return cmp.Compare(a.id, b.id)
	})
}

func maxLogit(c []cand) float32 {
	m := negInf
	for _, x := range c {
		m = max(m, x.logit)
	}
	return m
}

// softmax fills p with exp((logit-max)/temp), normalised. Working from the
// difference keeps a tiny temperature from overflowing.
func softmax(c []cand, temp float64) {
	lmax := maxLogit(c)
	var z float64
	for i := range c {
		w := math.Exp(float64(c[i].logit-lmax) / temp)
		c[i].p = w
		z += w
	}
	for i := range c {
		c[i].p /= z
	}
}

// typical keeps the candidates whose surprisal is closest to the entropy
// until their mass reaches tp. The order it leaves is by that distance.
func (s *Sampler) typical(c []cand, tp float64) []cand {
	if len(c) <= 1 {
		return c
	}
	softmax(c, 1)
	var h float64
	for _, x := range c {
		if x.p > 0 { // 0·log 0 is 0, not NaN
			h -= x.p * math.Log(x.p)
		}
	}
	t := s.typ[:0]
	for _, x := range c {
		t = append(t, typCand{c: x, score: math.Abs(-math.Log(x.p) - h)})
	}
	s.typ = t
	slices.SortFunc(t, func(a, b typCand) int {
		switch {
		case a.score < b.score:
			return -1
		case a.score > b.score:
			return 1
		}
		return cmp.Compare(a.c.id, b.c.id)
	})
	n := len(t)
	var cum float64
	for i, x := range t {
		cum += x.c.p
		if cum >= tp {
			n = i + 1
			break
		}
	}
	for i := range n {
		c[i] = t[i].c
	}
	return c[:n]
}

// topP keeps the smallest prefix, by descending logit, whose probability
// mass is >= p. The kept set is what matters, not its order, so when c is
// not already sorted it avoids sorting the vocabulary: a logit threshold
// widens (lmax-1, -2, -4, ...) until the tokens above it hold mass p, then
// bisects the last band, and only the final few dozen boundary tokens are
// sorted. That is O(V) for any shape of distribution, where a fat tail
// would otherwise mean sorting most of 128k entries.
//
// minPFloor (log of min_p, -Inf if off) caps the widening: top-p never
// drops the best token, so min-p's threshold max+log(min_p) is known now,
// and nothing below it can survive min-p anyway.
//
// The result is unsorted apart from that boundary band.
func topP(c []cand, p float64, sorted bool, minPFloor float32) []cand {
	if len(c) <= 1 {
		return c
	}
	lmax := maxLogit(c)
	var z float64
	for i := range c {
		w := math.Exp(float64(c[i].logit - lmax))
		c[i].p = w
		z += w
	}
	target := p * z

	// Invariants: c[:lo] holds every logit >= hiThr, all kept, with mass
	// loMass < target; c[lo:m] holds the logits in [loThr, hiThr).
	lo, m, loMass := 0, len(c), 0.0
	if !sorted {
		floor := lmax + minPFloor // the same expression as in minP, so they agree exactly
		hiThr := float32(math.Inf(1))
		m = 0
		mass := 0.0
		loThr := lmax
		for delta := float32(1); ; delta *= 2 {
			loThr = lmax - delta
			capped := loThr <= floor
			if capped {
				loThr = floor
			}
			m, mass = partition(c, m, len(c), loThr, mass)
			if capped && mass < target {
				return c[:m]
			}
			if mass >= target || m == len(c) {
				break
			}
			lo, loMass, hiThr = m, mass, loThr
		}
		for m-lo > 32 {
			mid := loThr + (min(hiThr, lmax)-loThr)/2
			if !(mid > loThr && mid < hiThr) {
				break // the band is a run of (nearly) equal logits
			}
			k, kMass := partition(c, lo, m, mid, loMass)
			if kMass >= target {
				m, loThr = k, mid
			} else {
				lo, loMass, hiThr = k, kMass, mid
			}
		}
		sortDesc(c[lo:m])
	}
	cum := loMass
	for i := lo; i < m; i++ {
		cum += c[i].p
		if cum >= target {
			return c[:i+1]
		}
	}
	return c[:m] // rounding kept the sum a hair below target: keep them all
}

// partition moves the entries of c[from:to] with logit >= thr to the front
// of that range, returning the end of the moved group and mass plus their
// weights.
func partition(c []cand, from, to int, thr float32, mass float64) (int, float64) {
	k := from
	for i := from; i < to; i++ {
		if c[i].logit >= thr {
			c[i], c[k] = c[k], c[i]
			mass += c[k].p
			k++
		}
	}
	return k, mass
}

// minP keeps candidates with p >= minP*pmax, i.e. logit >= max+log(minP),
// in their current order.
func minP(c []cand, logMinP float32) []cand {
	thr := maxLogit(c) + logMinP
	n := 0
	for _, x := range c {
		if x.logit >= thr {
			c[n] = x
			n++
		}
	}
	return c[:n]
}

// draw picks from normalised candidates. The walk is in candidate order,
// which the chain makes deterministic, so a seed reproduces a run.
func (s *Sampler) draw(c []cand) int32 {
	if len(c) == 1 {
		return c[0].id
	}
	r := s.rng.Float64()
	last := c[0].id
	for _, x := range c {
		if x.p <= 0 {
			continue
		}
		last = x.id
		r -= x.p
		if r < 0 {
			return x.id
		}
	}
	return last // the probabilities summed to a hair under r
}
