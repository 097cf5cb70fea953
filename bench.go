package bitnet

import (
	"context"
	"fmt"
	"math"
	"math/rand/v2"
	"runtime"
	"time"
	"unsafe"

	"github.com/bitnet-go/bitnet/internal/arena"
	"github.com/bitnet-go/bitnet/internal/engine"
	"github.com/bitnet-go/bitnet/internal/kernels"
	"github.com/bitnet-go/bitnet/internal/model"
	"github.com/bitnet-go/bitnet/internal/quant"
)

// SyntheticModels lists the shapes LoadSynthetic knows.
func SyntheticModels() []string { return model.SyntheticNames() }

// LoadSynthetic builds a model with the exact shapes of a published BitNet
// model (see SyntheticModels) from random ternary weights in memory, for
// benchmarks without the files. embd is the embedding type: f16 (default),
// bf16, q8_0 or q6_k.
func (e *Engine) LoadSynthetic(name, embd string) (*Model, error) {
	t := quant.DenseF16
	switch embd {
	case "", "f16":
	case "bf16":
		t = quant.DenseBF16
	case "q8_0":
		t = quant.DenseQ8_0
	case "q6_k":
		t = quant.DenseQ6_K
	default:
		return nil, fmt.Errorf("embedding type %q: want f16, bf16, q8_0 or q6_k", embd)
	}
	mm, err := model.Synthetic(name, t, 1, e.modelOptions())
	if err != nil {
		return nil, err
	}
	m := &Model{eng: e, name: "synthetic " + name, path: "synthetic:" + name + ":" + t.String(), synthetic: true}
	m.st = &state{m: mm, stops: mm.Config().EOS, sched: engine.New(mm, engine.Options{Slots: e.opts.Slots, Queue: e.opts.Queue, CtxLen: e.opts.CtxLen})}
	s := mm.Stats()
	m.bytes.Store(s.HeapBytes)
	e.mu.Lock()
	e.addLocked(m)
	e.mu.Unlock()
	return m, nil
}

// BenchResult is what Bench measured. Rates are mean ± standard deviation
// over the repetitions.
type BenchResult struct {
	Model          string  `json:"model"`
	ISA            string  `json:"isa"`
	Threads        int     `json:"threads"`
	PromptTokens   int     `json:"n_prompt"`
	GenTokens      int     `json:"n_gen"`
	Depth          int     `json:"n_depth"`
	Parallel       int     `json:"n_parallel"` // sequences run together
	Reps           int     `json:"reps"`
	PPTokS         float64 `json:"pp_tok_s"`
	PPStd          float64 `json:"pp_tok_s_std"`
	TGTokS         float64 `json:"tg_tok_s"`
	TGStd          float64 `json:"tg_tok_s_std"`
	BytesPerToken  int64   `json:"bytes_per_token"`
	BandwidthGBs   float64 `json:"bandwidth_gb_s"`
	BandwidthFrac  float64 `json:"bandwidth_fraction"`
	WeightBytes    int64   `json:"weight_bytes"`
	EmbeddingType  string  `json:"embedding_type"`
	KVType         string  `json:"kv_type"`
	TGLimitTokS    float64 `json:"tg_limit_tok_s"`
	BandwidthBytes int64   `json:"bandwidth_test_bytes"`
	CPU            string  `json:"cpu"`    // the processor's model name, as the OS reports it
	CPUs           int     `json:"n_cpus"` // logical CPUs
}

// BenchOptions control Bench.
type BenchOptions struct {
	Prompt, Gen, Reps int
	// Depth is how many tokens are already in the KV cache when each
	// prefill and decode test starts (llama-bench's -d): attention then
	// reads that much context, as in a long chat.
	Depth int
	// Parallel is how many sequences each test runs together, as the
	// server's continuous batching does (llama-batched-bench's -npl): one
	// prefill of Prompt tokens each, then Gen steps of one token each. The
	// rates count the tokens of all of them; 0 means 1.
	Parallel int
	// BandwidthBytes is the buffer the memory test reads (default 1 GiB).
	// The engine keeps the buffer for its later Bench calls of the same
	// size (filling it costs seconds), until Close.
	BandwidthBytes int64
}

