//go:build !noasm && (amd64 || arm64)

package kernels

import "math"

// gemmI2SChecked checks GemmI2S's slices against its sizes, as the
// assembly trusts them (indexing the last element each one must hold
// panics where the generic code would), and returns the blocks per row.
// ok is false when there is no work for the assembly; the generic code has
// then done what there was.
func gemmI2SChecked(dst []float32, ldd int, w []byte, stride, rows int, x []int8, ldx, n int, sums []int32, scales []float32, wscale float32) (nb int, ok bool) {
	nb = stride / BlockBytes
	if rows <= 0 || n <= 0 || nb == 0 {
		gemmI2SGeneric(dst, ldd, w, stride, rows, x, ldx, n, sums, scales, wscale)
		return 0, false
	}
	_ = w[rows*stride-1]
	_ = x[(n-1)*ldx+stride*4-1]
	_ = dst[(n-1)*ldd+rows-1]
	_ = sums[n-1]
	_ = scales[n-1]
	return nb, true
}

// The drivers below are shared by the AVX2 and NEON wrappers: the assembly
// routine handles the first multiple of step values (step a power of two),
// the driver checks the slices it hands over and finishes the tail in Go.
// The dot products keep their own wrappers: they run once per row of an
// lm_head or per attention position, and calling the assembly through a
// function value costs a few nanoseconds per call (DotF16 of 128 values:
// 16 ns direct, 25 ns through a driver).

func quantizeRowWith(q []int8, x []float32, step int, absMax func(x *float32, n int) float32, quantize func(q *int8, x *float32, n int, s float32) int32) (float32, int32) {
	n := len(x)
	_ = q[:n]
	v := n &^ (step - 1)
	var mx float32
	if v > 0 {
		mx = absMax(&x[0], v)
	}
	s := quantScale(absMaxGeneric(mx, x[v:]))
	var sum int32
	if v > 0 {
		sum = quantize(&q[0], &x[0], v, s)
	}
	sum += quantizeGeneric(q[v:n], x[v:], s)
	clear(q[n:])
	return s, sum
}

func f16RowToF32With(dst []float32, src []uint16, step int, widen func(dst *float32, src *uint16, n int)) {
	n := len(src)
	_ = dst[:n]
	v := n &^ (step - 1)
	if v > 0 {
		widen(&dst[0], &src[0], v)
	}
	for i := v; i < n; i++ {
		dst[i] = F16ToF32(src[i])
	}
}

// rmsNormWith sums the squares in float64 like the generic code, in another
// order (the float rule of doc.go); the scaling is bit-identical.
func rmsNormWith(dst, x, w []float32, eps float32, step int, sumSquares func(x *float32, n int) float64, scaleMul func(dst, x, w *float32, n int, scale float32)) {
	n := len(x)
	v := n &^ (step - 1)
	var ss float64
	if v > 0 {
		ss = sumSquares(&x[0], v)
	}
	ss += sumSquaresGeneric(x[v:])
	scale := rmsScale(ss, n, eps)
	if v > 0 {
		scaleMul(&dst[0], &x[0], &w[0], v, scale)
	}
	scaleMulGeneric(dst[v:n], x[v:], w[v:n], scale)
}

// gatedWith runs a gated activation kernel (g[i] = act(g[i])·u[i]) over a
// multiple of step values and the generic code over the rest.
func gatedWith(g, u []float32, step int, f func(gate, u *float32, n int), generic func(g, u []float32)) {
	v := len(g) &^ (step - 1)
	if v > 0 {
		f(&g[0], &u[0], v)
	}
	generic(g[v:], u[v:len(g)])
}

func ropeNeoXWith(x, cos, sin []float32, step int, rope func(x, cos, sin *float32, h, n int)) {
	h := len(x) / 2
	v := h &^ (step - 1)
	if v > 0 {
		rope(&x[0], &cos[0], &sin[0], h, v)
	}
	ropePairs(x, cos, sin, v)
}

// weightedSumWith runs a WeightedSum kernel over the first multiple of
// step columns and tail over the rest.
func weightedSumWith(dst, w, src []float32, stride, step int, f func(dst *float32, w *float32, n int, src *float32, stride, cols int),
	tail func(dst, w, src []float32, stride int)) {
	cols := len(dst) &^ (step - 1)
	if cols > 0 {
		if len(w) == 0 {
			clear(dst)
			return
		}
		f(&dst[0], &w[0], len(w), &src[0], stride, cols)
	}
	if cols < len(dst) {
		tail(dst[cols:], w, src[cols:], stride)
	}
}

