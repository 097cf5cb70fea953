package quant

import (
	"math"
	"math/rand/v2"
	"testing"

	"github.com/bitnet-go/bitnet/internal/kernels"
)

// Dense.Gemv of the block-quantised types (their own kernels) against the
// dequantised rows (Row) summed in float64, and Dot against Gemv bit for bit.
func TestDenseGemvBlockTypes(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	const rows, cols = 37, 768
	for _, typ := range []DenseType{DenseQ8_0, DenseQ6_K} {
		var data []byte
		for i := 0; i < rows; i++ {
			x := randomRow(r, cols, 0.05)
			var b []byte
			var err error
			if typ == DenseQ8_0 {
				b = make([]byte, RowBytesQ8_0(cols))
				err = QuantizeRowQ8_0(b, x)
			} else {
				b = make([]byte, RowBytesQ6K(cols))
				err = QuantizeRowQ6K(b, x)
			}
			if err != nil {
				t.Fatal(err)
			}
			data = append(data, b...)
		}
		d, err := NewDense(typ, rows, cols, data)
		if err != nil {
			t.Fatal(err)
		}
		x := randomRow(r, cols, 1)
		got := make([]float32, rows)
		var in Input
		d.Prepare(&in, x)
		d.Gemv(got[3:], 3, rows, &in)
		// Both multiply int8 activations, quantised per 256 values for
		// Q6_K and per 32 for Q8_0: each moves by at most half of its
		// block's step, max|x|/127/2.
		bs := 256
		if typ == DenseQ8_0 {
			bs = 32
		}
		var step []float64
		for b := 0; b < cols/bs; b++ {
			var m float64
			for _, v := range x[b*bs : (b+1)*bs] {
				m = max(m, math.Abs(float64(v)))
			}
			step = append(step, m/127)
		}
		w := make([]float32, cols)
		for i := 3; i < rows; i++ {
			d.Row(i, w)
			var exact, abs, qerr float64
			for j := range w {
				p := float64(w[j]) * float64(x[j])
				exact += p
				abs += math.Abs(p)
				qerr += math.Abs(float64(w[j])) * step[j/bs] / 2
			}
			// Within the float bound of the kernels (doc.go), plus the
			// rounding of the dequantised weights and of the activations.
			if diff := math.Abs(float64(got[i]) - exact); diff > float64(cols+2)*0x1p-24*abs+qerr*1.001 {
				t.Errorf("%v row %d: Gemv %v, want %v", typ, i, got[i], exact)
			}
			if dot := d.Dot(i, x); math.Float32bits(dot) != math.Float32bits(got[i]) {
				t.Errorf("%v row %d: Dot %v != Gemv %v", typ, i, dot, got[i])
			}
		}
	}
}

// GemvBatch gives each input Gemv's results bit for bit, for F16 (the
// first four inputs together, then two at a time, then one), BF16 and Q6_K (two, then one) and
// Q8_0, and writes only its rows of each output.
func TestDenseGemvBatch(t *testing.T) {
	r := rand.New(rand.NewPCG(5, 6))
	const rows, cols, ldd = 37, 272, 40
	for _, typ := range []DenseType{DenseF16, DenseBF16, DenseQ8_0, DenseQ6_K} {
		var data []byte
		switch typ {
		case DenseF16, DenseBF16:
			for range rows * cols {
				v := float32(r.NormFloat64() * 0.05)
				h := kernels.F32ToF16(v)
				if typ == DenseBF16 {
					h = kernels.F32ToBF16(v)
				}
				data = append(data, byte(h), byte(h>>8))
			}
		case DenseQ8_0:
			for range rows {
				b := make([]byte, RowBytesQ8_0(cols-16))
				if err := QuantizeRowQ8_0(b, randomRow(r, cols-16, 0.05)); err != nil {
					t.Fatal(err)
				}
				data = append(data, b...)
			}
		case DenseQ6_K:
			for range rows {
				b := make([]byte, RowBytesQ6K(512))
				if err := QuantizeRowQ6K(b, randomRow(r, 512, 0.05)); err != nil {
					t.Fatal(err)
				}
				data = append(data, b...)
			}
		}
		c := cols
		switch typ {
		case DenseQ8_0:
			c = cols - 16
		case DenseQ6_K:
			c = 512
		}
		d, err := NewDense(typ, rows, c, data)
		if err != nil {
			t.Fatal(err)
		}
		for _, n := range []int{1, 2, 3, 4, 5, 7, 8} {
			ins := make([]Input, n)
			for i := range ins {
				d.Prepare(&ins[i], randomRow(r, c, 1))
			}
			got := make([]float32, n*ldd)
			for i := range got {
				got[i] = -3
			}
			d.GemvBatch(got, ldd, 2, rows-1, ins)
			for i := range ins {
				want := make([]float32, rows-3)
				d.Gemv(want, 2, rows-1, &ins[i])
				for j := range ldd {
					g := got[i*ldd+j]
					if j < 2 || j >= rows-1 {
						if g != -3 {
							t.Fatalf("%v n=%d input %d: wrote %v at %d, outside rows 2..%d", typ, n, i, g, j, rows-2)
						}
					} else if math.Float32bits(g) != math.Float32bits(want[j-2]) {
						t.Fatalf("%v n=%d input %d row %d: %v, Gemv %v", typ, n, i, j, g, want[j-2])
					}
				}
			}
		}
	}
}
