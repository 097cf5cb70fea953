package kernels

import "math"

// ggml's block formats for the embedding/lm_head matrix. A Q8_0 block is an
// f16 scale d and 32 int8 values q, weight d·q. A Q6_K super-block of 256
// weights is ql[128] (low four bits), qh[64] (high two bits), 16 int8 group
// scales and an f16 d; weight j of 16-value group g is d·scale[g]·(q_j-32),
// with q_j's bits where q6KDotQ8K reads them.
const (
	Q8_0BlockWeights = 32
	Q8_0BlockBytes   = 34
	Q6KBlockWeights  = 256
	Q6KBlockBytes    = 210
)

// GemvQ8_0 computes dst[r] = Σ_j w[r,j]·x[j] for r < len(dst), where data
// holds len(dst) Q8_0 rows of rowBytes bytes (a multiple of 34) and x at
// least rowBytes/34·32 values, through QuantizeQ8 and GemvQ8_0Q8. Callers
// that multiply one x by many rows in several calls should quantise it once
// and call GemvQ8_0Q8.
func GemvQ8_0(dst []float32, data []byte, rowBytes int, x []float32) {
	var a Q8
	QuantizeQ8(&a, x[:rowBytes/Q8_0BlockBytes*Q8_0BlockWeights])
	GemvQ8_0Q8(dst, data, rowBytes, &a)
}

// Q8 is an activation vector quantised like ggml's Q8_0, for the Q8_0
// kernels: per 32 values a float scale D and the int8 values Q, in
// [-127, 127].
type Q8 struct {
	D []float32
	Q []int8
}

// QuantizeQ8 quantises x (a multiple of 32 values) into a, reusing its
// slices, with the rule of QuantizeQ8K applied to blocks of 32.
func QuantizeQ8(a *Q8, x []float32) { a.quantize(x, Q8_0BlockWeights) }

// quantize quantises x in blocks of bs values with quantizeQ8Block.
func (a *Q8) quantize(x []float32, bs int) {
	nb := len(x) / bs
	a.D = grow(a.D, nb)
	a.Q = grow(a.Q, nb*bs)
	for b := range nb {
		a.D[b] = quantizeQ8Block(a.Q[b*bs:(b+1)*bs], x[b*bs:(b+1)*bs])
	}
}

// GemvQ8_0Q8 computes dst[r] = Σ_b (d_b·a.D[b])·Σ_j q_j·a.Q[j] for len(dst)
// Q8_0 rows. The integer sums are exact; their float order is the vector
// kernels': lane l of block b (codes 4l..4l+3) is scaled and added to lane
// l of accumulator b%2, and the lanes are reduced as in BQ_REDUCE. So the
// results are bit-identical across levels and do not depend on the rows
// passed with a row, for activations in [-127, 127] as QuantizeQ8 makes
// them (the AVX2 kernel negates activations with VPSIGNB, which leaves
// -128 as it is).
func GemvQ8_0Q8(dst []float32, data []byte, rowBytes int, a *Q8) {
	checkBlockRows(len(dst), rowBytes, Q8_0BlockBytes, data)
	if nb := rowBytes / Q8_0BlockBytes; nb > 0 {
		_ = a.D[nb-1]
		_ = a.Q[nb*Q8_0BlockWeights-1]
	}
	gemvQ8_0Q8(dst, data, rowBytes, a)
}

// GemvQ6K computes dst[r] = Σ_j w[r,j]·x[j] for len(dst) Q6_K rows of
// rowBytes bytes (a multiple of 210) and x of at least rowBytes/210·256
// values, through QuantizeQ8K and GemvQ6KQ8K. Callers that multiply one x
// by many rows in several calls should quantise it once and call
// GemvQ6KQ8K.
func GemvQ6K(dst []float32, data []byte, rowBytes int, x []float32) {
	var a Q8K
	QuantizeQ8K(&a, x[:rowBytes/Q6KBlockBytes*Q6KBlockWeights])
	GemvQ6KQ8K(dst, data, rowBytes, &a)
}

// Q8K is an activation vector quantised like ggml's Q8_K, for the Q6_K
// kernels: per 256 values a float scale D, the int8 values Q (in
// [-127, 127]) and the sums of each 16 of them. As in ggml, the Q6_K dot
// product multiplies integers; the activation rounding adds at most
// D/2·Σ|w| per block to the float result.
type Q8K struct {
	Q8
	BSums []int16
}

// QuantizeQ8K quantises x (a multiple of 256 values) into a, reusing its
// slices. A block whose largest magnitude m is finite and positive gets
// D = m/127 and Q = round(x·127/m); a block of zeros gets D = 0; a block
// with an infinity or NaN gets D = m, so that the products come out NaN.
func QuantizeQ8K(a *Q8K, x []float32) {
	a.quantize(x, Q6KBlockWeights)
	a.BSums = grow(a.BSums, len(a.Q)/16)
	for g := range a.BSums {
		var s int16
		for _, v := range a.Q[16*g : 16*g+16] {
			s += int16(v)
		}
		a.BSums[g] = s
	}
}

// quantizeQ8Block quantises one block x into q and returns its scale: with
// m the largest magnitude, D = m/127 and q = round(x·127/m) when m is
// finite and positive; otherwise D = m and q = 0, so that a block of zeros
// gives D = 0 and one with an infinity or NaN gives products that are NaN.
func quantizeQ8Block(q []int8, x []float32) float32 {
	var m float32
	for _, v := range x {
		m = max(m, float32(math.Abs(float64(v))))
	}
	if !(m > 0 && m <= math.MaxFloat32) {
		clear(q)
		return m
	}
	inv := 127 / m
	for j, v := range x {
		q[j] = int8(max(-127, min(127, math.Round(float64(v*inv)))))
	}
	return m / 127
}