// softmaxWith is ScaledSoftmax with assembly for a multiple of step
// values: scaleMax scales them and returns their maximum, expSum
// exponentiates and sums them in place, and scale normalises them. The
// tail takes the generic code's steps, so the only difference from it is
// expSum's exponential.
func softmaxWith(x []float32, s float32, step int,
	scaleMax func(x *float32, n int, s float32) float32,
	expSum func(x *float32, n int, mx float32) float64,
	scale func(x *float32, n int, s float32)) {
	v := len(x) &^ (step - 1)
	if v == 0 {
		softmaxGeneric(x, s)
		return
	}
	mx := scaleMax(&x[0], v, s)
	if s != 1 {
		scaleBy(x[v:], s)
	}
	for _, e := range x[v:] {
		if e > mx {
			mx = e
		}
	}
	sum := expSum(&x[0], v, mx)
	for i := v; i < len(x); i++ {
		e := float32(math.Exp(float64(x[i] - mx)))
		x[i] = e
		sum += float64(e)
	}
	r := float32(1 / sum)
	scale(&x[0], v, r)
	scaleBy(x[v:], r)
}

// gemvQ8_0Q8With runs a Q8_0 × Q8 kernel over whole rows of nb blocks;
// GemvQ8_0Q8 has checked the lengths.
func gemvQ8_0Q8With(k func(dst *float32, data *byte, rowBytes, rows int, xq *int8, xd *float32, nb int), dst []float32, data []byte, rowBytes int, a *Q8) {
	nb := rowBytes / Q8_0BlockBytes
	if len(dst) == 0 {
		return
	}
	if nb == 0 {
		clear(dst)
		return
	}
	k(&dst[0], &data[0], rowBytes, len(dst), &a.Q[0], &a.D[0], nb)
}

// gemvQ6KQ8KWith runs a Q6_K × Q8_K kernel over whole rows of nb
// super-blocks; GemvQ6KQ8K has checked the lengths.
func gemvQ6KQ8KWith(k func(dst *float32, data *byte, rows int, xq *int8, xd *float32, bsums *int16, nb int), dst []float32, data []byte, rowBytes int, a *Q8K) {
	nb := rowBytes / Q6KBlockBytes
	if len(dst) == 0 {
		return
	}
	if nb == 0 {
		clear(dst)
		return
	}
	k(&dst[0], &data[0], len(dst), &a.Q[0], &a.D[0], &a.BSums[0], nb)
}

// weightedSumsWith runs a group value-sum kernel (weightedSums or
// weightedSumsF16), which adds to the outputs, over the first multiple of
// step columns, and the generic code, as WeightedSum's tail, over the other
// columns; the callers have checked the lengths.
func weightedSumsWith[K float32 | uint16](kern func(dst, w *float32, n int, src *K, stride, cols, heads, wStride, dstStride int), step int,
	generic func(dst []float32, dstStride, cols int, w []float32, wStride, rows, heads int, src []K, stride int),
	dst []float32, dstStride, cols int, w []float32, wStride, rows, heads int, src []K, stride int) {
	v := cols &^ (step - 1)
	if v > 0 {
		kern(&dst[0], &w[0], rows, &src[0], stride, v, heads, wStride, dstStride)
	}
	if v < cols {
		generic(dst[v:], dstStride, cols-v, w, wStride, rows, heads, src[v:], stride)
	}
}

// dotF32With is DotF32 through a dots kernel: one row and one head, its
// tail included, so DotF32, DotsF32 and GroupDots agree to the bit; rows
// shorter than step take the generic loop.
func dotF32With(a, b []float32, step int, kern func(dst, q, k *float32, stride, rows, n, heads, qStride, dstStride int)) float32 {
	n := len(a)
	_ = b[:n]
	v := n &^ (step - 1)
	if v == 0 {
		return dotF32Tail(0, a, b[:n])
	}
	var acc float32
	kern(&acc, &a[0], &b[0], 0, 1, v, 1, n, 0)
	return acc
}

