package kernels

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"
)

// randQ8_0 returns rows Q8_0 rows of k values with random scales and codes.
func randQ8_0(r *rand.Rand, rows, k int) []byte {
	b := make([]byte, rows*k/Q8_0BlockWeights*Q8_0BlockBytes)
	for i := 0; i < len(b); i += Q8_0BlockBytes {
		d := F32ToF16(float32(r.NormFloat64() * 0.01))
		b[i], b[i+1] = byte(d), byte(d>>8)
		for j := 2; j < Q8_0BlockBytes; j++ {
			b[i+j] = byte(r.Uint32())
		}
	}
	return b
}

// randQ6K returns rows Q6_K rows of k values: random bits, scales and d.
func randQ6K(r *rand.Rand, rows, k int) []byte {
	b := make([]byte, rows*k/Q6KBlockWeights*Q6KBlockBytes)
	for i := 0; i < len(b); i += Q6KBlockBytes {
		for j := 0; j < 208; j++ {
			b[i+j] = byte(r.Uint32())
		}
		d := F32ToF16(float32(r.NormFloat64() * 0.001))
		b[i+208], b[i+209] = byte(d), byte(d>>8)
	}
	return b
}

// blockQWeights returns the exact weights of a row: d·q for Q8_0,
// d·scale·(q-32) for Q6_K.
func blockQWeights(q6 bool, row []byte) []float64 {
	var w []float64
	if !q6 {
		for b := 0; b < len(row)/Q8_0BlockBytes; b++ {
			blk := row[b*Q8_0BlockBytes:]
			d := float64(F16ToF32(uint16(blk[0]) | uint16(blk[1])<<8))
			for j := 0; j < Q8_0BlockWeights; j++ {
				w = append(w, d*float64(int8(blk[2+j])))
			}
		}
		return w
	}
	for b := 0; b < len(row)/Q6KBlockBytes; b++ {
		blk := row[b*Q6KBlockBytes:]
		d := float64(F16ToF32(uint16(blk[208]) | uint16(blk[209])<<8))
		for j := 0; j < Q6KBlockWeights; j++ {
			w = append(w, d*q6KScaledCode(blk, j))
		}
	}
	return w
}

// blockQExact returns Σ w_j·x_j in float64 with the exact weights and
// Σ|w_j·x_j|.
func blockQExact(q6 bool, row []byte, x []float32) (exact, abs float64) {
	for j, w := range blockQWeights(q6, row) {
		p := w * float64(x[j])
		exact += p
		abs += math.Abs(p)
	}
	return
}

// actQuantError bounds what quantising x (QuantizeQ8K for Q6_K, QuantizeQ8
// for Q8_0) changes in a row's dot product: Σ_j |w_j|·D/2 with D the scale
// of x_j's block (each activation moves by at most half a step).
func actQuantError(q6 bool, row []byte, x []float32) float64 {
	w := blockQWeights(q6, row)
	var d []float32
	bs := Q8_0BlockWeights
	if q6 {
		var a Q8K
		QuantizeQ8K(&a, x[:len(w)])
		d, bs = a.D, Q6KBlockWeights
	} else {
		var a Q8
		QuantizeQ8(&a, x[:len(w)])
		d = a.D
	}
	var e float64
	for j, v := range w {
		e += math.Abs(v) * float64(d[j/bs]) / 2
	}
	return e * (1 + 0x1p-20)
}

// q6KScaledCode returns scale·(q-32) of weight j of a Q6_K super-block,
// read bit by bit from the layout (independently of q6KDotQ8K's loop).
func q6KScaledCode(blk []byte, j int) float64 {
	h, l := j/128, j%128 // half, then 32-value quarter and position
	qd, p := l/32, l%32
	lo := blk[64*h+p+32*(qd%2)]
	if qd >= 2 {
		lo >>= 4
	}
	hi := blk[128+32*h+p] >> (2 * qd) & 3
	q := int(lo&0xf|hi<<4) - 32
	return float64(int8(blk[192+8*h+2*qd+p/16])) * float64(q)
}

type blockGemv struct {
	name   string
	q6     bool
	bw, bb int
	rand   func(*rand.Rand, int, int) []byte
	run    func([]float32, []byte, int, []float32)
}

var blockGemvs = []blockGemv{
	{"Q8_0", false, Q8_0BlockWeights, Q8_0BlockBytes, randQ8_0, GemvQ8_0},
	{"Q6K", true, Q6KBlockWeights, Q6KBlockBytes, randQ6K, GemvQ6K},
}

