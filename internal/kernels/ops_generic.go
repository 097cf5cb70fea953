package kernels

import "math"

// RMSNorm writes x/sqrt(mean(x²)+eps)·w to dst. The sum of squares is kept
// in float64, as ggml does, so long rows do not lose precision.
func RMSNorm(dst, x, w []float32, eps float32) {
	var ss float64
	for _, v := range x {
		ss += float64(v * v)
	}
	mean := float32(ss / float64(len(x)))
	scale := 1 / float32(math.Sqrt(float64(mean+eps)))
	for i, v := range x {
		dst[i] = v * scale * w[i]
	}
}

// Softmax replaces x by softmax(x) in place.
func Softmax(x []float32) {
	if len(x) == 0 {
		return
	}
	mx := x[0]
	for _, v := range x[1:] {
		if v > mx {
			mx = v
		}
	}
	var sum float64
	for i, v := range x {
		e := float32(math.Exp(float64(v - mx)))
		x[i] = e
		sum += float64(e)
	}
	inv := float32(1 / sum)
	for i := range x {
		x[i] *= inv
	}
}

// RopeNeoX rotates one head vector in place with the NeoX ("rotate_half")
// pairing: element i pairs with i+d/2. cos and sin hold d/2 values.
func RopeNeoX(x, cos, sin []float32) {
	h := len(x) / 2
	for i := 0; i < h; i++ {
		x0, x1 := x[i], x[i+h]
		x[i] = x0*cos[i] - x1*sin[i]
		x[i+h] = x0*sin[i] + x1*cos[i]
	}
}

// weightedSumGeneric is the reference of WeightedSum: each column sums
// its terms in order of j.
func weightedSumGeneric(dst, w, src []float32, stride int) {
	clear(dst)
	for j, a := range w {
		Axpy(dst, a, src[j*stride:j*stride+len(dst)])
	}
}

// Axpy adds a·x to y.
func Axpy(y []float32, a float32, x []float32) {
	for i, v := range x {
		y[i] += a * v
	}
}
