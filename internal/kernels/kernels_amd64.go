//go:build !noasm

package kernels

import "sync"

// Go halves of the AVX2 kernels: bounds checks (the assembly trusts its
// pointers and counts, so every wrapper first indexes the last element it
// will touch, panicking where the generic code would), tails shorter than
// one vector step, and tiling.

//go:noescape
func dotI2SAVX2(w *byte, x *int8, nb int) int32

//go:noescape
func gemvI2S4AVX2(dst *float32, w *byte, stride, quads int, x *int8, nb int, sum, scale, wscale float32, pf int)

//go:noescape
func gemmI2S4x3AVX2(dst *float32, ldd int, w *byte, stride, quads int, x *int8, ldx, nb int, post *[6]float32, wscale float32)

//go:noescape
func gemmI2S1x8AVX2(dst *float32, ldd int, w *byte, stride, rows int, x *int8, ldx, nb int, sums *int32, scales *float32, wscale float32)

//go:noescape
func gemmI2S2x4AVX2(dst *float32, ldd int, w *byte, stride, pairs int, x *int8, ldx, nb int, sums *int32, scales *float32, wscale float32)

//go:noescape
func absMaxAVX2(x *float32, n int) float32

//go:noescape
func quantizeAVX2(q *int8, x *float32, n int, s float32) int32

//go:noescape
func f16ToF32AVX2(dst *float32, src *uint16, n int)

//go:noescape
func dotF16AVX2(row *uint16, x *float32, n int) float32

//go:noescape
func gemvF16x4AVX2(dst *float32, rows *uint16, k, quads int, x *float32, n int)

//go:noescape
func dotBF16AVX2(row *uint16, x *float32, n int) float32

//go:noescape
func gemvF16x2AVX2(d0, d1 *float32, rows *uint16, k, pairs int, x0, x1 *float32, n int)

//go:noescape
func gemvF16x4vAVX2(d0, d1, d2, d3 *float32, rows *uint16, k, nrows int, x0, x1, x2, x3 *float32, n int)

//go:noescape
func sumSquaresAVX2(x *float32, n int) float64

//go:noescape
func scaleMulAVX2(dst, x, w *float32, n int, scale float32)

//go:noescape
func ropeNeoXAVX2(x, cos, sin *float32, h, n int)

//go:noescape
func expSumAVX2(x *float32, n int, mx float32) float64

//go:noescape
func scaleMaxAVX2(x *float32, n int, s float32) float32

//go:noescape
func scaleAVX2(x *float32, n int, s float32)

//go:noescape
func squaredReLUMulAVX2(gate, u *float32, n int)

//go:noescape
func siluMulAVX2(gate, u *float32, n int)

//go:noescape
func weightedSumAVX2(dst *float32, w *float32, n int, src *float32, stride, cols int)

//go:noescape
func wsumsTail4AVX2(dst, w *float32, n int, src *float32, stride, heads, wStride, dstStride int)

// weightedSumsTailAVX2 adds the value columns past the kernels' multiple
// of 8: four in assembly, the rest in Go, in the same order (products
// rounded, then added row by row), so WeightedSum and GroupWeightedSums,
// which both end here, agree to the bit.
func weightedSumsTailAVX2(dst []float32, dstStride, cols int, w []float32, wStride, rows, heads int, src []float32, stride int) {
	if rows == 0 {
		return
	}
	c4 := cols &^ 3
	if c4 > 0 {
		_ = src[(rows-1)*stride+c4-1]
		_ = dst[(heads-1)*dstStride+c4-1]
		_ = w[(heads-1)*wStride+rows-1]
		for c := 0; c < c4; c += 4 {
			wsumsTail4AVX2(&dst[c], &w[0], rows, &src[c], stride, heads, wStride, dstStride)
		}
	}
	if c4 < cols {
		weightedSumsGeneric(dst[c4:], dstStride, cols-c4, w, wStride, rows, heads, src[c4:], stride)
	}
}

// weightedSumTailAVX2 is weightedSumGeneric through weightedSumsTailAVX2.
func weightedSumTailAVX2(dst, w, src []float32, stride int) {
	clear(dst)
	weightedSumsTailAVX2(dst, 0, len(dst), w, 0, len(w), 1, src, stride)
}

func dotI2SAVX2Go(w []byte, x []int8) int32 {
	nb := len(x) / BlockWeights
	if nb == 0 {
		return 0
	}
	_ = w[nb*BlockBytes-1]
	return dotI2SAVX2(&w[0], &x[0], nb)
}

