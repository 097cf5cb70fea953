package kernels

import "math"

// RMSNorm writes x/sqrt(mean(x²)+eps)·w to dst. The sum of squares is kept
// in float64, as ggml does, so long rows do not lose precision.
func RMSNorm(dst, x, w []float32, eps float32) {
	_ = dst[:len(x)]
	_ = w[:len(x)]
	rmsNorm(dst, x, w, eps)
}

func rmsNormGeneric(dst, x, w []float32, eps float32) {
	scale := rmsScale(sumSquaresGeneric(x), len(x), eps)
	scaleMulGeneric(dst, x, w, scale)
}

func sumSquaresGeneric(x []float32) float64 {
	var ss float64
	for _, v := range x {
		ss += float64(v * v)
	}
	return ss
}

func rmsScale(ss float64, n int, eps float32) float32 {
	mean := float32(ss / float64(n))
	return 1 / float32(math.Sqrt(float64(mean+eps)))
}

func scaleMulGeneric(dst, x, w []float32, scale float32) {
	for i, v := range x {
		dst[i] = v * scale * w[i]
	}
}

// SquaredReLUMul sets g[i] = max(g[i], 0)²·u[i], the gated squared-ReLU
// activation of BitNet's feed-forward block.
func SquaredReLUMul(g, u []float32) {
	_ = u[:len(g)]
	squaredReLUMul(g, u)
}

func squaredReLUMulGeneric(g, u []float32) {
	for i, v := range g {
		v = max(v, 0)
		g[i] = v * v * u[i]
	}
}

// SiLUMul sets g[i] = silu(g[i])·u[i] = g[i]/(1+e^-g[i])·u[i], the gated
// SiLU (SwiGLU) activation of the Llama-style feed-forward block.
func SiLUMul(g, u []float32) {
	_ = u[:len(g)]
	siluMul(g, u)
}

// siluMulGeneric rounds exp to float32 as the reference code does.
func siluMulGeneric(g, u []float32) {
	for i, v := range g {
		g[i] = v / (1 + float32(math.Exp(float64(-v)))) * u[i]
	}
}

// Softmax replaces x by softmax(x) in place.
func Softmax(x []float32) { softmax(x, 1) }

// ScaledSoftmax replaces x by softmax(s·x) in place, each s·x[i] rounded
// to float32 first: attention's scaled scores, in one call.
func ScaledSoftmax(x []float32, s float32) { softmax(x, s) }

func softmaxGeneric(x []float32, s float32) {
	if len(x) == 0 {
		return
	}
	if s != 1 {
		scaleBy(x, s)
	}
	mx := maxOf(x)
	var sum float64
	for i, v := range x {
		e := float32(math.Exp(float64(v - mx)))
		x[i] = e
		sum += float64(e)
	}
	scaleBy(x, float32(1/sum))
}

func maxOf(x []float32) float32 {
	mx := x[0]
	for _, v := range x[1:] {
		if v > mx {
			mx = v
		}
	}
	return mx
}

func scaleBy(x []float32, s float32) {
	for i := range x {
		x[i] *= s
	}
}

// RopeNeoX rotates one head vector in place with the NeoX ("rotate_half")
// pairing: element i pairs with i+d/2. cos and sin hold d/2 values.
func RopeNeoX(x, cos, sin []float32) {
	h := len(x) / 2
	_ = cos[:h]
	_ = sin[:h]
	ropeNeoX(x, cos, sin)
}

// ropeNeoXGeneric rounds each product (the conversions forbid fusing them
// into a multiply-add), so every level computes the same bits.
func ropeNeoXGeneric(x, cos, sin []float32) { ropePairs(x, cos, sin, 0) }

// ropePairs rotates the pairs (x[i], x[i+h]) for from <= i < h = len(x)/2.
func ropePairs(x, cos, sin []float32, from int) {
	h := len(x) / 2
	for i := from; i < h; i++ {
		x0, x1 := x[i], x[i+h]
		x[i] = float32(x0*cos[i]) - float32(x1*sin[i])
		x[i+h] = float32(x0*sin[i]) + float32(x1*cos[i])
	}
}

// weightedSumGeneric is the reference of WeightedSum: each column sums
// its terms in order of j.
func weightedSumGeneric(dst, w, src []float32, stride int) {
	clear(dst)
	weightedSumAdd(dst, w, src, stride)
}

// weightedSumAdd adds Σ_j w[j]·src[j*stride+i] to dst[i], in order of j.
func weightedSumAdd(dst, w, src []float32, stride int) {
	for j, a := range w {
		Axpy(dst, a, src[j*stride:j*stride+len(dst)])
	}
}

// weightedSumsGeneric adds Σ_j w[g*wStride+j]·src[j*stride+i] to
// dst[g*dstStride+i] for i < cols, j < rows and g < heads, each column in
// order of j: from zeroed outputs, WeightedSum's results head by head.
func weightedSumsGeneric(dst []float32, dstStride, cols int, w []float32, wStride, rows, heads int, src []float32, stride int) {
	for g := range heads {
		weightedSumAdd(dst[g*dstStride:g*dstStride+cols], w[g*wStride:g*wStride+rows], src, stride)
	}
}

// Axpy adds a·x to y.
func Axpy(y []float32, a float32, x []float32) {
	for i, v := range x {
		y[i] += a * v
	}
}
