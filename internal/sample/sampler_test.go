package sample

import (
	"math"
	"math/rand/v2"
	"slices"
	"testing"
)

// base is a 5-token distribution with easy hand arithmetic. Its logits are
// the log-probabilities, listed out of order so that every stage has to
// rank rather than rely on id order: id 0..4 have p = .1 .4 .05 .3 .15.
var (
	baseP      = []float64{0.1, 0.4, 0.05, 0.3, 0.15}
	baseLogits = func() []float32 {
		l := make([]float32, len(baseP))
		for i, p := range baseP {
			l[i] = float32(math.Log(p))
		}
		return l
	}()
)

// off is Params with every stage disabled and temperature 1, so a test
// switches on only the stage it is about.
func off() Params {
	return Params{Temperature: 1, TopP: 1, TypicalP: 1, RepeatPenalty: 1, RepeatLastN: 64, SeedSet: true, Seed: 1}
}

// norm builds the expected distribution: weights for the listed ids,
// normalised.
func norm(w map[int32]float64) map[int32]float64 {
	var z float64
	for _, v := range w {
		z += v
	}
	out := make(map[int32]float64, len(w))
	for id, v := range w {
		out[id] = v / z
	}
	return out
}

func distOf(t *testing.T, p Params, logits []float32, history []int32) map[int32]float64 {
	t.Helper()
	s, err := New(p, len(logits))
	if err != nil {
		t.Fatal(err)
	}
	got := map[int32]float64{}
	for _, c := range s.dist(slices.Clone(logits), history) {
		got[c.id] = c.p
	}
	return got
}

func sameDist(t *testing.T, got, want map[int32]float64) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("got candidates %v, want %v", got, want)
	}
	for id, w := range want {
		g, ok := got[id]
		if !ok || math.Abs(g-w) > 1e-6 {
			t.Fatalf("got %v, want %v", got, want)
		}
	}
}

