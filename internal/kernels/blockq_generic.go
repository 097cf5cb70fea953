package kernels

// ggml's block formats for the embedding/lm_head matrix. A Q8_0 block is an
// f16 scale d and 32 int8 values q, weight d·q. A Q6_K super-block of 256
// weights is ql[128] (low four bits), qh[64] (high two bits), 16 int8 group
// scales and an f16 d; weight j of 16-value group g is d·scale[g]·(q_j-32),
// with q_j's bits where dequantQ6K reads them.
const (
	Q8_0BlockWeights = 32
	Q8_0BlockBytes   = 34
	Q6KBlockWeights  = 256
	Q6KBlockBytes    = 210
)

// GemvQ8_0 computes dst[r] = Σ_j w[r,j]·x[j] for r < len(dst), where data
// holds len(dst) Q8_0 rows of rowBytes bytes (a multiple of 34) and x at
// least rowBytes/34·32 values. A row's result does not depend on which rows
// the caller passes with it.
func GemvQ8_0(dst []float32, data []byte, rowBytes int, x []float32) {
	gemvQ8_0(dst, data, rowBytes, x)
}

// GemvQ6K is GemvQ8_0 for Q6_K rows (rowBytes a multiple of 210, x at
// least rowBytes/210·256 values).
func GemvQ6K(dst []float32, data []byte, rowBytes int, x []float32) {
	gemvQ6K(dst, data, rowBytes, x)
}

func checkBlockRows(n, rowBytes, blockBytes int, data []byte) {
	if rowBytes%blockBytes != 0 {
		panic("kernels: block-quantised row length is not a whole number of blocks")
	}
	if n > 0 {
		_ = data[n*rowBytes-1]
	}
}

// gemvQ8_0Generic dequantises each weight to float32 (d·q, exact) and sums
// the products in index order: what a Row() into a buffer followed by
// DotF32 at the generic level gives.
func gemvQ8_0Generic(dst []float32, data []byte, rowBytes int, x []float32) {
	checkBlockRows(len(dst), rowBytes, Q8_0BlockBytes, data)
	nb := rowBytes / Q8_0BlockBytes
	x = x[:nb*Q8_0BlockWeights]
	for r := range dst {
		row := data[r*rowBytes : (r+1)*rowBytes]
		var acc float32
		for b := 0; b < nb; b++ {
			blk := row[b*Q8_0BlockBytes : (b+1)*Q8_0BlockBytes]
			d := F16ToF32(uint16(blk[0]) | uint16(blk[1])<<8)
			xb := x[b*Q8_0BlockWeights : (b+1)*Q8_0BlockWeights]
			for j, v := range blk[2:] {
				acc += d * float32(int8(v)) * xb[j]
			}
		}
		dst[r] = acc
	}
}

// dequantQ6K writes the 256 weights of one Q6_K super-block like ggml's
// dequantize_row_q6_K: (d·scale)·(q-32), rounded to float32.
func dequantQ6K(blk []byte, y *[Q6KBlockWeights]float32) {
	d := F16ToF32(uint16(blk[208]) | uint16(blk[209])<<8)
	for h := 0; h < 2; h++ {
		ql, qh, sc := blk[64*h:64*h+64], blk[128+32*h:160+32*h], blk[192+8*h:200+8*h]
		o := 128 * h
		for l := 0; l < 32; l++ {
			is := l / 16
			q1 := int8(ql[l]&0xf|(qh[l]&3)<<4) - 32
			q2 := int8(ql[l+32]&0xf|(qh[l]>>2&3)<<4) - 32
			q3 := int8(ql[l]>>4|(qh[l]>>4&3)<<4) - 32
			q4 := int8(ql[l+32]>>4|(qh[l]>>6&3)<<4) - 32
			y[o+l] = d * float32(int8(sc[is])) * float32(q1)
			y[o+l+32] = d * float32(int8(sc[is+2])) * float32(q2)
			y[o+l+64] = d * float32(int8(sc[is+4])) * float32(q3)
			y[o+l+96] = d * float32(int8(sc[is+6])) * float32(q4)
		}
	}
}

// gemvQ6KGeneric dequantises a super-block at a time and sums the products
// in index order, like a Row() into a buffer followed by DotF32 at the
// generic level.
func gemvQ6KGeneric(dst []float32, data []byte, rowBytes int, x []float32) {
	checkBlockRows(len(dst), rowBytes, Q6KBlockBytes, data)
	nb := rowBytes / Q6KBlockBytes
	x = x[:nb*Q6KBlockWeights]
	var w [Q6KBlockWeights]float32
	for r := range dst {
		row := data[r*rowBytes : (r+1)*rowBytes]
		var acc float32
		for b := 0; b < nb; b++ {
			dequantQ6K(row[b*Q6KBlockBytes:(b+1)*Q6KBlockBytes], &w)
			for j, v := range x[b*Q6KBlockWeights : (b+1)*Q6KBlockWeights] {
				acc += w[j] * v
			}
		}
		dst[r] = acc
	}
}

// gemvQ8_0ViaDot and gemvQ6KViaDot serve levels without block-quantised
// kernels but with a vector DotF32 (NEON): 256 weights at a time are
// dequantised into a stack buffer and summed by dotF32, and the partial
// sums are added in order.
func gemvQ8_0ViaDot(dst []float32, data []byte, rowBytes int, x []float32) {
	checkBlockRows(len(dst), rowBytes, Q8_0BlockBytes, data)
	nb := rowBytes / Q8_0BlockBytes
	x = x[:nb*Q8_0BlockWeights]
	const per = 8 // blocks per buffer
	var w [per * Q8_0BlockWeights]float32
	for r := range dst {
		row := data[r*rowBytes : (r+1)*rowBytes]
		var acc float32
		for b0 := 0; b0 < nb; b0 += per {
			n := min(per, nb-b0)
			for b := 0; b < n; b++ {
				blk := row[(b0+b)*Q8_0BlockBytes : (b0+b+1)*Q8_0BlockBytes]
				d := F16ToF32(uint16(blk[0]) | uint16(blk[1])<<8)
				for j, v := range blk[2:] {
					w[b*Q8_0BlockWeights+j] = d * float32(int8(v))
				}
			}
			acc += dotF32(w[:n*Q8_0BlockWeights], x[b0*Q8_0BlockWeights:(b0+n)*Q8_0BlockWeights])
		}
		dst[r] = acc
	}
}

func gemvQ6KViaDot(dst []float32, data []byte, rowBytes int, x []float32) {
	checkBlockRows(len(dst), rowBytes, Q6KBlockBytes, data)
	nb := rowBytes / Q6KBlockBytes
	x = x[:nb*Q6KBlockWeights]
	var w [Q6KBlockWeights]float32
	for r := range dst {
		row := data[r*rowBytes : (r+1)*rowBytes]
		var acc float32
		for b := 0; b < nb; b++ {
			dequantQ6K(row[b*Q6KBlockBytes:(b+1)*Q6KBlockBytes], &w)
			acc += dotF32(w[:], x[b*Q6KBlockWeights:(b+1)*Q6KBlockWeights])
		}
		dst[r] = acc
	}
}