// gemvQ6KQ8Kx2With runs a two-vector Q6_K × Q8_K kernel over whole rows of
// nb super-blocks; GemvQ6KQ8Kx2 has checked the lengths.
func gemvQ6KQ8Kx2With(k func(d0, d1 *float32, data *byte, rows int, xq0, xq1 *int8, xd0, xd1 *float32, bs0, bs1 *int16, nb int),
	d0, d1 []float32, data []byte, rowBytes int, a0, a1 *Q8K) {
	nb := rowBytes / Q6KBlockBytes
	if nb == 0 {
		clear(d0)
		clear(d1[:len(d0)])
		return
	}
	k(&d0[0], &d1[0], &data[0], len(d0), &a0.Q[0], &a1.Q[0], &a0.D[0], &a1.D[0], &a0.BSums[0], &a1.BSums[0], nb)
}

// dotBF16Tail adds row·x to acc one value at a time: DotBF16's tail past
// its kernel's step, in one place so that the one- and two-vector kernels
// compile it alike (arm64 fuses each multiply-add).
func dotBF16Tail(acc float32, row []uint16, x []float32) float32 {
	for i := range row {
		acc += BF16ToF32(row[i]) * x[i]
	}
	return acc
}

// gemv2With runs a two-vector kernel (the F16 or BF16 one) over the first
// multiple of step values of each row, then adds each dot's tail through
// tail, as the one-vector kernels do; GemvF16x2 or GemvBF16x2 has checked
// the lengths.
func gemv2With(kern func(d0, d1 *float32, rows *uint16, k, nrows int, x0, x1 *float32, n int), step int, tail func(float32, []uint16, []float32) float32,
	d0, d1 []float32, rows []uint16, k int, x0, x1 []float32) {
	v := k &^ (step - 1)
	if v > 0 {
		kern(&d0[0], &d1[0], &rows[0], k, len(d0), &x0[0], &x1[0], v)
	} else {
		clear(d0)
		clear(d1[:len(d0)])
	}
	addTails2(tail, d0, d1, rows, k, v, x0, x1)
}

// gemvF16x4With runs a four-vector F16 kernel over the first multiple of 16
// values of each row and adds the tails as GemvF16 does, or takes two
// pairs where the rows are shorter; GemvF16x4 has checked the lengths.
func gemvF16x4With(kern func(d0, d1, d2, d3 *float32, rows *uint16, k, nrows int, x0, x1, x2, x3 *float32, n int),
	d [4][]float32, rows []uint16, k int, x [4][]float32) {
	v := k &^ 15
	if v == 0 {
		gemvF16x4ByTwo(d, rows, k, x)
		return
	}
	kern(&d[0][0], &d[1][0], &d[2][0], &d[3][0], &rows[0], k, len(d[0]), &x[0][0], &x[1][0], &x[2][0], &x[3][0], v)
	addTails2(dotF16Tail, d[0], d[1], rows, k, v, x[0], x[1])
	addTails2(dotF16Tail, d[2], d[3], rows, k, v, x[2], x[3])
}

// addTails2 adds to d0[i] and d1[i], for each of their rows, the products
// of values v..k-1 of row i with x0 and x1 through tail (dotF16Tail or
// dotBF16Tail), as the one-vector kernels add their tails.
func addTails2(tail func(float32, []uint16, []float32) float32, d0, d1 []float32, rows []uint16, k, v int, x0, x1 []float32) {
	for i := range d0 {
		row := rows[i*k+v : (i+1)*k]
		d0[i] = tail(d0[i], row, x0[v:k])
		d1[i] = tail(d1[i], row, x1[v:k])
	}
}

// dotsWith runs a multi-row, multi-head dot kernel (dotsF32 or dotsF16),
// which runs the level's DotF32 loop and reduction once per key row and
// head over the first multiple of step values and then adds each dot's
// tail itself (it gets the head size as qStride), or the generic code
// where the heads are shorter than step; the callers have checked the
// lengths.
func dotsWith[K float32 | uint16](kern func(dst, q *float32, k *K, stride, rows, n, heads, qStride, dstStride int), step int,
	generic func(dst, q []float32, k []K, stride, rows, heads, dstStride int),
	dst, q []float32, k []K, stride, rows, heads, dstStride int) {
	n := len(q) / heads
	v := n &^ (step - 1)
	if v == 0 {
		generic(dst, q, k, stride, rows, heads, dstStride)
		return
	}
	kern(&dst[0], &q[0], &k[0], stride, rows, v, heads, n, dstStride)
}

// prefetch asks for the n bytes at p to be brought into L1, a cache line at
// a time, and returns at once.
//
//go:noescape
func prefetch(p *uint16, n int)