func TestStages(t *testing.T) {
	p := baseP
	tests := []struct {
		name string
		edit func(*Params)
		want map[int32]float64
	}{
		{"none", func(*Params) {}, norm(map[int32]float64{0: p[0], 1: p[1], 2: p[2], 3: p[3], 4: p[4]})},
		{"top_k 2", func(q *Params) { q.TopK = 2 }, norm(map[int32]float64{1: .4, 3: .3})},
		{"top_k 1", func(q *Params) { q.TopK = 1 }, map[int32]float64{1: 1}},
		{"top_k >= vocab is off", func(q *Params) { q.TopK = 5 }, norm(map[int32]float64{0: .1, 1: .4, 2: .05, 3: .3, 4: .15})},
		// Mass in descending order: .4, .7, .85, .95, 1.
		{"top_p .3", func(q *Params) { q.TopP = 0.3 }, map[int32]float64{1: 1}},
		{"top_p .65", func(q *Params) { q.TopP = 0.65 }, norm(map[int32]float64{1: .4, 3: .3})},
		{"top_p .75", func(q *Params) { q.TopP = 0.75 }, norm(map[int32]float64{1: .4, 3: .3, 4: .15})},
		{"top_p .9", func(q *Params) { q.TopP = 0.9 }, norm(map[int32]float64{1: .4, 3: .3, 4: .15, 0: .1})},
		// top-k renormalises first: .4/.85=.47, .7/.85=.82 >= .8, so
		// only two survive, where top-p .8 alone keeps three.
		{"top_k then top_p", func(q *Params) { q.TopK, q.TopP = 3, 0.8 }, norm(map[int32]float64{1: .4, 3: .3})},
		{"top_p .8 alone", func(q *Params) { q.TopP = 0.8 }, norm(map[int32]float64{1: .4, 3: .3, 4: .15})},
		// Threshold .3*.4 = .12 keeps .4 .3 .15.
		{"min_p .3", func(q *Params) { q.MinP = 0.3 }, norm(map[int32]float64{1: .4, 3: .3, 4: .15})},
		{"min_p 1 keeps the max", func(q *Params) { q.MinP = 1 }, map[int32]float64{1: 1}},
		// top-p .99 keeps all five, min-p then cuts to three; both the
		// sorted (top-k) path and the partition path must agree.
		{"top_p .99 min_p .3", func(q *Params) { q.TopP, q.MinP = 0.99, 0.3 }, norm(map[int32]float64{1: .4, 3: .3, 4: .15})},
		{"top_p stops inside the min_p floor", func(q *Params) { q.TopP, q.MinP = 0.6, 0.2 }, nil},
		{"top_k 4 top_p .99 min_p .3", func(q *Params) { q.TopK, q.TopP, q.MinP = 4, 0.99, 0.3 }, norm(map[int32]float64{1: .4, 3: .3, 4: .15})},
		// Entropy H = 1.3923. |-ln p - H|: id1 .188, id3 .476, id4 .505,
		// id0 .910, id2 1.603. Typical order is 1, 3, 4, 0, 2 and the
		// cumulative mass .3, .7, .85, .95, 1.
		{"typical .2 drops the most likely", func(q *Params) { q.TypicalP = 0.2 }, map[int32]float64{3: 1}},
		{"typical .5", func(q *Params) { q.TypicalP = 0.5 }, norm(map[int32]float64{3: .3, 1: .4})},
		{"typical .8", func(q *Params) { q.TypicalP = 0.8 }, norm(map[int32]float64{3: .3, 1: .4, 4: .15})},
		// Temperature T turns p into p^(1/T), renormalised.
		{"temperature .5", func(q *Params) { q.Temperature = 0.5 }, norm(map[int32]float64{0: .01, 1: .16, 2: .0025, 3: .09, 4: .0225})},
		{"temperature 2", func(q *Params) { q.Temperature = 2 }, norm(map[int32]float64{0: math.Sqrt(.1), 1: math.Sqrt(.4), 2: math.Sqrt(.05), 3: math.Sqrt(.3), 4: math.Sqrt(.15)})},
		// Truncation sees temperature 1; temperature only reshapes the rest.
		{"top_k 3 temperature .5", func(q *Params) { q.TopK, q.Temperature = 3, 0.5 }, norm(map[int32]float64{1: .16, 3: .09, 4: .0225})},
		{"top_p .75 temperature 2", func(q *Params) { q.TopP, q.Temperature = 0.75, 2 }, norm(map[int32]float64{1: math.Sqrt(.4), 3: math.Sqrt(.3), 4: math.Sqrt(.15)})},
		{"greedy", func(q *Params) { q.Temperature = 0; q.TypicalP = 0.2 }, map[int32]float64{1: 1}},
		{"bias bans", func(q *Params) { q.LogitBias = map[int32]float32{1: float32(math.Inf(-1))} }, norm(map[int32]float64{0: .1, 2: .05, 3: .3, 4: .15})},
		{"bias -100 bans", func(q *Params) { q.LogitBias = map[int32]float32{1: -100, 3: -1000} }, norm(map[int32]float64{0: .1, 2: .05, 4: .15})},
		{"bias adds", func(q *Params) { q.LogitBias = map[int32]float32{2: float32(math.Log(4))} }, norm(map[int32]float64{0: .1, 1: .4, 2: .2, 3: .3, 4: .15})},
		{"bias before top_k", func(q *Params) {
			q.TopK = 2
			q.LogitBias = map[int32]float32{2: float32(math.Log(10))}
		}, norm(map[int32]float64{2: .5, 1: .4})},
	}
	// A second distribution, .4 then five tokens of .12: the partition
	// path needs to widen past its first step and then stop at the min-p
	// floor while top-p still cuts inside it (.4+.12+.12 = .64 >= .6).
	flat := []float32{float32(math.Log(.12)), float32(math.Log(.4)), float32(math.Log(.12)), float32(math.Log(.12)), float32(math.Log(.12)), float32(math.Log(.12))}
	flatWant := norm(map[int32]float64{1: .4, 0: .12, 2: .12})
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			q := off()
			tt.edit(&q)
			logits, want := baseLogits, tt.want
			if want == nil {
				logits, want = flat, flatWant
			}
			sameDist(t, distOf(t, q, logits, nil), want)
		})
	}
}

