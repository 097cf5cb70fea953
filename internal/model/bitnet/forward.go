package bitnet

import (
	"fmt"
	"math"

	"github.com/bitnet-go/bitnet/internal/kernels"
	"github.com/bitnet-go/bitnet/internal/model"
	"github.com/bitnet-go/bitnet/internal/quant"
)

// acts is one BitLinear input for all tokens of a batch: int8 rows padded
// to whole blocks with their scales and sums, or the padded float rows when
// activation quantisation is off.
type acts struct {
	kp     int
	q      []int8
	f      []float32
	scales []float32
	sums   []int32
}

func (m *Model) quantize(a *acts, x []float32, n, k int) {
	kp := kernels.PaddedK(k)
	a.kp = kp
	if m.floatAct {
		a.f = grow(a.f, n*kp)
		for t := 0; t < n; t++ {
			copy(a.f[t*kp:], x[t*k:(t+1)*k])
			clear(a.f[t*kp+k : (t+1)*kp])
		}
		return
	}
	a.q = grow(a.q, n*kp)
	a.scales = grow(a.scales, n)
	a.sums = grow(a.sums, n)
	m.pool.For(n, 1, func(lo, hi int) {
		for t := lo; t < hi; t++ {
			a.scales[t], a.sums[t] = kernels.QuantizeRow(a.q[t*kp:(t+1)*kp], x[t*k:(t+1)*k])
		}
	})
}

// linear computes dst[t*w.Rows+r] = Σ_c w[r,c]·x[t,c] for the n tokens of a.
func (m *Model) linear(dst []float32, w *quant.Ternary, a *acts, n int) {
	m.linears([][]float32{dst}, []*quant.Ternary{w}, a, n)
}

// linears runs several matrices that read the same input (q, k, v; gate,
// up) as one parallel loop over all their rows: one synchronisation instead
// of one per matrix, and no thread idles at the end of the small ones.
func (m *Model) linears(dsts [][]float32, ws []*quant.Ternary, a *acts, n int) {
	total := 0
	for _, w := range ws {
		total += w.Rows
	}
	m.pool.For(total, 16, func(lo, hi int) {
		base := 0
		for i, w := range ws {
			l, h := max(lo-base, 0), min(hi-base, w.Rows)
			if l < h {
				m.rowsOf(dsts[i], w, a, n, l, h)
			}
			base += w.Rows
		}
	})
}

// rowsOf computes rows [lo, hi) of one matrix for all n tokens.
func (m *Model) rowsOf(dst []float32, w *quant.Ternary, a *acts, n, lo, hi int) {
	stride := w.Stride
	if m.floatAct {
		for t := 0; t < n; t++ {
			x := a.f[t*a.kp : (t+1)*a.kp]
			for r := lo; r < hi; r++ {
				dst[t*w.Rows+r] = kernels.DotI2SFloat(w.Data[r*stride:(r+1)*stride], x) * w.Scale
			}
		}
		return
	}
	kernels.GemmI2S(dst[lo:], w.Rows, w.Data[lo*stride:hi*stride], stride, hi-lo, a.q, a.kp, n, a.sums, a.scales, w.Scale)
}

func grow[T any](s []T, n int) []T {
	if cap(s) < n {
		return make([]T, n)
	}
	return s[:n]
}

// tokenRef locates one token of the batch.
type tokenRef struct {
	seq *model.KVCache
	pos int
}