// The block-quantised GEMVs follow the float rule of doc.go, with one more
// 2⁻²⁴·Σ|wᵢxᵢ| and the error of their int8 activations (actQuantError):
// each row lies within that of the exact sum with exact weights and float
// activations, and a row's bits do not depend on its neighbours.
func TestGemvBlockQ(t *testing.T) {
	r := rand.New(rand.NewPCG(11, 12))
	all := blockGemvs
	for _, g := range all {
		for _, rows := range []int{1, 2, 5, 33} {
			for _, nb := range []int{1, 2, 3, 10, 11} {
				k := nb * g.bw
				m := g.rand(r, rows, k)
				x := randF32(r, k+3)
				rb := nb * g.bb
				t.Run(fmt.Sprintf("%s_%dx%d", g.name, rows, k), func(t *testing.T) {
					forEachVariant(t, func(t *testing.T) {
						dst := fill(rows+1, float32(-3))
						g.run(dst[:rows], m, rb, x)
						if dst[rows] != -3 {
							t.Fatal("wrote past the end")
						}
						for i := 0; i < rows; i++ {
							exact, abs := blockQExact(g.q6, m[i*rb:(i+1)*rb], x)
							tol := floatTol(k, abs)
							tol += 0x1p-24*abs + actQuantError(g.q6, m[i*rb:(i+1)*rb], x)
							if d := math.Abs(float64(dst[i]) - exact); d > tol {
								t.Fatalf("row %d: %v, exact %v (diff %g > %g)", i, dst[i], exact, d, tol)
							}
							one := make([]float32, 1)
							g.run(one, m[i*rb:(i+1)*rb], rb, x)
							if math.Float32bits(one[0]) != math.Float32bits(dst[i]) {
								t.Fatalf("row %d alone: %v, with the others %v", i, one[0], dst[i])
							}
						}
					})
				})
			}
		}
	}
}

func TestGemvBlockQShortSlices(t *testing.T) {
	for _, g := range blockGemvs {
		m := make([]byte, 2*g.bb)
		calls := map[string]func(){
			"data":     func() { g.run(make([]float32, 3), m, g.bb, make([]float32, g.bw)) },
			"x":        func() { g.run(make([]float32, 2), m, g.bb, make([]float32, g.bw-1)) },
			"rowBytes": func() { g.run(make([]float32, 1), m, g.bb+1, make([]float32, 2*g.bw)) },
		}
		forEachVariant(t, func(t *testing.T) { checkPanics(t, g.name+"/", calls) })
	}
}

// The Q8_0 kernels agree bit for bit with the generic one, for any codes
// (-128 included) and scales and activations in [-127, 127].
func TestGemvQ8_0Q8Exact(t *testing.T) {
	r := rand.New(rand.NewPCG(35, 36))
	for _, rows := range []int{1, 3, 8} {
		for _, nb := range []int{1, 2, 3, 10, 11, 80} {
			m := randQ8_0(r, rows, nb*Q8_0BlockWeights)
			var a Q8
			a.D = randF32(r, nb)
			a.Q = make([]int8, nb*Q8_0BlockWeights)
			for i := range a.Q {
				a.Q[i] = int8(r.IntN(255) - 127)
			}
			if rows == 3 {
				// Extreme codes, scales and activations.
				for i := 0; i < len(m); i += Q8_0BlockBytes {
					m[i], m[i+1] = 0xff, 0x7b // f16 max
					for j := 2; j < Q8_0BlockBytes; j++ {
						m[i+j] = []byte{0x80, 0x7f}[j%2]
					}
				}
				for i := range a.Q {
					a.Q[i] = []int8{-127, 127}[i%3%2]
				}
			}
			checkExactRows(t, rows, nb,
				func(d []float32) { gemvQ8_0Q8Generic(d, m, nb*Q8_0BlockBytes, &a) },
				func(d []float32) { GemvQ8_0Q8(d, m, nb*Q8_0BlockBytes, &a) })
		}
	}
}

// The integer Q6_K kernels agree bit for bit with the generic one, for any
// int8 activations (-128 included) and any scales.
func TestGemvQ6KQ8KExact(t *testing.T) {
	r := rand.New(rand.NewPCG(31, 32))
	for _, rows := range []int{1, 3, 8} {
		for _, nb := range []int{1, 2, 10, 11} {
			m := randQ6K(r, rows, nb*Q6KBlockWeights)
			if rows == 3 {
				// Extreme codes and scales.
				for i := 0; i < len(m); i += Q6KBlockBytes {
					for j := 0; j < 192; j++ {
						m[i+j] = 0xff
					}
					for j := 192; j < 208; j++ {
						m[i+j] = 0x80
					}
				}
			}
			var a Q8K
			a.D = randF32(r, nb)
			a.Q = make([]int8, nb*Q6KBlockWeights)
			for i := range a.Q {
				a.Q[i] = int8(r.IntN(256) - 128)
				if rows == 3 {
					a.Q[i] = -128
				}
			}
			a.BSums = make([]int16, nb*16)
			for g := range a.BSums {
				for _, v := range a.Q[16*g : 16*g+16] {
					a.BSums[g] += int16(v)
				}
			}
			checkExactRows(t, rows, nb,
				func(d []float32) { gemvQ6KQ8KGeneric(d, m, nb*Q6KBlockBytes, &a) },
				func(d []float32) { GemvQ6KQ8K(d, m, nb*Q6KBlockBytes, &a) })
		}
	}
}