// gemmBlockBytes is how many weight bytes one row block of the prefill
// path covers. The block is swept once per group of three activation rows,
// so it should stay in L2 (and mostly L1) between sweeps while the
// activations stream past it.
const gemmBlockBytes = 48 << 10

// gemm8MaxActBytes bounds the eight activation rows of the 1×8 prefill
// kernel: they are read once per weight row and must stay in L1 (32 KiB
// on Zen 3). Up to the whole of L1 they do: with the 1×8 kernel K = 3200
// (the 3B) ran at 117-122 GMAC/s against 88-107 with the 2×4 tile, and
// K = 4096 (Llama3-8B) at 115-117 (one run 92) against 106-111 (one
// thread, same session, taking turns). Past it they do not: K = 6912 and
// 8640 ran at 85-88 against 106-114 GMAC/s.
const gemm8MaxActBytes = 32 << 10

// gemm8MaxRows caps the row block of the 1×8 kernel (its output buffer
// lives on the stack).
const gemm8MaxRows = 128

// pad4Rows holds four activation rows for gemm3As4AVX2.
var pad4Rows = sync.Pool{New: func() any { return new([]int8) }}

// gemm3As4AVX2 runs three activation rows through the 2×4 tile, with a
// fourth row of zeros whose results it drops. Three rows alone are three
// sequences decoding together, whose weights come from memory: there the
// 4×3 tile, which reads four weight rows side by side, ran at 44–45
// GMAC/s and this at 56–59, counting only the three rows (a 42 MB matrix,
// one thread, Zen 3). Three rows left over from a prefill's groups find
// their weights in L2, where the 4×3 tile wastes no multiply-adds and
// stays faster (81–87 against 70 GMAC/s), so it keeps them. Every result
// is the same exact integer sum through the same float epilogue, so the
// bits do not change.
func gemm3As4AVX2(dst []float32, ldd int, w []byte, stride, rows int, x []int8, ldx, nb int, sums []int32, scales []float32, wscale float32) {
	bp := pad4Rows.Get().(*[]int8)
	defer pad4Rows.Put(bp)
	if cap(*bp) < 4*ldx {
		*bp = make([]int8, 4*ldx)
	}
	kp := stride * 4
	x4 := (*bp)[:4*ldx]
	for a := range 3 {
		copy(x4[a*ldx:a*ldx+kp], x[a*ldx:a*ldx+kp])
	}
	clear(x4[3*ldx : 3*ldx+kp])
	s4 := [4]int32{sums[0], sums[1], sums[2], 0}
	c4 := [4]float32{scales[0], scales[1], scales[2], 1}
	const maxRows = 64
	var tmp [4 * maxRows]float32
	rows2 := rows &^ 1
	blockRows := min(maxRows, max(2, gemmBlockBytes/stride&^1))
	for r0 := 0; r0 < rows2; r0 += blockRows {
		rb := min(blockRows, rows2-r0)
		gemmI2S2x4AVX2(&tmp[0], rb, &w[r0*stride], stride, rb/2, &x4[0], ldx, nb, &s4[0], &c4[0], wscale)
		for a := range 3 {
			copy(dst[a*ldd+r0:a*ldd+r0+rb], tmp[a*rb:(a+1)*rb])
		}
	}
	gemmRowsByDotAVX2(dst, ldd, w, stride, rows2, rows, x, ldx, 3, nb, sums, scales, wscale)
}

// gemmRowsByDotAVX2 computes weight rows r0..rows-1 for activation rows
// 0..n-1 one dot product at a time, with the tiles' epilogue: the rows a
// tile leaves over.
func gemmRowsByDotAVX2(dst []float32, ldd int, w []byte, stride, r0, rows int, x []int8, ldx, n, nb int, sums []int32, scales []float32, wscale float32) {
	for r := r0; r < rows; r++ {
		for i := range n {
			acc := dotI2SAVX2(&w[r*stride], &x[i*ldx], nb)
			dst[i*ldd+r] = (float32(acc) - float32(sums[i])) / scales[i] * wscale
		}
	}
}