// Forward runs the transformer over every input's new tokens.
func (m *Model) Forward(batch []model.Input) ([][]float32, error) {
	c := &m.cfg
	T := 0
	seen := map[*model.KVCache]bool{}
	for i, in := range batch {
		if in.Seq == nil {
			return nil, fmt.Errorf("batch input %d has no KV cache", i)
		}
		if seen[in.Seq] {
			return nil, fmt.Errorf("batch input %d: a sequence may appear once per batch", i)
		}
		seen[in.Seq] = true
		for _, id := range in.Tokens {
			if id < 0 || int(id) >= c.Vocab {
				return nil, fmt.Errorf("token id %d is outside the vocabulary (0..%d)", id, c.Vocab-1)
			}
		}
		T += len(in.Tokens)
	}
	if T == 0 {
		return make([][]float32, len(batch)), nil
	}
	refs := make([]tokenRef, 0, T)
	ids := make([]int32, 0, T)
	for _, in := range batch {
		start, err := in.Seq.Reserve(len(in.Tokens))
		if err != nil {
			return nil, err
		}
		for j, id := range in.Tokens {
			refs = append(refs, tokenRef{in.Seq, start + j})
			ids = append(ids, id)
		}
	}
	H, I := c.Hidden, c.Intermediate
	qDim, kvDim := c.Heads*c.HeadDim, c.KVHeads*c.HeadDim
	x := make([]float32, T*H)
	m.pool.For(T, 1, func(lo, hi int) {
		for t := lo; t < hi; t++ {
			m.embd.Row(int(ids[t]), x[t*H:(t+1)*H])
		}
	})
	s := &scratch{
		xn: make([]float32, T*max(H, qDim)),
		q:  make([]float32, T*qDim), k: make([]float32, T*kvDim), v: make([]float32, T*kvDim),
		att: make([]float32, T*qDim), out: make([]float32, T*H),
		g: make([]float32, T*I), u: make([]float32, T*I),
	}
	for l := range m.layers {
		m.block(l, x, refs, s)
	}
	for _, in := range batch {
		in.Seq.Commit(len(in.Tokens))
	}
	// Logits: the last token of each input, or all its tokens.
	type want struct{ in, t int }
	var rows []want
	off := 0
	for i, in := range batch {
		if in.AllLogits {
			for j := max(in.LogitsFrom, 0); j < len(in.Tokens); j++ {
				rows = append(rows, want{i, off + j})
			}
		} else if len(in.Tokens) > 0 {
			rows = append(rows, want{i, off + len(in.Tokens) - 1})
		}
		off += len(in.Tokens)
	}
	hn := make([]float32, len(rows)*H)
	for i, r := range rows {
		kernels.RMSNorm(hn[i*H:(i+1)*H], x[r.t*H:(r.t+1)*H], m.outNorm, c.RMSEps)
	}
	logits := make([]float32, len(rows)*c.Vocab)
	ins := make([]quant.Input, len(rows))
	m.pool.For(len(rows), 1, func(lo, hi int) {
		for i := lo; i < hi; i++ {
			m.output.Prepare(&ins[i], hn[i*H:(i+1)*H])
		}
	})
	m.pool.For(c.Vocab, 64, func(lo, hi int) {
		// Vocabulary rows in small chunks, each used for every token's
		// logits while it is still in cache: the head is then read from
		// memory once per step, not once per sequence of a batch.
		const chunk = 32
		for c0 := lo; c0 < hi; c0 += chunk {
			m.output.GemvBatch(logits, c.Vocab, c0, min(c0+chunk, hi), ins)
		}
	})
	out := make([][]float32, len(batch))
	for i, r := range rows {
		row := logits[i*c.Vocab : (i+1)*c.Vocab]
		if out[r.in] == nil {
			out[r.in] = row
		} else {
			// Consecutive rows of one input are adjacent in logits.
			out[r.in] = out[r.in][:len(out[r.in])+c.Vocab]
		}
	}
	return out, nil
}

type scratch struct {
	xn, q, k, v, att, out, g, u []float32
	scores                      []float32
	off                         []int
	a                           acts
}

func (m *Model) block(l int, x []float32, refs []tokenRef, s *scratch) {
	c := &m.cfg
	L := &m.layers[l]
	T := len(refs)
	H, I := c.Hidden, c.Intermediate
	hd := c.HeadDim
	qDim, kvDim := c.Heads*hd, c.KVHeads*hd
	half := hd / 2

	// Attention.
	m.perToken(T, func(t int) {
		kernels.RMSNorm(s.xn[t*H:(t+1)*H], x[t*H:(t+1)*H], L.attnNorm, c.RMSEps)
	})
	m.quantize(&s.a, s.xn, T, H)
	m.linears([][]float32{s.q, s.k, s.v}, []*quant.Ternary{L.q, L.k, L.v}, &s.a, T)
	m.perToken(T, func(t int) {
		r := refs[t]
		cs, sn := m.cos[r.pos*half:(r.pos+1)*half], m.sin[r.pos*half:(r.pos+1)*half]
		for h := 0; h < c.Heads; h++ {
			kernels.RopeNeoX(s.q[t*qDim+h*hd:t*qDim+(h+1)*hd], cs, sn)
		}
		for h := 0; h < c.KVHeads; h++ {
			kernels.RopeNeoX(s.k[t*kvDim+h*hd:t*kvDim+(h+1)*hd], cs, sn)
		}
		// Tokens of one sequence have distinct positions, so these
		// writes never overlap.
		r.seq.Put(l, r.pos, s.k[t*kvDim:(t+1)*kvDim], s.v[t*kvDim:(t+1)*kvDim])
	})
	m.attention(l, refs, s)
	m.perToken(T, func(t int) {
		kernels.RMSNorm(s.xn[t*qDim:(t+1)*qDim], s.att[t*qDim:(t+1)*qDim], L.attnSubNorm, c.RMSEps)
	})
	m.quantize(&s.a, s.xn, T, qDim)
	m.linear(s.out, L.o, &s.a, T)

	// Feed-forward: the residual add and the next norm share one pass.
	m.perToken(T, func(t int) {
		xt := x[t*H : (t+1)*H]
		addInto(xt, s.out[t*H:(t+1)*H])
		kernels.RMSNorm(s.xn[t*H:(t+1)*H], xt, L.ffnNorm, c.RMSEps)
	})
	m.quantize(&s.a, s.xn, T, H)
	m.linears([][]float32{s.g, s.u}, []*quant.Ternary{L.gate, L.up}, &s.a, T)
	relu2 := c.Act == "relu2"
	m.perToken(T, func(t int) {
		g, u := s.g[t*I:(t+1)*I], s.u[t*I:(t+1)*I]
		if relu2 {
			kernels.SquaredReLUMul(g, u)
		} else {
			kernels.SiLUMul(g, u)
		}
		kernels.RMSNorm(u, g, L.ffnSubNorm, c.RMSEps)
	})
	m.quantize(&s.a, s.u, T, I)
	m.linear(s.out, L.down, &s.a, T)
	m.perToken(T, func(t int) {
		addInto(x[t*H:(t+1)*H], s.out[t*H:(t+1)*H])
	})
}