// Bench measures prefill (one batch of Prompt tokens) and decode (Gen
// tokens one at a time) speed like llama-bench, the bytes each decoded
// token reads, and the machine's memory read bandwidth, measured on the
// spot with the engine's threads.
func (m *Model) Bench(ctx context.Context, o BenchOptions) (BenchResult, error) {
	if o.Prompt < 0 || o.Gen < 0 || o.Reps < 1 || o.Depth < 0 || o.Parallel < 0 {
		return BenchResult{}, fmt.Errorf("bench: need prompt >= 0, gen >= 0, depth >= 0, reps >= 1, parallel >= 0 (got %d, %d, %d, %d, %d)", o.Prompt, o.Gen, o.Depth, o.Reps, o.Parallel)
	}
	seqs := max(o.Parallel, 1)
	var res BenchResult
	err := m.use(func(st *state) error {
		c := st.m.Config()
		if o.Depth+max(o.Prompt, o.Gen) >= c.MaxPos {
			return fmt.Errorf("bench: depth %d + %d tokens exceed the context of %d", o.Depth, max(o.Prompt, o.Gen), c.MaxPos)
		}
		s := st.m.Stats()
		res = BenchResult{Model: m.name, ISA: ISA(), Threads: m.eng.pool.Threads(), PromptTokens: o.Prompt, GenTokens: o.Gen, Depth: o.Depth, Parallel: seqs,
			Reps: o.Reps, WeightBytes: s.WeightBytes, EmbeddingType: s.EmbeddingTyp, KVType: m.eng.kv.String(),
			CPU: machineCPU(), CPUs: runtime.NumCPU()}
		rng := rand.New(rand.NewPCG(7, 7))
		tokens := func(n int) []int32 {
			t := make([]int32, n)
			for i := range t {
				t[i] = int32(rng.IntN(c.Vocab))
			}
			return t
		}
		n := o.BandwidthBytes
		if n <= 0 {
			n = 1 << 30
		}
		res.BandwidthBytes = n
		// A decode step reads every matrix and the lm_head once, one
		// embedding row (all of the table when it is the lm_head), and
		// each sequence's KV cache of the positions before it (the depth
		// and on average half of Gen); its sequences share the weights, so
		// a token costs the step's bytes over their number.
		kv := m.eng.kv.PositionBytes(c) * (int64(o.Depth) + int64(o.Gen)/2)
		res.BytesPerToken = (s.TokenBytes + int64(seqs)*kv) / int64(seqs)
		// fill returns the sequences' caches of capacity n, each holding
		// Depth tokens, which go in untimed, in one batch.
		fill := func(n int) ([]model.Input, error) {
			in := make([]model.Input, seqs)
			for i := range in {
				in[i] = model.Input{Seq: st.m.NewCache(n), Tokens: tokens(o.Depth)}
			}
			if o.Depth > 0 {
				if _, err := st.m.Forward(in); err != nil {
					return nil, err
				}
			}
			return in, nil
		}
		// The bandwidth test runs right before and right after each decode
		// repetition, and each repetition is compared with the higher of
		// its two measurements: on a shared host the bandwidth drifts by
		// tens of percent within a minute, so one test at the end would
		// compare decode with another moment, and one test after each
		// repetition alone put decode above 100 % of the limit whenever the
		// bandwidth dropped right after it.
		bw := m.eng.bandwidthTest(n)
		var pp, tg, bws, fracs []float64
		// One untimed round warms caches and page tables.
		for r := -1; r < o.Reps; r++ {
			if err := ctx.Err(); err != nil {
				return err
			}
			if o.Prompt > 0 {
				in, err := fill(o.Depth + o.Prompt + 1)
				if err != nil {
					return err
				}
				for i := range in {
					in[i].Tokens = tokens(o.Prompt)
				}
				t0 := time.Now()
				if _, err := st.m.Forward(in); err != nil {
					return err
				}
				if r >= 0 {
					pp = append(pp, float64(seqs*o.Prompt)/time.Since(t0).Seconds())
				}
			}
			if o.Gen > 0 {
				in, err := fill(o.Depth + o.Gen + 1)
				if err != nil {
					return err
				}
				ids := make([][]int32, seqs)
				for i := range ids {
					ids[i] = tokens(o.Gen)
				}
				var before float64
				if r >= 0 {
					before = bw(1)
				}
				t0 := time.Now()
				for step := range o.Gen {
					for i := range in {
						in[i].Tokens = ids[i][step : step+1]
					}
					if _, err := st.m.Forward(in); err != nil {
						return err
					}
				}
				rate := float64(seqs*o.Gen) / time.Since(t0).Seconds()
				if r >= 0 {
					tg = append(tg, rate)
					b := max(before, bw(1))
					bws = append(bws, b)
					fracs = append(fracs, rate*float64(res.BytesPerToken)/(b*1e9))
				}
			}
		}
		if len(bws) == 0 {
			bws = append(bws, bw(3))
		}
		res.PPTokS, res.PPStd = meanStd(pp)
		res.TGTokS, res.TGStd = meanStd(tg)
		res.BandwidthGBs, _ = meanStd(bws)
		if res.BandwidthGBs > 0 && res.BytesPerToken > 0 {
			res.TGLimitTokS = res.BandwidthGBs * 1e9 / float64(res.BytesPerToken)
			res.BandwidthFrac, _ = meanStd(fracs)
		}
		return nil
	})
	return res, err
}