func gemmI2SAVX2Go(dst []float32, ldd int, w []byte, stride, rows int, x []int8, ldx, n int, sums []int32, scales []float32, wscale float32) {
	nb, ok := gemmI2SChecked(dst, ldd, w, stride, rows, x, ldx, n, sums, scales, wscale)
	if !ok {
		return
	}
	if n == 3 && rows >= 2 {
		gemm3As4AVX2(dst, ldd, w, stride, rows, x, ldx, nb, sums, scales, wscale)
		return
	}
	kp := stride * 4

	if n >= 8 && 8*kp <= gemm8MaxActBytes {
		// Eight activation rows at a time against a row block that stays
		// in L2 while the groups of eight sweep it; the activation rows
		// left over go through the tiles below. The kernel writes one
		// output per activation row for each weight row; into dst those
		// are eight cache lines, ldd apart, per weight row, which have
		// left L1 by the time the next rows fill them (this cost more
		// than the tile saved), so the results go through a buffer and
		// are copied out a row block at a time.
		var tmp [8 * gemm8MaxRows]float32
		n8 := n &^ 7
		blockRows := min(gemm8MaxRows, max(1, gemmBlockBytes/stride))
		for r0 := 0; r0 < rows; r0 += blockRows {
			rb := min(blockRows, rows-r0)
			for i := 0; i < n8; i += 8 {
				gemmI2S1x8AVX2(&tmp[0], rb, &w[r0*stride], stride, rb, &x[i*ldx], ldx, nb, &sums[i], &scales[i], wscale)
				for a := 0; a < 8; a++ {
					copy(dst[(i+a)*ldd+r0:(i+a)*ldd+r0+rb], tmp[a*rb:(a+1)*rb])
				}
			}
		}
		if n8 == n {
			return
		}
		dst, x, sums, scales, n = dst[n8*ldd:], x[n8*ldx:], sums[n8:], scales[n8:], n-n8
	}

	if n >= 4 {
		// Rows too long for the 1×8 tile (K = 6912): two weight rows ×
		// four activation rows.
		n4 := n &^ 3
		rows2 := rows &^ 1
		blockRows := max(2, gemmBlockBytes/stride&^1)
		for r0 := 0; r0 < rows2; r0 += blockRows {
			rb := min(blockRows, rows2-r0)
			for i := 0; i < n4; i += 4 {
				gemmI2S2x4AVX2(&dst[i*ldd+r0], ldd, &w[r0*stride], stride, rb/2, &x[i*ldx], ldx, nb, &sums[i], &scales[i], wscale)
			}
		}
		gemmRowsByDotAVX2(dst, ldd, w, stride, rows2, rows, x, ldx, n4, nb, sums, scales, wscale)
		if n4 == n {
			return
		}
		dst, x, sums, scales, n = dst[n4*ldd:], x[n4*ldx:], sums[n4:], scales[n4:], n-n4
	}

	// One or two activation rows go through the decode GEMV, three through
	// the 4×3 tile. With more than one, the rows come in blocks that stay
	// in L2 while each activation row passes over them.
	rows4 := rows &^ 3
	block := rows4
	if n > 1 {
		block = max(4, gemmBlockBytes/stride&^3)
	}
	for r0 := 0; r0 < rows4; r0 += block {
		quads := min(block, rows4-r0) / 4
		i := 0
		for ; i+3 <= n; i += 3 {
			post := [6]float32{
				float32(sums[i]), float32(sums[i+1]), float32(sums[i+2]),
				scales[i], scales[i+1], scales[i+2],
			}
			gemmI2S4x3AVX2(&dst[i*ldd+r0], ldd, &w[r0*stride], stride, quads, &x[i*ldx], ldx, nb, &post, wscale)
		}
		for ; i < n; i++ {
			gemvI2S4AVX2(&dst[i*ldd+r0], &w[r0*stride], stride, quads, &x[i*ldx], nb, float32(sums[i]), scales[i], wscale, gemvAVX2Prefetch)
		}
	}
	gemmRowsByDotAVX2(dst, ldd, w, stride, rows4, rows, x, ldx, n, nb, sums, scales, wscale)
}

func quantizeRowAVX2Go(q []int8, x []float32) (float32, int32) {
	return quantizeRowWith(q, x, 32, absMaxAVX2, quantizeAVX2)
}

func f16RowToF32AVX2Go(dst []float32, src []uint16) { f16RowToF32With(dst, src, 8, f16ToF32AVX2) }