func TestPenalties(t *testing.T) {
	logits := []float32{2, -2, 1, 0.5, -1}
	history := []int32{4, 0, 1, 0, 3, 99, -1} // 99 and -1 are out of range and ignored
	tests := []struct {
		name string
		edit func(*Params)
		want []float32
	}{
		{"repeat", func(p *Params) { p.RepeatPenalty = 2 }, []float32{1, -4, 1, 0.25, -2}},
		{"frequency", func(p *Params) { p.FrequencyPenalty = 0.5 }, []float32{1, -2.5, 1, 0, -1.5}},
		{"presence", func(p *Params) { p.PresencePenalty = 0.25 }, []float32{1.75, -2.25, 1, 0.25, -1.25}},
		// Counts 0:2 1:1 3:1 4:1. Repeat first, then count*freq + presence.
		{"all three", func(p *Params) { p.RepeatPenalty, p.FrequencyPenalty, p.PresencePenalty = 2, 0.5, 0.25 },
			[]float32{-0.25, -4 - 0.5 - 0.25, 1, 0.25 - 0.5 - 0.25, -2 - 0.5 - 0.25}},
		// The last 4 entries are 0 3 99 -1: only ids 0 and 3, once each.
		{"window 4", func(p *Params) { p.RepeatLastN, p.RepeatPenalty, p.FrequencyPenalty = 4, 2, 0.5 }, []float32{0.5, -2, 1, -0.25, -1}},
		{"window 0 disables", func(p *Params) { p.RepeatLastN, p.RepeatPenalty = 0, 2 }, logits},
		{"negative penalties encourage", func(p *Params) { p.FrequencyPenalty, p.PresencePenalty = -1, -0.5 }, []float32{4.5, -0.5, 1, 2, 0.5}},
		{"bias then penalty", func(p *Params) {
			p.RepeatPenalty = 2
			p.LogitBias = map[int32]float32{0: -3, 2: 1}
		}, []float32{-2, -4, 2, 0.25, -2}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := off()
			p.Temperature = 0
			p.RepeatLastN = -1
			tt.edit(&p)
			s, err := New(p, len(logits))
			if err != nil {
				t.Fatal(err)
			}
			got := slices.Clone(logits)
			s.Sample(got, history)
			if !slices.Equal(got, tt.want) {
				t.Fatalf("logits after penalties = %v, want %v", got, tt.want)
			}
			// The counts scratch must be clean for the next call.
			if slices.ContainsFunc(s.counts, func(n int32) bool { return n != 0 }) {
				t.Fatal("counts not reset")
			}
		})
	}
}

func TestGreedy(t *testing.T) {
	nan := float32(math.NaN())
	ninf := float32(math.Inf(-1))
	tests := []struct {
		name   string
		logits []float32
		bias   map[int32]float32
		want   int32
	}{
		{"max", []float32{1, 5, 2}, nil, 1},
		{"tie picks lowest id", []float32{1, 3, 3, 2, 3}, nil, 1},
		{"NaN skipped", []float32{nan, 1, 1}, nil, 1},
		{"bias bans the max", []float32{1, 5, 2}, map[int32]float32{1: ninf}, 2},
		{"-100 bans even a huge logit", []float32{1, 500, 2}, map[int32]float32{1: -100}, 2},
		{"all banned falls back to 0", []float32{ninf, ninf}, nil, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := DefaultParams()
			p.Temperature = 0
			p.LogitBias = tt.bias
			s, err := New(p, len(tt.logits))
			if err != nil {
				t.Fatal(err)
			}
			if got := s.Sample(slices.Clone(tt.logits), nil); got != tt.want {
				t.Fatalf("Sample = %d, want %d", got, tt.want)
			}
		})
	}
}

func TestAllBannedNonGreedy(t *testing.T) {
	p := DefaultParams()
	p.SeedSet = true
	p.LogitBias = map[int32]float32{0: -100, 1: -100}
	s, err := New(p, 2)
	if err != nil {
		t.Fatal(err)
	}
	if got := s.Sample([]float32{1, 2}, nil); got != 0 {
		t.Fatalf("Sample = %d, want the fallback 0", got)
	}
}