// GemvQ6KQ8Kx2 gives GemvQ6KQ8K's results for each vector bit for bit, at
// every level, writes nothing past the rows, and panics on short inputs.
func TestGemvQ6KQ8Kx2(t *testing.T) {
	r := rand.New(rand.NewPCG(33, 34))
	for _, rows := range []int{1, 2, 5, 33} {
		for _, nb := range []int{1, 2, 3, 10} {
			k := nb * Q6KBlockWeights
			m := randQ6K(r, rows, k)
			var a0, a1 Q8K
			QuantizeQ8K(&a0, randF32(r, k))
			QuantizeQ8K(&a1, randF32(r, k))
			forEachVariant(t, func(t *testing.T) {
				d0, d1 := fill(rows+1, float32(-3)), fill(rows+1, float32(-3))
				GemvQ6KQ8Kx2(d0[:rows], d1[:rows], m, nb*Q6KBlockBytes, &a0, &a1)
				w0, w1 := make([]float32, rows), make([]float32, rows)
				GemvQ6KQ8K(w0, m, nb*Q6KBlockBytes, &a0)
				GemvQ6KQ8K(w1, m, nb*Q6KBlockBytes, &a1)
				if d0[rows] != -3 || d1[rows] != -3 {
					t.Fatalf("%dx%d: wrote past the end", rows, nb)
				}
				checkExactF32(t, fmt.Sprintf("%dx%d vector 0", rows, nb), d0[:rows], w0)
				checkExactF32(t, fmt.Sprintf("%dx%d vector 1", rows, nb), d1[:rows], w1)
			})
		}
	}
	var a, short Q8K
	QuantizeQ8K(&a, make([]float32, 512))
	QuantizeQ8K(&short, make([]float32, 256))
	checkPanics(t, "too short: ", map[string]func(){
		"rows": func() { GemvQ6KQ8Kx2(make([]float32, 3), make([]float32, 3), make([]byte, 2*420), 420, &a, &a) },
		"d1":   func() { GemvQ6KQ8Kx2(make([]float32, 2), make([]float32, 1, 2), make([]byte, 2*420), 420, &a, &a) },
		"a1":   func() { GemvQ6KQ8Kx2(make([]float32, 2), make([]float32, 2), make([]byte, 2*420), 420, &a, &short) },
	})
}

// QuantizeQ8 and QuantizeQ8K on four blocks: random values, zeros, one
// with -Inf and one with a NaN.
func TestQuantizeQ8Blocks(t *testing.T) {
	for _, tc := range []struct {
		name  string
		bs    int
		quant func(x []float32) (d []float32, q []int8)
	}{
		{"Q8", Q8_0BlockWeights, func(x []float32) ([]float32, []int8) {
			var a Q8
			QuantizeQ8(&a, x)
			return a.D, a.Q
		}},
		{"Q8K", Q6KBlockWeights, func(x []float32) ([]float32, []int8) {
			var a Q8K
			QuantizeQ8K(&a, x)
			if len(a.BSums) != len(x)/16 {
				t.Fatalf("Q8K: %d bsums", len(a.BSums))
			}
			for g := range a.BSums {
				var s int16
				for _, v := range a.Q[16*g : 16*g+16] {
					s += int16(v)
				}
				if s != a.BSums[g] {
					t.Fatalf("Q8K: bsum %d: %d, want %d", g, a.BSums[g], s)
				}
			}
			return a.D, a.Q
		}},
	} {
		r := rand.New(rand.NewPCG(33, 34))
		bs := tc.bs
		x := randF32(r, 4*bs)
		clear(x[bs : 2*bs])
		x[2*bs+7] = float32(math.Inf(-1))
		x[3*bs+9] = float32(math.NaN())
		d, q := tc.quant(x)
		if len(d) != 4 || len(q) != len(x) {
			t.Fatalf("%s: lengths %d %d", tc.name, len(d), len(q))
		}
		for i, v := range x[:bs] {
			if e := math.Abs(float64(v) - float64(d[0])*float64(q[i])); e > float64(d[0])*0.5001 || q[i] < -127 {
				t.Fatalf("%s: value %d: %v vs %v·%d", tc.name, i, v, d[0], q[i])
			}
		}
		if d[1] != 0 || !math.IsInf(float64(d[2]), 1) || !math.IsNaN(float64(d[3])) {
			t.Fatalf("%s: D of zero/inf/nan blocks: %v", tc.name, d[1:])
		}
		for _, v := range q[bs:] {
			if v != 0 {
				t.Fatalf("%s: non-finite or zero block with non-zero values", tc.name)
			}
		}
	}
}

// checkExactRows runs generic into want and, at every level, level into
// got, and requires the same bits.
func checkExactRows(t *testing.T, rows, nb int, generic, level func([]float32)) {
	t.Helper()
	want := make([]float32, rows)
	generic(want)
	forEachVariant(t, func(t *testing.T) {
		got := make([]float32, rows)
		level(got)
		checkExactF32(t, fmt.Sprintf("%dx%d rows against generic", rows, nb), got, want)
	})
}