func dotF16AVX2Go(row []uint16, x []float32) float32 {
	n := len(row)
	_ = x[:n]
	v := n &^ 15
	var acc float32
	if v > 0 {
		acc = dotF16AVX2(&row[0], &x[0], v)
	}
	return dotF16Tail(acc, row[v:], x[v:n])
}

func gemvF16AVX2Go(dst []float32, rows []uint16, k int, x []float32) {
	r := len(dst)
	if r == 0 || k <= 0 {
		clear(dst)
		return
	}
	_ = rows[r*k-1]
	_ = x[:k]
	v := k &^ 15
	quads := r / 4
	if quads > 0 && v > 0 {
		gemvF16x4AVX2(&dst[0], &rows[0], k, quads, &x[0], v)
		for i := 0; i < quads*4; i++ {
			dst[i] = dotF16Tail(dst[i], rows[i*k+v:(i+1)*k], x[v:k])
		}
	} else {
		quads = 0
	}
	for i := quads * 4; i < r; i++ {
		dst[i] = dotF16AVX2Go(rows[i*k:(i+1)*k], x)
	}
}

// gemvF16x4AVX2Go runs the four-vector kernel over the rows and adds the
// tails of k as GemvF16 does.
func gemvF16x4AVX2Go(d [4][]float32, rows []uint16, k int, x [4][]float32) {
	gemvF16x4With(gemvF16x4vAVX2, d, rows, k, x)
}

// gemvF16x2AVX2Go runs the two-vector kernel over pairs of rows, adds the
// tails of k as GemvF16 does, and leaves an odd last row to it.
func gemvF16x2AVX2Go(d0, d1 []float32, rows []uint16, k int, x0, x1 []float32) {
	r := len(d0)
	v := k &^ 15
	pairs := r / 2
	if v == 0 || pairs == 0 {
		gemvF16AVX2Go(d0, rows, k, x0)
		gemvF16AVX2Go(d1, rows, k, x1)
		return
	}
	gemvF16x2AVX2(&d0[0], &d1[0], &rows[0], k, pairs, &x0[0], &x1[0], v)
	addTails2(dotF16Tail, d0[:2*pairs], d1, rows, k, v, x0, x1)
	if r > 2*pairs {
		last := rows[2*pairs*k : r*k]
		gemvF16AVX2Go(d0[2*pairs:r], last, k, x0)
		gemvF16AVX2Go(d1[2*pairs:r], last, k, x1)
	}
}

//go:noescape
func gemvBF16x2AVX2(d0, d1 *float32, rows *uint16, k, nrows int, x0, x1 *float32, n int)

// gemvBF16x2AVX2Go runs the two-vector kernel over the rows, then adds
// each dot's tail of k as DotBF16 does.
func gemvBF16x2AVX2Go(d0, d1 []float32, rows []uint16, k int, x0, x1 []float32) {
	gemv2With(gemvBF16x2AVX2, 32, dotBF16Tail, d0, d1, rows, k, x0, x1)
}

func dotBF16AVX2Go(row []uint16, x []float32) float32 {
	n := len(row)
	_ = x[:n]
	v := n &^ 31
	var acc float32
	if v > 0 {
		acc = dotBF16AVX2(&row[0], &x[0], v)
	}
	return dotBF16Tail(acc, row[v:], x[v:n])
}

func rmsNormAVX2Go(dst, x, w []float32, eps float32) {
	rmsNormWith(dst, x, w, eps, 8, sumSquaresAVX2, scaleMulAVX2)
}

func ropeNeoXAVX2Go(x, cos, sin []float32) { ropeNeoXWith(x, cos, sin, 8, ropeNeoXAVX2) }

// softmaxAVX2Go computes the exponentials with a float32 polynomial (about
// 1 ulp) where the generic code rounds float64 math.Exp; the sums are
// float64 in both.
func softmaxAVX2Go(x []float32, s float32) { softmaxWith(x, s, 8, scaleMaxAVX2, expSumAVX2, scaleAVX2) }

func squaredReLUMulAVX2Go(g, u []float32) {
	gatedWith(g, u, 8, squaredReLUMulAVX2, squaredReLUMulGeneric)
}

func siluMulAVX2Go(g, u []float32) { gatedWith(g, u, 8, siluMulAVX2, siluMulGeneric) }

func weightedSumAVX2Go(dst, w, src []float32, stride int) {
	weightedSumWith(dst, w, src, stride, 8, weightedSumAVX2, weightedSumTailAVX2)
}