func sequence(t *testing.T, seed uint64, n int) []int32 {
	t.Helper()
	p := DefaultParams()
	p.Temperature = 1.5
	p.Seed, p.SeedSet = seed, true
	s, err := New(p, len(baseLogits))
	if err != nil {
		t.Fatal(err)
	}
	out := make([]int32, n)
	for i := range out {
		out[i] = s.Sample(slices.Clone(baseLogits), out[:i])
	}
	return out
}

func TestSeed(t *testing.T) {
	a, b, c := sequence(t, 42, 200), sequence(t, 42, 200), sequence(t, 43, 200)
	if !slices.Equal(a, b) {
		t.Fatal("the same seed gave different sequences")
	}
	if slices.Equal(a, c) {
		t.Fatal("different seeds gave the same sequence")
	}
	p := DefaultParams()
	s1, _ := New(p, 5)
	s2, _ := New(p, 5)
	if s1.Seed() == s2.Seed() {
		t.Fatal("unset seeds should be random")
	}
	p.Seed, p.SeedSet = s1.Seed(), true
	if s3, _ := New(p, 5); s3.Seed() != s1.Seed() {
		t.Fatal("Seed() does not report the seed in use")
	}
}

// TestFrequencies checks the draw itself. The seed is fixed, so the outcome
// is deterministic; the tolerance is 6 standard deviations so that changing
// the seed would not make it fail either.
func TestFrequencies(t *testing.T) {
	p := off()
	p.Seed = 7
	s, err := New(p, len(baseLogits))
	if err != nil {
		t.Fatal(err)
	}
	const n = 100000
	counts := make([]int, len(baseP))
	for range n {
		counts[s.Sample(slices.Clone(baseLogits), nil)]++
	}
	for id, want := range baseP {
		got := float64(counts[id]) / n
		if tol := 6 * math.Sqrt(want*(1-want)/n); math.Abs(got-want) > tol {
			t.Errorf("token %d drawn with frequency %.4f, want %.4f ± %.4f", id, got, want, tol)
		}
	}
}

func TestProbs(t *testing.T) {
	p := off()
	p.TopK = 3
	s, err := New(p, len(baseLogits))
	if err != nil {
		t.Fatal(err)
	}
	got := s.Probs(slices.Clone(baseLogits), nil)
	want := []TokenProb{{1, .4 / .85}, {3, .3 / .85}, {4, .15 / .85}}
	if len(got) != len(want) {
		t.Fatalf("Probs = %v, want %v", got, want)
	}
	for i := range want {
		if got[i].ID != want[i].ID || math.Abs(float64(got[i].Prob-want[i].Prob)) > 1e-6 {
			t.Fatalf("Probs = %v, want %v", got, want)
		}
	}
}

// referenceTopP sorts everything, the obvious way, to check the
// partitioning shortcut on vocabularies where it actually iterates.
func referenceTopP(logits []float32, p, minP float64) map[int32]bool {
	c := make([]cand, len(logits))
	for i, v := range logits {
		c[i] = cand{id: int32(i), logit: v}
	}
	sortDesc(c)
	var z float64
	for _, x := range c {
		z += math.Exp(float64(x.logit - c[0].logit))
	}
	keep := map[int32]bool{}
	var cum float64
	for _, x := range c {
		w := math.Exp(float64(x.logit - c[0].logit))
		if minP == 0 || w >= minP {
			keep[x.id] = true
		}
		cum += w
		if cum >= p*z {
			break
		}
	}
	return keep
}

