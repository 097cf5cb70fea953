package quant

import (
	"encoding/binary"
	"fmt"
	"math"

	"github.com/bitnet-go/bitnet/internal/kernels"
)

// Block quantisers for the embedding/lm_head matrix. They follow ggml's
// reference (non-SIMD, no importance matrix) quantisers step by step, in
// float32 and in the same order, because a converter is only trustworthy
// if its output can be compared byte for byte with llama-quantize's.

const (
	q8_0Block = 32
	q8_0Bytes = 34 // d f16, qs[32] int8
	qkK       = 256
	q6KBytes  = 210 // ql[128], qh[64], scales[16] int8, d f16
	// groupMaxEps is ggml's threshold below which a group counts as all
	// zero; using the same value keeps near-zero rows identical too.
	groupMaxEps = 1e-15
)

// RowBytesQ8_0 returns the bytes of a Q8_0 row of n values (n % 32 == 0).
func RowBytesQ8_0(n int) int { return n / q8_0Block * q8_0Bytes }

// RowBytesQ6K returns the bytes of a Q6_K row of n values (n % 256 == 0).
func RowBytesQ6K(n int) int { return n / qkK * q6KBytes }

// QuantizeRowQ8_0 writes x as Q8_0 blocks into dst, like ggml's
// quantize_row_q8_0_ref: per 32 values d = amax/127 and q = round(x/d),
// with round half away from zero (C's roundf, not Go's RoundToEven).
func QuantizeRowQ8_0(dst []byte, x []float32) error {
	if len(x)%q8_0Block != 0 {
		return fmt.Errorf("q8_0: row length %d is not a multiple of %d", len(x), q8_0Block)
	}
	if len(dst) != RowBytesQ8_0(len(x)) {
		return fmt.Errorf("q8_0: %d bytes for a row of %d values, want %d", len(dst), len(x), RowBytesQ8_0(len(x)))
	}
	for b := 0; b < len(x)/q8_0Block; b++ {
		xs := x[b*q8_0Block : (b+1)*q8_0Block]
		blk := dst[b*q8_0Bytes : (b+1)*q8_0Bytes]
		var amax float32
		for _, v := range xs {
			amax = max(amax, float32(math.Abs(float64(v))))
		}
		d := amax / 127
		var id float32
		if d != 0 {
			id = 1 / d
		}
		binary.LittleEndian.PutUint16(blk, kernels.F32ToF16(d))
		for j, v := range xs {
			blk[2+j] = byte(int8(math.Round(float64(v * id))))
		}
	}
	return nil
}

// nearestInt is ggml's nearest_int: adding 1.5·2²³ makes the FPU round to
// an integer, i.e. round half to even, in float32.
func nearestInt(f float32) int {
	return int(math.RoundToEven(float64(f)))
}

