//go:build !noasm

package kernels

// Go halves of the NEON kernels: bounds checks (the assembly trusts its
// pointers and counts), tails shorter than one vector step, and tiling.

//go:noescape
func dotI2SSDOT(w *byte, x *int8, nb int) int32

//go:noescape
func dotI2SNEON(w *byte, x *int8, nb int) int32

//go:noescape
func i2sTile4x4SDOT(w *byte, stride int, x *int8, ldx, nb int, out *[16]int32)

//go:noescape
func absMaxNEON(x *float32, n int) float32

//go:noescape
func quantizeNEON(q *int8, x *float32, n int, s float32) int32

//go:noescape
func f16ToF32NEON(dst *float32, src *uint16, n int)

//go:noescape
func dotF16NEON(row *uint16, x *float32, n int) float32

//go:noescape
func dotBF16NEON(row *uint16, x *float32, n int) float32

func dotI2SSDOTGo(w []byte, x []int8) int32 {
	nb := len(x) / BlockWeights
	if nb == 0 {
		return 0
	}
	_ = w[nb*BlockBytes-1]
	return dotI2SSDOT(&w[0], &x[0], nb)
}

func dotI2SNEONGo(w []byte, x []int8) int32 {
	nb := len(x) / BlockWeights
	if nb == 0 {
		return 0
	}
	_ = w[nb*BlockBytes-1]
	return dotI2SNEON(&w[0], &x[0], nb)
}

// gemmBlockBytes bounds the weight bytes of one row block, swept once per
// group of four activation rows, so that it stays in L2 between sweeps.
const gemmBlockBytes = 64 << 10

// gemmI2SNEONGo is the shared driver; tile is nil without SDOT, and then
// every output comes from dot.
func gemmI2SNEONGo(dst []float32, ldd int, w []byte, stride, rows int, x []int8, ldx, n int, sums []int32, scales []float32, wscale float32, dot func(*byte, *int8, int) int32, tiled bool) {
	nb, ok := gemmI2SChecked(dst, ldd, w, stride, rows, x, ldx, n, sums, scales, wscale)
	if !ok {
		return
	}

	out := func(i, r int, acc int32) {
		dst[i*ldd+r] = (float32(acc) - float32(sums[i])) / scales[i] * wscale
	}
	rows4, n4 := rows, 0
	if tiled {
		rows4, n4 = rows&^3, n&^3
	}
	if n4 > 0 {
		block := max(4, gemmBlockBytes/stride&^3)
		var acc [16]int32
		for r0 := 0; r0 < rows4; r0 += block {
			r1 := min(r0+block, rows4)
			for i := 0; i < n4; i += 4 {
				for r := r0; r < r1; r += 4 {
					i2sTile4x4SDOT(&w[r*stride], stride, &x[i*ldx], ldx, nb, &acc)
					for a := 0; a < 4; a++ {
						for b := 0; b < 4; b++ {
							out(i+a, r+b, acc[4*a+b])
						}
					}
				}
			}
		}
	}
	// What the tiles left: activation rows past n4 for the tiled rows, and
	// every activation for the rows past rows4.
	for r := 0; r < rows; r++ {
		i0 := n4
		if r >= rows4 {
			i0 = 0
		}
		for i := i0; i < n; i++ {
			out(i, r, dot(&w[r*stride], &x[i*ldx], nb))
		}
	}
}

func gemmI2SSDOTGo(dst []float32, ldd int, w []byte, stride, rows int, x []int8, ldx, n int, sums []int32, scales []float32, wscale float32) {
	gemmI2SNEONGo(dst, ldd, w, stride, rows, x, ldx, n, sums, scales, wscale, dotI2SSDOT, true)
}

func gemmI2SNoDotGo(dst []float32, ldd int, w []byte, stride, rows int, x []int8, ldx, n int, sums []int32, scales []float32, wscale float32) {
	gemmI2SNEONGo(dst, ldd, w, stride, rows, x, ldx, n, sums, scales, wscale, dotI2SNEON, false)
}

