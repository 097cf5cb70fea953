package kernels

import "math"

// quantizeRowGeneric quantises x per token exactly as BitNet b1.58 does:
// s = 127/max(max|x|, 1e-5), q = clamp(roundHalfEven(x·s), -128, 127).
// q must hold at least len(x) values; q[len(x):] is zeroed so that padded
// blocks contribute nothing. It returns s and Σq.
func quantizeRowGeneric(q []int8, x []float32) (scale float32, sum int32) {
	var mx float32
	for _, v := range x {
		if a := float32(math.Abs(float64(v))); a > mx {
			mx = a
		}
	}
	if mx < 1e-5 {
		mx = 1e-5
	}
	s := 127 / mx
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
	clear(q[len(x):])
	return s, sum
}