// QuantizeRowQ6K writes x as Q6_K super-blocks into dst, like ggml's
// quantize_row_q6_K_ref: each 16-value group gets a scale from
// makeQXQuants, the 16 scales are quantised to int8 against one f16 super
// scale, and the values are requantised against the rounded scales.
func QuantizeRowQ6K(dst []byte, x []float32) error {
	if len(x)%qkK != 0 {
		return fmt.Errorf("q6_k: row length %d is not a multiple of %d", len(x), qkK)
	}
	if len(dst) != RowBytesQ6K(len(x)) {
		return fmt.Errorf("q6_k: %d bytes for a row of %d values, want %d", len(dst), len(x), RowBytesQ6K(len(x)))
	}
	var (
		L      [qkK]int8
		scales [qkK / 16]float32
	)
	for b := 0; b < len(x)/qkK; b++ {
		xs := x[b*qkK : (b+1)*qkK]
		blk := dst[b*q6KBytes : (b+1)*q6KBytes]
		var maxScale, maxAbsScale float32
		for ib := range scales {
			s := makeQXQuants(32, xs[16*ib:16*ib+16], L[16*ib:16*ib+16])
			scales[ib] = s
			if a := float32(math.Abs(float64(s))); a > maxAbsScale {
				maxAbsScale = a
				maxScale = s
			}
		}
		if maxAbsScale < groupMaxEps {
			clear(blk)
			continue
		}
		iscale := -128 / maxScale
		dh := kernels.F32ToF16(1 / iscale)
		binary.LittleEndian.PutUint16(blk[208:], dh)
		sc := blk[192:208]
		for ib, s := range scales {
			sc[ib] = byte(int8(min(127, nearestInt(iscale*s))))
		}
		dsuper := kernels.F16ToF32(dh)
		for j := range scales {
			d := dsuper * float32(int8(sc[j]))
			// A zero scale keeps makeQXQuants's codes, as ggml does; they
			// decode to 0 either way but the bytes must match.
			if d == 0 {
				continue
			}
			for ii := 0; ii < 16; ii++ {
				l := nearestInt(xs[16*j+ii] / d)
				L[16*j+ii] = int8(max(-32, min(31, l)) + 32)
			}
		}
		ql, qh := blk[0:128], blk[128:192]
		for j := 0; j < qkK; j += 128 {
			for l := 0; l < 32; l++ {
				q1 := byte(L[j+l]) & 0xf
				q2 := byte(L[j+l+32]) & 0xf
				q3 := byte(L[j+l+64]) & 0xf
				q4 := byte(L[j+l+96]) & 0xf
				ql[l] = q1 | q3<<4
				ql[l+32] = q2 | q4<<4
				qh[l] = byte(L[j+l])>>4 | byte(L[j+l+32])>>4<<2 | byte(L[j+l+64])>>4<<4 | byte(L[j+l+96])>>4<<6
			}
			ql = ql[64:]
			qh = qh[32:]
		}
	}
	return nil
}

// makeQXQuants is ggml's make_qx_quants with rmse_type 1 and no importance
// weights (what Q6_K uses): quantise x to [-nmax, nmax-1] with the scale
// -nmax/max, then try 18 nearby scales and keep the one that minimises the
// x²-weighted squared error, refitting the scale by least squares. It
// stores codes offset by nmax in L and returns the scale.
//
// Every product is converted to float32 explicitly so that the Go compiler
// cannot fuse it into an FMA on the architectures where it would, which
// would change the rare near-tie decisions.
func makeQXQuants(nmax int, x []float32, L []int8) float32 {
	var maxv, amax float32
	for _, v := range x {
		if a := float32(math.Abs(float64(v))); a > amax {
			amax = a
			maxv = v
		}
	}
	if amax < groupMaxEps {
		for i := range L {
			L[i] = 0
		}
		return 0
	}
	fnmax := float32(nmax)
	quant := func(iscale float32) (sumlx, suml2 float32) {
		for _, v := range x {
			l := max(-nmax, min(nmax-1, nearestInt(iscale*v)))
			fl := float32(l)
			w := float32(v * v)
			sumlx += float32(float32(w*v) * fl)
			suml2 += float32(float32(w*fl) * fl)
		}
		return sumlx, suml2
	}
	store := func(iscale float32) {
		for i, v := range x {
			l := max(-nmax, min(nmax-1, nearestInt(iscale*v)))
			L[i] = int8(l + nmax)
		}
	}
	iscale := -fnmax / maxv
	sumlx, suml2 := quant(iscale)
	store(iscale)
	var scale float32
	if suml2 != 0 {
		scale = sumlx / suml2
	}
	best := scale * sumlx
	for is := -9; is <= 9; is++ {
		if is == 0 {
			continue
		}
		iscale = -(fnmax + float32(0.1)*float32(is)) / maxv
		sumlx, suml2 = quant(iscale)
		if suml2 > 0 && float32(sumlx*sumlx) > float32(best*suml2) {
			store(iscale)
			scale = sumlx / suml2
			best = scale * sumlx
		}
	}
	return scale
}