// GemvQ6KQ8K computes dst[r] = Σ_b (d_b·a.D[b])·Σ_j scale·(q_j-32)·a.Q[j]
// for len(dst) Q6_K rows: the integer sum of each super-block is exact,
// and the blocks are added in order with the same float operations at
// every level, so results are bit-identical across levels and do not
// depend on the rows passed with a row.
func GemvQ6KQ8K(dst []float32, data []byte, rowBytes int, a *Q8K) {
	checkBlockRows(len(dst), rowBytes, Q6KBlockBytes, data)
	nb := rowBytes / Q6KBlockBytes
	if len(a.D) < nb || len(a.Q) < nb*Q6KBlockWeights || len(a.BSums) < nb*16 {
		panic("kernels: Q8K activations shorter than the Q6_K rows")
	}
	gemvQ6KQ8K(dst, data, rowBytes, a)
}

// GemvQ6KQ8Kx2 is GemvQ6KQ8K for two activation vectors at once, d0 from
// a0 and d1 from a1: a batch's lm_head, which can then unpack each row
// once for both. The results are GemvQ6KQ8K's bit for bit.
func GemvQ6KQ8Kx2(d0, d1 []float32, data []byte, rowBytes int, a0, a1 *Q8K) {
	if len(d1) < len(d0) {
		panic("kernels: GemvQ6KQ8Kx2 d1 shorter than d0")
	}
	checkBlockRows(len(d0), rowBytes, Q6KBlockBytes, data)
	nb := rowBytes / Q6KBlockBytes
	for _, a := range []*Q8K{a0, a1} {
		if len(a.D) < nb || len(a.Q) < nb*Q6KBlockWeights || len(a.BSums) < nb*16 {
			panic("kernels: Q8K activations shorter than the Q6_K rows")
		}
	}
	if len(d0) == 0 {
		return
	}
	gemvQ6KQ8Kx2(d0, d1, data, rowBytes, a0, a1)
}

// gemvQ6KQ8Kx2ByOne is GemvQ6KQ8Kx2 at the levels without a two-vector
// kernel.
func gemvQ6KQ8Kx2ByOne(d0, d1 []float32, data []byte, rowBytes int, a0, a1 *Q8K) {
	gemvQ6KQ8K(d0, data, rowBytes, a0)
	gemvQ6KQ8K(d1, data, rowBytes, a1)
}

func grow[T any](s []T, n int) []T {
	if cap(s) < n {
		return make([]T, n)
	}
	return s[:n]
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
func gemvQ8_0Q8Generic(dst []float32, data []byte, rowBytes int, a *Q8) {
	nb := rowBytes / Q8_0BlockBytes
	for r := range dst {
		row := data[r*rowBytes : (r+1)*rowBytes]
		var acc [2][8]float32
		for b := 0; b < nb; b++ {
			blk := row[b*Q8_0BlockBytes : (b+1)*Q8_0BlockBytes]
			s := F16ToF32(uint16(blk[0])|uint16(blk[1])<<8) * a.D[b]
			q := a.Q[b*Q8_0BlockWeights : (b+1)*Q8_0BlockWeights]
			for l := range 8 {
				var sum int32
				for j := 4 * l; j < 4*l+4; j++ {
					sum += int32(int8(blk[2+j])) * int32(q[j])
				}
				// The conversion rounds the product, so no compiler may
				// fuse it into a multiply-add that the assembly does not do.
				acc[b&1][l] += float32(float32(sum) * s)
			}
		}
		var v [8]float32
		for l := range v {
			v[l] = acc[0][l] + acc[1][l]
		}
		dst[r] = ((v[0] + v[1]) + (v[2] + v[3])) + ((v[4] + v[5]) + (v[6] + v[7]))
	}
}

// q6KDotQ8K returns Σ_j scale·(q_j-32)·x_j over one super-block, exactly.
func q6KDotQ8K(blk []byte, x []int8) int32 {
	var sum int32
	for h := 0; h < 2; h++ {
		ql, qh, sc := blk[64*h:64*h+64], blk[128+32*h:160+32*h], blk[192+8*h:200+8*h]
		xh := x[128*h : 128*h+128]
		var part [8]int32 // per group of 16
		for l := 0; l < 32; l++ {
			is := l / 16
			part[is] += int32(int8(ql[l]&0xf|(qh[l]&3)<<4)-32) * int32(xh[l])
			part[is+2] += int32(int8(ql[l+32]&0xf|(qh[l]>>2&3)<<4)-32) * int32(xh[l+32])
			part[is+4] += int32(int8(ql[l]>>4|(qh[l]>>4&3)<<4)-32) * int32(xh[l+64])
			part[is+6] += int32(int8(ql[l+32]>>4|(qh[l]>>6&3)<<4)-32) * int32(xh[l+96])
		}
		for g, p := range part {
			sum += int32(int8(sc[g])) * p
		}
	}
	return sum
}

func gemvQ6KQ8KGeneric(dst []float32, data []byte, rowBytes int, a *Q8K) {
	nb := rowBytes / Q6KBlockBytes
	for r := range dst {
		row := data[r*rowBytes : (r+1)*rowBytes]
		var acc float32
		for b := 0; b < nb; b++ {
			blk := row[b*Q6KBlockBytes : (b+1)*Q6KBlockBytes]
			d := F16ToF32(uint16(blk[208]) | uint16(blk[209])<<8)
			// The conversions round each product, so no compiler may fuse
			// them into a multiply-add that the assembly does not do.
			s := float32(d * a.D[b])
			acc += float32(s * float32(q6KDotQ8K(blk, a.Q[b*Q6KBlockWeights:])))
		}
		dst[r] = acc
	}
}
