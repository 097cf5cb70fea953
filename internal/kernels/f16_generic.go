package kernels

import "math"

// F16ToF32 converts an IEEE half-precision value to float32 exactly.
func F16ToF32(h uint16) float32 {
	sign := uint32(h>>15) << 31
	exp := uint32(h>>10) & 0x1f
	man := uint32(h) & 0x3ff
	switch {
	case exp == 0x1f: // inf or NaN
		return math.Float32frombits(sign | 0x7f800000 | man<<13)
	case exp != 0:
		return math.Float32frombits(sign | (exp+112)<<23 | man<<13)
	case man == 0:
		return math.Float32frombits(sign)
	}
	// subnormal: renormalise
	e := uint32(113)
	for man&0x400 == 0 {
		man <<= 1
		e--
	}
	return math.Float32frombits(sign | e<<23 | (man&0x3ff)<<13)
}

// F32ToF16 converts float32 to half precision, rounding to nearest even.
func F32ToF16(f float32) uint16 {
	b := math.Float32bits(f)
	sign := uint16(b>>16) & 0x8000
	exp := int32(b>>23) & 0xff
	man := b & 0x7fffff
	if exp == 0xff {
		if man != 0 {
			return sign | 0x7e00
		}
		return sign | 0x7c00
	}
	e := exp - 127 + 15
	if e >= 0x1f {
		return sign | 0x7c00
	}
	if e <= 0 {
		if e < -10 {
			return sign
		}
		man |= 0x800000
		shift := uint32(14 - e)
		half := uint32(1) << (shift - 1)
		r := man >> shift
		rem := man & (1<<shift - 1)
		if rem > half || (rem == half && r&1 == 1) {
			r++
		}
		return sign | uint16(r)
	}
	r := uint32(e)<<10 | man>>13
	rem := man & 0x1fff
	if rem > 0x1000 || (rem == 0x1000 && r&1 == 1) {
		r++
	}
	return sign | uint16(r)
}

// BF16ToF32 widens a bfloat16 value.
func BF16ToF32(h uint16) float32 { return math.Float32frombits(uint32(h) << 16) }

// F32ToBF16 rounds float32 to bfloat16, nearest even.
func F32ToBF16(f float32) uint16 {
	b := math.Float32bits(f)
	if b&0x7fffffff > 0x7f800000 {
		return uint16(b>>16) | 0x40
	}
	return uint16((b + 0x7fff + (b>>16)&1) >> 16)
}

func f16RowToF32Generic(dst []float32, src []uint16) {
	for i, h := range src {
		dst[i] = F16ToF32(h)
	}
}

func dotF16Generic(row []uint16, x []float32) float32 { return dotF16Tail(0, row, x) }

// dotF16Tail adds Σ row_i·x_i to acc in index order. The assembly wrappers
// finish their rows with it, so a row's tail is summed the same way whether
// the row went through DotF16 or GemvF16.
func dotF16Tail(acc float32, row []uint16, x []float32) float32 {
	for i, h := range row {
		acc += F16ToF32(h) * x[i]
	}
	return acc
}

func gemvF16Generic(dst []float32, rows []uint16, k int, x []float32) {
	for r := range dst {
		dst[r] = dotF16Generic(rows[r*k:(r+1)*k], x)
	}
}

func dotBF16Generic(row []uint16, x []float32) float32 {
	var acc float32
	for i, h := range row {
		acc += BF16ToF32(h) * x[i]
	}
	return acc
}

func dotF32Generic(a, b []float32) float32 { return dotF32Tail(0, a, b) }

// dotF32Tail adds Σ a_i·b_i to acc in index order: the whole generic dot
// product, and the tail that the vector kernels leave.
func dotF32Tail(acc float32, a, b []float32) float32 {
	for i, v := range a {
		acc += v * b[i]
	}
	return acc
}

// dotsF32Generic is DotsF32 and GroupDots through the level's DotF32, so
// that every level gives exactly its DotF32 results. heads queries of
// len(q)/heads values take each of rows key rows in turn; query g's
// scores go to dst[g*dstStride:].
func dotsF32Generic(dst, q, k []float32, stride, rows, heads, dstStride int) {
	n := len(q) / heads
	for j := range rows {
		row := k[j*stride : j*stride+n]
		for g := range heads {
			dst[g*dstStride+j] = dotF32(q[g*n:(g+1)*n], row)
		}
	}
}

// F32ToF16Row rounds src to half precision into dst, nearest even.
func F32ToF16Row(dst []uint16, src []float32) {
	_ = dst[:len(src)]
	for i, v := range src {
		dst[i] = F32ToF16(v)
	}
}
