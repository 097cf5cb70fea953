package quant

import (
	"encoding/binary"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/bitnet-go/bitnet/internal/kernels"
)

func randomRow(r *rand.Rand, n int, std float64) []float32 {
	x := make([]float32, n)
	for i := range x {
		x[i] = float32(r.NormFloat64() * std)
	}
	return x
}

func TestQuantizeQ8_0RoundTrip(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	for _, std := range []float64{1e-3, 0.5, 30} {
		x := randomRow(r, 1024, std)
		x[5] = 0
		buf := make([]byte, RowBytesQ8_0(len(x)))
		if err := QuantizeRowQ8_0(buf, x); err != nil {
			t.Fatal(err)
		}
		got := make([]float32, len(x))
		rowQ8_0(buf, got)
		for b := 0; b < len(x)/32; b++ {
			d := kernels.F16ToF32(binary.LittleEndian.Uint16(buf[b*34:]))
			var amax float32
			for _, v := range x[b*32 : b*32+32] {
				amax = max(amax, float32(math.Abs(float64(v))))
			}
			// d is amax/127 rounded to f16: relative error ≤ 2⁻¹¹, or half a
			// subnormal step (2⁻²⁵) for tiny blocks. Each value is off by
			// at most half a step plus that rounding times its code.
			dErr := math.Abs(float64(d) - float64(amax/127))
			if dErr > max(float64(amax/127)/2048, 0x1p-25) {
				t.Fatalf("std %g block %d: d %g, want ≈ %g", std, b, d, amax/127)
			}
			for i := b * 32; i < b*32+32; i++ {
				if e := math.Abs(float64(got[i] - x[i])); e > float64(d)*0.5+128*dErr+1e-12 {
					t.Fatalf("std %g: value %d: %g decodes to %g (d %g)", std, i, x[i], got[i], d)
				}
			}
		}
		if got[5] != 0 {
			t.Errorf("zero decodes to %g", got[5])
		}
	}
}

func TestQuantizeQ8_0Rounding(t *testing.T) {
	// amax 127 makes d = 1 exactly, so the codes are C roundf of x:
	// halves round away from zero.
	x := make([]float32, 32)
	x[0] = 127
	x[1], x[2], x[3], x[4] = 0.5, -0.5, 1.5, -2.5
	buf := make([]byte, 34)
	if err := QuantizeRowQ8_0(buf, x); err != nil {
		t.Fatal(err)
	}
	want := []int8{127, 1, -1, 2, -3}
	for i, w := range want {
		if got := int8(buf[2+i]); got != w {
			t.Errorf("x=%g: code %d, want %d", x[i], got, w)
		}
	}
	// An all-zero block must not divide by zero.
	clear(x)
	if err := QuantizeRowQ8_0(buf, x); err != nil {
		t.Fatal(err)
	}
	for i, b := range buf {
		if b != 0 {
			t.Fatalf("all-zero block: byte %d is %#x", i, b)
		}
	}
}

func TestQuantizeQ6KRoundTrip(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	for _, std := range []float64{1e-3, 0.5, 30} {
		x := randomRow(r, 1024, std)
		// One all-zero 16-group and one outlier exercise the zero-scale
		// and clamping paths.
		clear(x[32:48])
		x[300] = float32(20 * std)
		buf := make([]byte, RowBytesQ6K(len(x)))
		if err := QuantizeRowQ6K(buf, x); err != nil {
			t.Fatal(err)
		}
		got := make([]float32, len(x))
		rowQ6K(buf, got)
		var num, den float64
		for i := range x {
			num += float64((got[i] - x[i]) * (got[i] - x[i]))
			den += float64(x[i] * x[i])
		}
		// 6-bit codes: the relative RMS error is a few percent at most.
		if rel := math.Sqrt(num / den); rel > 0.03 {
			t.Errorf("std %g: relative rms error %.4f", std, rel)
		}
		for i := 32; i < 48; i++ {
			if got[i] != 0 {
				t.Errorf("std %g: zero at %d decodes to %g", std, i, got[i])
			}
		}
		if e := math.Abs(float64(got[300]-x[300])) / math.Abs(float64(x[300])); e > 0.05 {
			t.Errorf("std %g: outlier %g decodes to %g", std, x[300], got[300])
		}
	}
	// All zeros: the block is zeroed, as in ggml.
	x := make([]float32, 256)
	buf := make([]byte, 210)
	for i := range buf {
		buf[i] = 0xff
	}
	if err := QuantizeRowQ6K(buf, x); err != nil {
		t.Fatal(err)
	}
	for i, b := range buf {
		if b != 0 {
			t.Fatalf("all-zero super-block: byte %d is %#x", i, b)
		}
	}
}

func TestMakeQXQuantsImproves(t *testing.T) {
	// The search must never return a worse weighted error than the plain
	// -nmax/max scale it starts from.
	r := rand.New(rand.NewPCG(5, 6))
	for trial := 0; trial < 200; trial++ {
		x := randomRow(r, 16, 1)
		var L [16]int8
		s := makeQXQuants(32, x, L[:])
		werr := func(scale float32, codes func(i int) int) float64 {
			var e float64
			for i, v := range x {
				d := float64(v) - float64(scale)*float64(codes(i))
				e += float64(v*v) * d * d
			}
			return e
		}
		got := werr(s, func(i int) int { return int(L[i]) - 32 })
		var maxv float32
		for _, v := range x {
			if math.Abs(float64(v)) > math.Abs(float64(maxv)) {
				maxv = v
			}
		}
		is := -32 / maxv
		base := werr(1/is, func(i int) int { return max(-32, min(31, nearestInt(is*x[i]))) })
		if got > base*(1+1e-5) {
			t.Fatalf("trial %d: weighted error %g worse than the starting scale's %g", trial, got, base)
		}
	}
}

func TestQuantizeRowLengthErrors(t *testing.T) {
	if err := QuantizeRowQ8_0(make([]byte, 34), make([]float32, 31)); err == nil {
		t.Error("q8_0 accepted a row of 31")
	}
	if err := QuantizeRowQ6K(make([]byte, 210), make([]float32, 255)); err == nil {
		t.Error("q6_k accepted a row of 255")
	}
	if err := QuantizeRowQ6K(make([]byte, 209), make([]float32, 256)); err == nil {
		t.Error("q6_k accepted a short buffer")
	}
}