func TestTopPMatchesFullSort(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	for trial := range 64 {
		logits := make([]float32, 2000)
		scale := []float64{0.1, 1, 4, 20}[trial%4]
		for i := range logits {
			logits[i] = float32(rng.NormFloat64() * scale)
			if trial%8 >= 4 {
				// Coarse logits: long runs of exact ties at every
				// threshold, which only the id can order.
				logits[i] = float32(math.Round(float64(logits[i])*2) / 2)
			}
		}
		if trial%16 == 15 {
			logits = benchLogits(20000) // a few spikes over a fat tail
		}
		topP := []float32{0.1, 0.5, 0.9, 0.999}[trial/4%4]
		minP := []float32{0, 0, 0.01, 0.2}[trial/16]
		p := off()
		p.TopP, p.MinP = topP, minP
		got := distOf(t, p, logits, nil)
		want := referenceTopP(logits, float64(topP), float64(minP))
		// Boundary tokens may flip on float rounding between the two sums;
		// with continuous random logits that needs a coincidence within
		// 1e-12, so exact set equality is expected.
		if len(got) != len(want) {
			t.Fatalf("trial %d (scale %v top_p %v min_p %v): kept %d tokens, want %d", trial, scale, topP, minP, len(got), len(want))
		}
		for id := range want {
			if _, ok := got[id]; !ok {
				t.Fatalf("trial %d: token %d missing", trial, id)
			}
		}
	}
}

func TestSelectTopTies(t *testing.T) {
	nan := float32(math.NaN())
	logits := []float32{1, 3, nan, 3, 2, 3, float32(math.Inf(-1)), 2}
	got := selectTop(nil, logits, 4)
	var ids []int32
	for _, c := range got {
		ids = append(ids, c.id)
	}
	if want := []int32{1, 3, 5, 4}; !slices.Equal(ids, want) {
		t.Fatalf("selectTop ids = %v, want %v", ids, want)
	}
	if got := selectTop(nil, logits, 100); len(got) != 6 {
		t.Fatalf("selectTop with k > finite count kept %d, want 6", len(got))
	}
}

func benchLogits(n int) []float32 {
	rng := rand.New(rand.NewPCG(1, 2))
	l := make([]float32, n)
	for i := range l {
		// Roughly the spread of a real LM head: most tokens far below a
		// handful of plausible ones.
		l[i] = float32(rng.NormFloat64()*2 - 5)
	}
	for i := range 20 {
		l[rng.IntN(n)] = float32(10 - i/2)
	}
	return l
}

func benchSample(b *testing.B, p Params) {
	const vocab = 128256
	src := benchLogits(vocab)
	history := make([]int32, 512)
	for i := range history {
		history[i] = int32(i * 97 % vocab)
	}
	p.Seed, p.SeedSet = 1, true
	s, err := New(p, vocab)
	if err != nil {
		b.Fatal(err)
	}
	logits := make([]float32, vocab)
	for b.Loop() {
		// Sample edits logits in place; the copy is part of every
		// caller's cost that reuses a logits buffer anyway.
		copy(logits, src)
		s.Sample(logits, history)
	}
}

func BenchmarkSampleDefault(b *testing.B) { benchSample(b, DefaultParams()) }

func BenchmarkSampleGreedy(b *testing.B) {
	p := DefaultParams()
	p.Temperature = 0
	benchSample(b, p)
}

func BenchmarkSamplePenalties(b *testing.B) {
	p := DefaultParams()
	p.RepeatPenalty, p.FrequencyPenalty, p.PresencePenalty = 1.1, 0.2, 0.2
	benchSample(b, p)
}

// Without top-k, top-p sorts only the partition that can hold its mass.
func BenchmarkSampleTopPOnly(b *testing.B) {
	p := DefaultParams()
	p.TopK, p.MinP = 0, 0
	benchSample(b, p)
}

func BenchmarkSampleNoTruncation(b *testing.B) {
	p := DefaultParams()
	p.TopK, p.TopP, p.MinP, p.Temperature = 0, 1, 0, 1
	benchSample(b, p)
}

func TestTypicalTiesByID(t *testing.T) {
	// Equal probabilities all sit exactly at the entropy, so only the id
	// decides which survive.
	p := off()
	p.TypicalP = 0.3
	sameDist(t, distOf(t, p, []float32{0, 0, 0, 0}, nil), map[int32]float64{0: .5, 1: .5})
}
