package quant

import (
	"encoding/binary"
	"fmt"

	"github.com/bitnet-go/bitnet/internal/arena"
	"github.com/bitnet-go/bitnet/internal/kernels"
)

// llama.cpp's ternary block formats, 256 weights per block.
const (
	tq2Bytes = 66 // qs[64], d f16
	tq1Bytes = 54 // qs[48], qh[4], d f16
)

// FromTQ2 decodes TQ2_0 data [rows, k] into kernel layout. TQ stores one
// f16 scale per 256 weights; a BitNet tensor has one scale, so every block
// that holds a non-zero weight must carry the same scale.
func FromTQ2(mem *arena.Arena, data []byte, rows, k int) (*Ternary, error) {
	return fromTQ(mem, data, rows, k, tq2Bytes, func(blk []byte, out *[256]int8) {
		for j := 0; j < 2; j++ {
			for l := 0; l < 4; l++ {
				for m := 0; m < 32; m++ {
					out[j*128+l*32+m] = int8((blk[j*32+m]>>(2*uint(l)))&3) - 1
				}
			}
		}
	})
}

var pow3 = [5]uint8{1, 3, 9, 27, 81}

func trit(q uint8, n int) int8 {
	t := q * pow3[n]
	return int8((uint16(t)*3)>>8) - 1
}

// FromTQ1 decodes TQ1_0 (base-3, five weights a byte) into kernel layout.
func FromTQ1(mem *arena.Arena, data []byte, rows, k int) (*Ternary, error) {
	return fromTQ(mem, data, rows, k, tq1Bytes, func(blk []byte, out *[256]int8) {
		i := 0
		for n := 0; n < 5; n++ {
			for m := 0; m < 32; m++ {
				out[i] = trit(blk[m], n)
				i++
			}
		}
		for n := 0; n < 5; n++ {
			for m := 0; m < 16; m++ {
				out[i] = trit(blk[32+m], n)
				i++
			}
		}
		for n := 0; n < 4; n++ {
			for j := 0; j < 4; j++ {
				out[i] = trit(blk[48+j], n)
				i++
			}
		}
	})
}

func fromTQ(mem *arena.Arena, data []byte, rows, k, blockBytes int, decode func([]byte, *[256]int8)) (*Ternary, error) {
	if k%256 != 0 {
		return nil, fmt.Errorf("ternary block tensor: row length %d is not a multiple of 256", k)
	}
	nb := k / 256
	if len(data) != rows*nb*blockBytes {
		return nil, fmt.Errorf("ternary block tensor: %d bytes, want %d", len(data), rows*nb*blockBytes)
	}
	t := NewTernary(mem, rows, k)
	var scale float32
	var w [256]int8
	for r := 0; r < rows; r++ {
		for b := 0; b < nb; b++ {
			blk := data[(r*nb+b)*blockBytes : (r*nb+b+1)*blockBytes]
			decode(blk, &w)
			d := kernels.F16ToF32(binary.LittleEndian.Uint16(blk[blockBytes-2:]))
			nonzero := false
			for c, v := range w {
				if v < -1 || v > 1 {
					return nil, fmt.Errorf("ternary block tensor: invalid weight code at row %d", r)
				}
				if v != 0 {
					nonzero = true
					t.Set(r, b*256+c, v)
				}
			}
			if !nonzero || d == 0 {
				continue
			}
			if scale == 0 {
				scale = d
			} else if d != scale {
				return nil, fmt.Errorf("ternary block tensor: block scales differ (%g at row %d vs %g); only per-tensor-scaled BitNet weights are supported", d, r, scale)
			}
		}
	}
	t.Scale = scale
	return t, nil
}

// ToTQ2 serialises t as TQ2_0 with every block scaled by t.Scale (f16).
func (t *Ternary) ToTQ2() ([]byte, error) {
	if t.K%256 != 0 {
		return nil, fmt.Errorf("TQ2_0 needs rows whose length is a multiple of 256; this tensor has %d", t.K)
	}
	nb := t.K / 256
	out := make([]byte, t.Rows*nb*tq2Bytes)
	d := kernels.F32ToF16(t.Scale)
	for r := 0; r < t.Rows; r++ {
		for b := 0; b < nb; b++ {
			blk := out[(r*nb+b)*tq2Bytes:]
			for j := 0; j < 2; j++ {
				for l := 0; l < 4; l++ {
					for m := 0; m < 32; m++ {
						code := byte(t.Get(r, b*256+j*128+l*32+m) + 1)
						blk[j*32+m] |= code << (2 * uint(l))
					}
				}
			}
			binary.LittleEndian.PutUint16(blk[64:], d)
		}
	}
	return out, nil
}

// ToTQ1 serialises t as TQ1_0 with every block scaled by t.Scale (f16).
func (t *Ternary) ToTQ1() ([]byte, error) {
	if t.K%256 != 0 {
		return nil, fmt.Errorf("TQ1_0 needs rows whose length is a multiple of 256; this tensor has %d", t.K)
	}
	nb := t.K / 256
	out := make([]byte, t.Rows*nb*tq1Bytes)
	d := kernels.F32ToF16(t.Scale)
	pack := func(vals []int8) byte {
		var q int
		for _, v := range vals {
			q = q*3 + int(v+1)
		}
		for i := len(vals); i < 5; i++ {
			q *= 3
		}
		// ceil(q·256/243) turns base-3 fixed point into the byte the
		// multiply-and-shift decoder expects.
		return byte((q*256 + 242) / 243)
	}
	var w [256]int8
	for r := 0; r < t.Rows; r++ {
		for b := 0; b < nb; b++ {
			for c := range w {
				w[c] = t.Get(r, b*256+c)
			}
			blk := out[(r*nb+b)*tq1Bytes:]
			var v [5]int8
			for m := 0; m < 32; m++ {
				for n := 0; n < 5; n++ {
					v[n] = w[n*32+m]
				}
				blk[m] = pack(v[:])
			}
			for m := 0; m < 16; m++ {
				for n := 0; n < 5; n++ {
					v[n] = w[160+n*16+m]
				}
				blk[32+m] = pack(v[:])
			}
			for j := 0; j < 4; j++ {
				for n := 0; n < 4; n++ {
					v[n] = w[240+n*4+j]
				}
				blk[48+j] = pack(v[:4])
			}
			binary.LittleEndian.PutUint16(blk[52:], d)
		}
	}
	return out, nil
}