func quantizeRowNEONGo(q []int8, x []float32) (float32, int32) {
	return quantizeRowWith(q, x, 16, absMaxNEON, quantizeNEON)
}

func f16RowToF32NEONGo(dst []float32, src []uint16) { f16RowToF32With(dst, src, 8, f16ToF32NEON) }

func dotF16NEONGo(row []uint16, x []float32) float32 {
	n := len(row)
	_ = x[:n]
	v := n &^ 15
	var acc float32
	if v > 0 {
		acc = dotF16NEON(&row[0], &x[0], v)
	}
	return dotF16Tail(acc, row[v:], x[v:n])
}

// gemvF16NEONGo runs the rows one by one: NEON has no F16C-style memory
// operands to share, and per-row calls keep each row bit-identical to DotF16.
func gemvF16NEONGo(dst []float32, rows []uint16, k int, x []float32) {
	_ = rows[:len(dst)*k]
	for r := range dst {
		dst[r] = dotF16NEONGo(rows[r*k:(r+1)*k], x)
	}
}

//go:noescape
func gemvF16x2NEON(d0, d1 *float32, rows *uint16, k, nrows int, x0, x1 *float32, n int)

// gemvF16x2NEONGo: the two-vector kernel, then each dot's tail of k as
// dotF16NEONGo adds it.
func gemvF16x2NEONGo(d0, d1 []float32, rows []uint16, k int, x0, x1 []float32) {
	gemv2With(gemvF16x2NEON, 16, dotF16Tail, d0, d1, rows, k, x0, x1)
}

//go:noescape
func gemvF16x4vNEON(d0, d1, d2, d3 *float32, rows *uint16, k, nrows int, x0, x1, x2, x3 *float32, n int)

// gemvF16x4NEONGo: the four-vector kernel, then each dot's tail of k as
// dotF16NEONGo adds it.
func gemvF16x4NEONGo(d [4][]float32, rows []uint16, k int, x [4][]float32) {
	gemvF16x4With(gemvF16x4vNEON, d, rows, k, x)
}

func dotBF16NEONGo(row []uint16, x []float32) float32 {
	n := len(row)
	_ = x[:n]
	v := n &^ 15
	var acc float32
	if v > 0 {
		acc = dotBF16NEON(&row[0], &x[0], v)
	}
	return dotBF16Tail(acc, row[v:], x[v:n])
}

//go:noescape
func gemvBF16x2NEON(d0, d1 *float32, rows *uint16, k, nrows int, x0, x1 *float32, n int)

// gemvBF16x2NEONGo: the two-vector kernel, then each dot's tail of k as
// dotBF16NEONGo adds it.
func gemvBF16x2NEONGo(d0, d1 []float32, rows []uint16, k int, x0, x1 []float32) {
	gemv2With(gemvBF16x2NEON, 16, dotBF16Tail, d0, d1, rows, k, x0, x1)
}

//go:noescape
func weightedSumNEON(dst *float32, w *float32, n int, src *float32, stride, cols int)

func weightedSumNEONGo(dst, w, src []float32, stride int) {
	weightedSumWith(dst, w, src, stride, 4, weightedSumNEON, weightedSumGeneric)
}

//go:noescape
func expSumNEON(x *float32, n int, mx float32) float64

//go:noescape
func scaleMaxNEON(x *float32, n int, s float32) float32

//go:noescape
func scaleNEON(x *float32, n int, s float32)

// softmaxNEONGo: see softmaxAVX2Go.
func softmaxNEONGo(x []float32, s float32) { softmaxWith(x, s, 4, scaleMaxNEON, expSumNEON, scaleNEON) }

//go:noescape
func sumSquaresNEON(x *float32, n int) float64

//go:noescape
func scaleMulNEON(dst, x, w *float32, n int, scale float32)

//go:noescape
func squaredReLUMulNEON(gate, u *float32, n int)

//go:noescape
func siluMulNEON(gate, u *float32, n int)

func siluMulNEONGo(g, u []float32) { gatedWith(g, u, 4, siluMulNEON, siluMulGeneric) }

