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

// softmaxWith is Softmax with an assembly expSum that exponentiates and
// sums a multiple of step values in place; the tail uses math.Exp.
func softmaxWith(x []float32, step int, expSum func(x *float32, n int, mx float32) float64) {
	if len(x) == 0 {
		return
	}
	mx := maxOf(x)
	v := len(x) / step * step
	var sum float64
	if v > 0 {
		sum = expSum(&x[0], v, mx)
	}
	for i := v; i < len(x); i++ {
		e := float32(math.Exp(float64(x[i] - mx)))
		x[i] = e
		sum += float64(e)
	}
	scaleBy(x, float32(1/sum))
}