func meanStd(x []float64) (float64, float64) {
	if len(x) == 0 {
		return 0, 0
	}
	var s float64
	for _, v := range x {
		s += v
	}
	mean := s / float64(len(x))
	var v float64
	for _, a := range x {
		v += (a - mean) * (a - mean)
	}
	if len(x) > 1 {
		v /= float64(len(x) - 1)
	}
	return mean, math.Sqrt(v)
}

// bandwidthTest reads a buffer with the engine's threads (a STREAM-like
// sum) to measure the memory read bandwidth. The buffer comes from the same
// kind of memory as weights built at load (an arena, in huge pages where
// the OS gives them), so that the limit is not understated for them.
type bandwidthTest struct {
	e    *Engine
	mem  *arena.Arena
	buf  []uint64
	sums []uint64
}

const bandwidthChunk = 1 << 15

func newBandwidthTest(e *Engine, n int64) *bandwidthTest {
	mem := arena.New()
	buf := unsafe.Slice((*uint64)(unsafe.Pointer(unsafe.SliceData(mem.Alloc(int(n/8)*8)))), n/8)
	for i := range buf {
		buf[i] = uint64(i) // touch every page so the passes measure reads, not faults
	}
	return &bandwidthTest{e: e, mem: mem, buf: buf, sums: make([]uint64, (len(buf)+bandwidthChunk-1)/bandwidthChunk)}
}

func (b *bandwidthTest) close() {
	b.buf = nil
	b.mem.Close()
}

// bandwidthTest returns a function that measures the bandwidth over the
// engine's buffer of n bytes, which it makes on the first call and keeps
// for later ones (a depth list in the CLI measures several times). Calls
// on one engine measure one at a time, as they share the buffer.
func (e *Engine) bandwidthTest(n int64) func(passes int) float64 {
	return func(passes int) float64 {
		e.bwMu.Lock()
		defer e.bwMu.Unlock()
		if e.bw == nil || int64(len(e.bw.buf))*8 != n/8*8 {
			if e.bw != nil {
				e.bw.close()
			}
			e.bw = newBandwidthTest(e, n)
		}
		return e.bw.measure(passes)
	}
}

// measure returns the best of passes reads of the buffer, in GB/s. Each
// pass reads it once with the plain sum and once with the prefetching one:
// which is faster depends on the CPU, and the limit is the faster.
func (b *bandwidthTest) measure(passes int) float64 {
	var best float64
	for pass := 0; pass < passes; pass++ {
		for _, sum := range []func([]uint64) uint64{kernels.SumU64, kernels.SumU64Prefetch} {
			t0 := time.Now()
			b.e.pool.For(len(b.sums), 16, func(lo, hi int) {
				for p := lo; p < hi; p++ {
					b.sums[p] = sum(b.buf[p*bandwidthChunk : min((p+1)*bandwidthChunk, len(b.buf))])
				}
			})
			best = max(best, float64(len(b.buf)*8)/time.Since(t0).Seconds()/1e9)
		}
	}
	return best
}