// attnScoreBudget bounds the scores held at once (floats): a long prompt
// attends in runs of tokens whose scores fit, not all at once.
const attnScoreBudget = 4 << 20

// attention sets s.att from s.q and the cache. The query heads that share
// a KV head go together, so that each key and value row is read once per
// group rather than once per head; the pool shares out (token, KV head)
// pairs. Splitting the value sums into column halves balances decode
// (five groups on two threads) but reads every row in two strided halves:
// at depth 2048 on the 2B-4T shape attention then took 31 ms per token,
// against 26 ms without (and 49 ms head by head).
func (m *Model) attention(l int, refs []tokenRef, s *scratch) {
	c := &m.cfg
	hd := c.HeadDim
	qDim := c.Heads * hd
	group := c.Heads / c.KVHeads
	scale := float32(1 / math.Sqrt(float64(hd)))
	for t0 := 0; t0 < len(refs); {
		// Tokens t0..t1-1 attend together; off[t-t0] is where token t's
		// scores start, head after head.
		s.off = append(s.off[:0], 0)
		t1 := t0
		for t1 < len(refs) && (t1 == t0 || s.off[t1-t0]+c.Heads*(refs[t1].pos+1) <= attnScoreBudget) {
			s.off = append(s.off, s.off[t1-t0]+c.Heads*(refs[t1].pos+1))
			t1++
		}
		s.scores = grow(s.scores, s.off[t1-t0])
		m.pool.For((t1-t0)*c.KVHeads, 1, func(lo, hi int) {
			for i := lo; i < hi; i++ {
				t, kh := t0+i/c.KVHeads, i%c.KVHeads
				n := refs[t].pos + 1
				sc := s.scores[s.off[t-t0]+kh*group*n : s.off[t-t0]+(kh+1)*group*n]
				seq, q := refs[t].seq, t*qDim+kh*group*hd
				f16 := seq.Type() == model.KVF16
				if f16 {
					K, _ := seq.HeadF16(l, kh, n)
					kernels.GroupDotsF16(sc, s.q[q:q+group*hd], K, hd)
				} else {
					K, _ := seq.Head(l, kh, n)
					kernels.GroupDots(sc, s.q[q:q+group*hd], K, hd)
				}
				for g := range group {
					kernels.ScaledSoftmax(sc[g*n:(g+1)*n], scale)
				}
				if f16 {
					_, V := seq.HeadF16(l, kh, n)
					kernels.GroupWeightedSumsF16(s.att[q:], hd, hd, sc, n, V, hd)
				} else {
					_, V := seq.Head(l, kh, n)
					kernels.GroupWeightedSums(s.att[q:], hd, hd, sc, n, V, hd)
				}
			}
		})
		t0 = t1
	}
}

// addInto adds src to dst: the residual connections.
func addInto(dst, src []float32) {
	for i, v := range src {
		dst[i] += v
	}
}

// perToken runs f for every token, on the pool when there are several.
func (m *Model) perToken(T int, f func(t int)) {
	if T == 1 {
		f(0)
		return
	}
	m.pool.For(T, 1, func(lo, hi int) {
		for t := lo; t < hi; t++ {
			f(t)
		}
	})
}