func dotF32AVX2Go(a, b []float32) float32 { return dotF32With(a, b, 32, dotsF32AVX2) }

//go:noescape
func dotsF32AVX2(dst, q, k *float32, stride, rows, n, heads, qStride, dstStride int)

func dotsF32AVX2Go(dst, q, k []float32, stride, rows, heads, dstStride int) {
	dotsWith(dotsF32AVX2, 32, dotsF32Generic, dst, q, k, stride, rows, heads, dstStride)
}

//go:noescape
func dotsF16AVX2(dst, q *float32, k *uint16, stride, rows, n, heads, qStride, dstStride int)

// dotsF16AVX2Go is dotsF32AVX2Go on keys widened in registers.
func dotsF16AVX2Go(dst, q []float32, k []uint16, stride, rows, heads, dstStride int) {
	dotsWith(dotsF16AVX2, 32, dotsF16Generic, dst, q, k, stride, rows, heads, dstStride)
}

//go:noescape
func weightedSumsF16AVX2(dst, w *float32, n int, src *uint16, stride, cols, heads, wStride, dstStride int)

// weightedSumsF16AVX2Go is weightedSumsAVX2Go on values widened in
// registers.
func weightedSumsF16AVX2Go(dst []float32, dstStride, cols int, w []float32, wStride, rows, heads int, src []uint16, stride int) {
	weightedSumsWith(weightedSumsF16AVX2, 8, weightedSumsF16Generic, dst, dstStride, cols, w, wStride, rows, heads, src, stride)
}

//go:noescape
func weightedSumsAVX2(dst, w *float32, n int, src *float32, stride, cols, heads, wStride, dstStride int)

func weightedSumsAVX2Go(dst []float32, dstStride, cols int, w []float32, wStride, rows, heads int, src []float32, stride int) {
	weightedSumsWith(weightedSumsAVX2, 8, weightedSumsTailAVX2, dst, dstStride, cols, w, wStride, rows, heads, src, stride)
}

//go:noescape
func gemvQ8_0Q8AVX2(dst *float32, data *byte, rowBytes, rows int, xq *int8, xd *float32, nb int)

//go:noescape
func gemvQ6KQ8KAVX2(dst *float32, data *byte, rows int, xq *int8, xd *float32, bsums *int16, nb int)

//go:noescape
func gemvQ6KQ8Kx2AVX2(d0, d1 *float32, data *byte, rows int, xq0, xq1 *int8, xd0, xd1 *float32, bs0, bs1 *int16, nb int)

func gemvQ6KQ8Kx2AVX2Go(d0, d1 []float32, data []byte, rowBytes int, a0, a1 *Q8K) {
	gemvQ6KQ8Kx2With(gemvQ6KQ8Kx2AVX2, d0, d1, data, rowBytes, a0, a1)
}

func gemvQ8_0Q8AVX2Go(dst []float32, data []byte, rowBytes int, a *Q8) {
	gemvQ8_0Q8With(gemvQ8_0Q8AVX2, dst, data, rowBytes, a)
}

func gemvQ6KQ8KAVX2Go(dst []float32, data []byte, rowBytes int, a *Q8K) {
	gemvQ6KQ8KWith(gemvQ6KQ8KAVX2, dst, data, rowBytes, a)
}

// gemvAVX2Prefetch is how far ahead of its loads gemvI2S4AVX2 prefetches:
// 3 KiB measured best of 1–6 KiB for a kernel with the same linear order
// (two threads on Zen 3: 0.84 of a streaming sum at 1 KiB, 0.88–0.91 at
// 2–4 KiB, 0.87 at 6 KiB).
const gemvAVX2Prefetch = 3072

// gemvPrefetch is how far ahead of a pass of gemvI2S4VNNI its software
// prefetch runs, in bytes of the weight stream: 4 KiB (64 lines; 2 and
// 8 KiB both measured slower on Zen 3 for one and two threads with an AVX2
// kernel of the same four-row shape), but at least one pass of four rows.
// A pass reads its four rows side by side, so with a shorter distance the
// start of the fourth row (3·stride into the pass) was never prefetched
// once rows got longer than 1.3 KiB: for the 2B-4T down projection
// (K = 6912) that AVX2 kernel read memory at 68–80 % of a streaming sum
// with two threads, and at 79–89 % with the pass-length distance.
func gemvPrefetch(stride int) int { return max(4096, 4*stride) }