//go:noescape
func ropeNeoXNEON(x, cos, sin *float32, h, n int)

func rmsNormNEONGo(dst, x, w []float32, eps float32) {
	rmsNormWith(dst, x, w, eps, 4, sumSquaresNEON, scaleMulNEON)
}

func squaredReLUMulNEONGo(g, u []float32) {
	gatedWith(g, u, 4, squaredReLUMulNEON, squaredReLUMulGeneric)
}

func ropeNeoXNEONGo(x, cos, sin []float32) { ropeNeoXWith(x, cos, sin, 4, ropeNeoXNEON) }

func dotF32NEONGo(a, b []float32) float32 { return dotF32With(a, b, 16, dotsF32NEON) }

//go:noescape
func dotsF32NEON(dst, q, k *float32, stride, rows, n, heads, qStride, dstStride int)

func dotsF32NEONGo(dst, q, k []float32, stride, rows, heads, dstStride int) {
	dotsWith(dotsF32NEON, 16, dotsF32Generic, dst, q, k, stride, rows, heads, dstStride)
}

//go:noescape
func weightedSumsNEON(dst, w *float32, n int, src *float32, stride, cols, heads, wStride, dstStride int)

func weightedSumsNEONGo(dst []float32, dstStride, cols int, w []float32, wStride, rows, heads int, src []float32, stride int) {
	weightedSumsWith(weightedSumsNEON, 4, weightedSumsGeneric, dst, dstStride, cols, w, wStride, rows, heads, src, stride)
}

//go:noescape
func gemvQ6KQ8KSDOT(dst *float32, data *byte, rows int, xq *int8, xd *float32, bsums *int16, nb int)

//go:noescape
func gemvQ6KQ8KNoDot(dst *float32, data *byte, rows int, xq *int8, xd *float32, bsums *int16, nb int)

//go:noescape
func gemvQ8_0Q8SDOT(dst *float32, data *byte, rowBytes, rows int, xq *int8, xd *float32, nb int)

//go:noescape
func gemvQ8_0Q8NoDot(dst *float32, data *byte, rowBytes, rows int, xq *int8, xd *float32, nb int)

//go:noescape
func gemvQ6KQ8Kx2SDOT(d0, d1 *float32, data *byte, rows int, xq0, xq1 *int8, xd0, xd1 *float32, bs0, bs1 *int16, nb int)

//go:noescape
func gemvQ6KQ8Kx2NoDot(d0, d1 *float32, data *byte, rows int, xq0, xq1 *int8, xd0, xd1 *float32, bs0, bs1 *int16, nb int)

func gemvQ6KQ8Kx2SDOTGo(d0, d1 []float32, data []byte, rowBytes int, a0, a1 *Q8K) {
	gemvQ6KQ8Kx2With(gemvQ6KQ8Kx2SDOT, d0, d1, data, rowBytes, a0, a1)
}

func gemvQ6KQ8Kx2NoDotGo(d0, d1 []float32, data []byte, rowBytes int, a0, a1 *Q8K) {
	gemvQ6KQ8Kx2With(gemvQ6KQ8Kx2NoDot, d0, d1, data, rowBytes, a0, a1)
}

func gemvQ8_0Q8SDOTGo(dst []float32, data []byte, rowBytes int, a *Q8) {
	gemvQ8_0Q8With(gemvQ8_0Q8SDOT, dst, data, rowBytes, a)
}

func gemvQ8_0Q8NoDotGo(dst []float32, data []byte, rowBytes int, a *Q8) {
	gemvQ8_0Q8With(gemvQ8_0Q8NoDot, dst, data, rowBytes, a)
}

func gemvQ6KQ8KSDOTGo(dst []float32, data []byte, rowBytes int, a *Q8K) {
	gemvQ6KQ8KWith(gemvQ6KQ8KSDOT, dst, data, rowBytes, a)
}

func gemvQ6KQ8KNoDotGo(dst []float32, data []byte, rowBytes int, a *Q8K) {
	gemvQ6KQ8KWith(gemvQ6KQ8KNoDot, dst, data, rowBytes, a)
}
