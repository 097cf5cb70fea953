package kernels

// BlockWeights is the number of weights in one I2_S block, BlockBytes its size.
const (
	BlockWeights = 128
	BlockBytes   = 32
)

// PaddedK returns K rounded up to a whole number of blocks.
func PaddedK(k int) int { return (k + BlockWeights - 1) / BlockWeights * BlockWeights }

// RowBytes returns the bytes one I2_S row of k weights occupies.
func RowBytes(k int) int { return PaddedK(k) / 4 }

// dotI2SGeneric returns Σ code_j·x_j over the len(x)/128 blocks of w, where
// code_j ∈ {0,1,2} is the raw 2-bit code (not the ternary value). Callers
// subtract Σ x_j to get Σ w_j·x_j; keeping the codes unsigned is what lets
// SIMD kernels use unsigned×signed byte multiplies.
func dotI2SGeneric(w []byte, x []int8) int32 {
	nb := len(x) / BlockWeights
	w = w[:nb*BlockBytes]
	var acc int32
	for b := 0; b < nb; b++ {
		wb := w[b*BlockBytes : b*BlockBytes+BlockBytes]
		xb := x[b*BlockWeights : b*BlockWeights+BlockWeights]
		var s int32
		for p := 0; p < BlockBytes; p++ {
			c := wb[p]
			s += int32(c>>6) * int32(xb[p])
			s += int32((c>>4)&3) * int32(xb[32+p])
			s += int32((c>>2)&3) * int32(xb[64+p])
			s += int32(c&3) * int32(xb[96+p])
		}
		acc += s
	}
	return acc
}

// dotI2SFloatGeneric returns Σ w_j·x_j with ternary w_j and float x; it is the
// float-activation path used to check model structure without int8 noise.
func dotI2SFloatGeneric(w []byte, x []float32) float32 {
	nb := len(x) / BlockWeights
	var acc float32
	for b := 0; b < nb; b++ {
		wb := w[b*BlockBytes : b*BlockBytes+BlockBytes]
		xb := x[b*BlockWeights : b*BlockWeights+BlockWeights]
		for g := 0; g < 4; g++ {
			shift := 6 - 2*uint(g)
			for p := 0; p < BlockBytes; p++ {
				switch (wb[p] >> shift) & 3 {
				case 0:
					acc -= xb[g*32+p]
				case 2:
					acc += xb[g*32+p]
				}
			}
		}
	}
	return acc
}

// gemmI2SGeneric computes, for every activation row i and weight row r,
// dst[i*ldd+r] = (dot(w_r, x_i) - sums[i]) / scales[i] * wscale.
// w holds len(dst row range) rows of stride bytes; x holds n rows of ldx int8.
func gemmI2SGeneric(dst []float32, ldd int, w []byte, stride, rows int, x []int8, ldx int, n int, sums []int32, scales []float32, wscale float32) {
	kp := stride * 4
	for i := 0; i < n; i++ {
		xi := x[i*ldx : i*ldx+kp]
		sum := float32(sums[i])
		sc := scales[i]
		d := dst[i*ldd : i*ldd+rows]
		for r := 0; r < rows; r++ {
			acc := dotI2SGeneric(w[r*stride:(r+1)*stride], xi)
			d[r] = (float32(acc) - sum) / sc * wscale
		}
	}
}
