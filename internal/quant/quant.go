// Package quant converts weights between the storage formats of BitNet
// checkpoints (HF packed uint8, float master weights, GGUF I2_S, TQ1_0, TQ2_0)
// and the I2_S row layout the kernels use (see package kernels).
package quant

import (
	"encoding/binary"
	"fmt"
	"math"

	"github.com/bitnet-go/bitnet/internal/arena"
	"github.com/bitnet-go/bitnet/internal/kernels"
)

// Ternary is a ternary matrix in kernel layout: Rows rows of K weights, each
// row padded to a whole number of 128-weight blocks (Stride bytes), and one
// per-tensor scale that multiplies.
type Ternary struct {
	Rows, K int
	Stride  int
	Data    []byte
	Scale   float32
}

// NewTernary allocates a zeroed-weight (code 1) matrix in mem (nil: the Go
// heap).
func NewTernary(mem *arena.Arena, rows, k int) *Ternary {
	t := &Ternary{Rows: rows, K: k, Stride: kernels.RowBytes(k)}
	t.Data = mem.Alloc(rows * t.Stride)
	for i := range t.Data {
		t.Data[i] = 0x55 // four codes of 1: weight 0
	}
	return t
}

// Set stores ternary value v ∈ {-1,0,1} at (r, c).
func (t *Ternary) Set(r, c int, v int8) {
	b := r*t.Stride + c/128*32 + c%32
	shift := 6 - 2*uint((c%128)/32)
	t.Data[b] = t.Data[b]&^(3<<shift) | byte(v+1)<<shift
}

// Get returns the ternary value at (r, c).
func (t *Ternary) Get(r, c int) int8 {
	b := r*t.Stride + c/128*32 + c%32
	shift := 6 - 2*uint((c%128)/32)
	return int8((t.Data[b]>>shift)&3) - 1
}

// Bytes returns the memory the codes occupy.
func (t *Ternary) Bytes() int64 { return int64(len(t.Data)) }

// FromHFPacked unpacks transformers' packed layout: uint8 [rows/4, k] where
// bit-plane i (bits 2i..2i+1, LSB first) of byte (r, c) holds row i·rows/4+r.
func FromHFPacked(mem *arena.Arena, packed []byte, rows, k int, scale float32) (*Ternary, error) {
	if rows%4 != 0 {
		return nil, fmt.Errorf("packed ternary: %d rows is not a multiple of 4", rows)
	}
	r4 := rows / 4
	if len(packed) != r4*k {
		return nil, fmt.Errorf("packed ternary: %d bytes, want %d×%d", len(packed), r4, k)
	}
	t := NewTernary(mem, rows, k)
	for r := 0; r < r4; r++ {
		src := packed[r*k : (r+1)*k]
		for i := 0; i < 4; i++ {
			row := i*r4 + r
			for c, b := range src {
				code := (b >> (2 * uint(i))) & 3
				if code == 3 {
					return nil, fmt.Errorf("packed ternary: invalid code 3 at row %d, column %d", row, c)
				}
				t.Set(row, c, int8(code)-1)
			}
		}
	}
	t.Scale = scale
	return t, nil
}

// FromFloat ternarises a float matrix [rows, k]. Values already of the form
// {-a, 0, +a} (a float export of a ternary model) keep a as their scale;
// anything else is quantised with BitNet's per-tensor absmean rule,
// W_q = clamp(round(W / mean|W|), -1, 1) with scale mean|W|. Re-applying
// absmean to ternary data would rescale it by the fraction of non-zeros,
// which is the converter bug the golden data documents.
func FromFloat(mem *arena.Arena, w []float32, rows, k int) (*Ternary, error) {
	if len(w) != rows*k {
		return nil, fmt.Errorf("float weight: %d values, want %d×%d", len(w), rows, k)
	}
	t := NewTernary(mem, rows, k)
	if a, ok := ternaryLevel(w); ok {
		for r := 0; r < rows; r++ {
			for c := 0; c < k; c++ {
				switch v := w[r*k+c]; {
				case v > 0:
					t.Set(r, c, 1)
				case v < 0:
					t.Set(r, c, -1)
				}
			}
		}
		t.Scale = a
		return t, nil
	}
	var sum float64
	for _, v := range w {
		sum += math.Abs(float64(v))
	}
	mean := float32(sum / float64(len(w)))
	if mean < 1e-5 {
		mean = 1e-5
	}
	for r := 0; r < rows; r++ {
		for c := 0; c < k; c++ {
			q := math.RoundToEven(float64(w[r*k+c] / mean))
			q = max(-1, min(1, q))
			if q != 0 {
				t.Set(r, c, int8(q))
			}
		}
	}
	t.Scale = mean
	return t, nil
}

// ternaryLevel reports whether every value is 0 or ±a for one a > 0.
func ternaryLevel(w []float32) (float32, bool) {
	var a float32
	for _, v := range w {
		if v == 0 {
			continue
		}
		m := float32(math.Abs(float64(v)))
		if a == 0 {
			a = m
		} else if m != a {
			return 0, false
		}
	}
	return a, a > 0
}

// FromI2S wraps bitnet.cpp I2_S tensor data ([rows, k], k a multiple of 128):
// the codes are used in place and the float32 scale at byte rows·k/4 read.
func FromI2S(data []byte, rows, k int) (*Ternary, error) {
	if k%128 != 0 {
		return nil, fmt.Errorf("I2_S tensor: row length %d is not a multiple of 128", k)
	}
	n := rows * k / 4
	if len(data) < n+4 {
		return nil, fmt.Errorf("I2_S tensor: %d bytes, want at least %d", len(data), n+4)
	}
	scale := math.Float32frombits(binary.LittleEndian.Uint32(data[n:]))
	if math.IsNaN(float64(scale)) || math.IsInf(float64(scale), 0) {
		return nil, fmt.Errorf("I2_S tensor: scale is %v", scale)
	}
	for _, b := range data[:n] {
		if b&0xaa&(b<<1) != 0 { // a code of 3 in any of the four slots
			return nil, fmt.Errorf("I2_S tensor: invalid code 3")
		}
	}
	return &Ternary{Rows: rows, K: k, Stride: k / 4, Data: data[:n:n], Scale: scale}, nil
}

// ToI2S serialises t as bitnet.cpp I2_S tensor data (codes, scale, padding).
func (t *Ternary) ToI2S() ([]byte, error) {
	if t.K%128 != 0 {
		return nil, fmt.Errorf("I2_S needs rows whose length is a multiple of 128; this tensor has %d", t.K)
	}
	n := t.Rows * t.K / 4
	out := make([]byte, n+32)
	copy(out, t.Data[:n])
	binary.LittleEndian.PutUint32(out[n:], math.Float32bits(t.Scale))
	return out, nil
}

// Dequantize expands row r to floats (tests and converters).
func (t *Ternary) Dequantize(r int, dst []float32) {
	for c := 0; c < t.K; c++ {
		dst[c] = float32(t.Get(r, c)) * t.Scale
	}
}
