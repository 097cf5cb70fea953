package kernels

import "math"

// quantizeRowGeneric quantises x per token exactly as BitNet b1.58 does:
// s = 127/max(max|x|, 1e-5), q = clamp(roundHalfEven(x·s), -128, 127).
// q must hold at least len(x) values; q[len(x):] is zeroed so that padded
// blocks contribute nothing. It returns s and Σq.
func quantizeRowGeneric(q []int8, x []float32) (scale float32, sum int32) {
	s := quantScale(absMaxGeneric(0, x))
	sum = quantizeGeneric(q[:len(x)], x, s)
	clear(q[len(x):])
	return s, sum
}

// absMaxGeneric returns the largest of mx and the |x_i|. NaNs are skipped.
func absMaxGeneric(mx float32, x []float32) float32 {
	for _, v := range x {
		if a := float32(math.Abs(float64(v))); a > mx {
			mx = a
		}
	}
	return mx
}

// quantScale turns max|x| into the quantisation scale 127/max(mx, 1e-5).
func quantScale(mx float32) float32 {
	if mx < 1e-5 {
		mx = 1e-5
	}
	return 127 / mx
}

// quantizeGeneric writes q_i = clamp(roundHalfEven(x_i·s)) and returns Σq.
// The product is rounded to float32 before the rounding to integer, which
// is what the SIMD versions (one VMULPS/FMUL, then a convert) do.
func quantizeGeneric(q []int8, x []float32, s float32) (sum int32) {
	for i, v := range x {
		r := math.RoundToEven(float64(v * s))
		if r > 127 {
			r = 127
		} else if r < -128 {
			r = -128
		}
		q[i] = int8(r)
		sum += int32(r)
	}
	return sum
}
