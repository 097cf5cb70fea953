package kernels

import (
	"flag"
	"fmt"
	"math"
	"math/rand/v2"
	"testing"
)

var levelFlag = flag.String("kernels.level", "", "test and benchmark only this level (generic, avx2, neon, ...); default: every available level")

// variant is one set of kernels to check: a level, plus for NEON whether
// the dot-product instructions are switched off.
type variant struct {
	level Level
	noDot bool
}

func (v variant) String() string {
	if v.noDot {
		return v.level.String() + "-nodot"
	}
	return v.level.String()
}

func variants(tb testing.TB) []variant {
	var out []variant
	for _, l := range Available() {
		if *levelFlag != "" && l.String() != *levelFlag {
			continue
		}
		out = append(out, variant{level: l})
		if l == NEON && dotProdAvailable() {
			out = append(out, variant{level: l, noDot: true})
		}
	}
	if len(out) == 0 {
		tb.Fatalf("-kernels.level=%s is not available here (have %v)", *levelFlag, Available())
	}
	return out
}

func (v variant) set() {
	disableDotProd = v.noDot
	SetLevel(v.level)
}

// forEachVariant runs f once per kernel variant this CPU can run and
// restores the detected level afterwards.
func forEachVariant(t *testing.T, f func(t *testing.T)) {
	defer func() {
		disableDotProd = false
		SetLevel(Detected())
	}()
	for _, v := range variants(t) {
		v.set()
		if Current() != v.level {
			t.Fatalf("SetLevel(%v) gave %v", v.level, Current())
		}
		t.Run(v.String(), f)
	}
}

func TestLevels(t *testing.T) {
	defer SetLevel(Detected())
	av := Available()
	if av[0] != Generic {
		t.Fatalf("Available()[0] = %v", av[0])
	}
	for _, l := range av {
		if got := SetLevel(l); got != l {
			t.Errorf("SetLevel(%v) = %v", l, got)
		}
		if p, err := ParseLevel(l.String()); err != nil || p != l {
			t.Errorf("ParseLevel(%q) = %v, %v", l.String(), p, err)
		}
	}
	if got := SetLevel(Generic); got != Generic {
		t.Errorf("SetLevel(Generic) = %v", got)
	}
	t.Logf("detected %v, available %v", Detected(), av)
}

// randCodes returns rows I2_S rows of k weights (padded with code 1) with
// codes drawn from 0..2, or any two bits when wild is set (code 3 is not
// produced by converters, but the kernels must still match the reference).
func randCodes(r *rand.Rand, rows, k int, wild bool) []byte {
	kp := PaddedK(k)
	codes := make([]byte, kp)
	w := make([]byte, rows*kp/4)
	for row := 0; row < rows; row++ {
		for j := range codes {
			switch {
			case j >= k:
				codes[j] = 1
			case wild:
				codes[j] = byte(r.IntN(4))
			default:
				codes[j] = byte(r.IntN(3))
			}
		}
		packRow(w[row*kp/4:(row+1)*kp/4], codes)
	}
	return w
}

// packRow packs codes (a multiple of 128) into the layout of doc.go.
func packRow(dst, codes []byte) {
	for b := 0; b < len(codes)/BlockWeights; b++ {
		c := codes[b*BlockWeights:]
		for p := 0; p < BlockBytes; p++ {
			dst[b*BlockBytes+p] = c[p]<<6 | c[32+p]<<4 | c[64+p]<<2 | c[96+p]
		}
	}
}

func randInt8(r *rand.Rand, n int) []int8 {
	x := make([]int8, n)
	for i := range x {
		x[i] = int8(r.IntN(256) - 128)
	}
	return x
}

func fill[T any](n int, v T) []T {
	s := make([]T, n)
	for i := range s {
		s[i] = v
	}
	return s
}

var testKs = []int{128, 256, 704, 1024, 1152, 2048, 2176, 2560, 6912}

func TestDotI2S(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	type tc struct {
		name string
		w    []byte
		x    []int8
	}
	var cases []tc
	for _, k := range testKs {
		kp := PaddedK(k)
		cases = append(cases,
			tc{fmt.Sprintf("rand%d", k), randCodes(r, 1, k, false), randInt8(r, kp)},
			tc{fmt.Sprintf("wild%d", k), randCodes(r, 1, k, true), randInt8(r, kp)},
			// The extremes: every product at its largest magnitude, which
			// is where int16 accumulation would wrap or saturate.
			tc{fmt.Sprintf("max%d", k), fill(kp/4, byte(0xaa)), fill(kp, int8(127))},
			tc{fmt.Sprintf("min%d", k), fill(kp/4, byte(0xaa)), fill(kp, int8(-128))},
			tc{fmt.Sprintf("code3max%d", k), fill(kp/4, byte(0xff)), fill(kp, int8(127))},
			tc{fmt.Sprintf("code3min%d", k), fill(kp/4, byte(0xff)), fill(kp, int8(-128))},
			tc{fmt.Sprintf("zero%d", k), fill(kp/4, byte(0)), fill(kp, int8(-128))},
		)
	}
	// Unaligned slices.
	w := randCodes(r, 1, 2561, false)
	x := randInt8(r, PaddedK(2561)+1)
	cases = append(cases, tc{"unaligned", append([]byte{7}, w...)[1:], x[1:]})
	cases = append(cases, tc{"empty", nil, nil})

	forEachVariant(t, func(t *testing.T) {
		for _, c := range cases {
			want := dotI2SGeneric(c.w, c.x)
			if got := DotI2S(c.w, c.x); got != want {
				t.Errorf("%s: DotI2S = %d, want %d", c.name, got, want)
			}
		}
	})
}

func TestGemmI2S(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	type shape struct{ rows, k int }
	shapes := []shape{
		{1, 128}, {1, 2560}, {3, 256}, {4, 704}, {5, 2560}, {7, 128},
		{13, 1152}, {64, 2560}, {67, 704}, {9, 6912}, {200, 2560}, {130, 6912},
		{11, 4096}, // the longest rows of the 1×8 prefill tile on amd64
	}
	for _, s := range shapes {
		for _, n := range []int{1, 2, 3, 4, 5, 8, 11, 17} {
			kp := PaddedK(s.k)
			stride := kp / 4
			w := randCodes(r, s.rows, s.k, n == 4)
			// Rows apart by more than their length, and outputs with a
			// gap that must stay untouched.
			ldx := kp + 32
			ldd := s.rows + 3
			// The last row ends at its values, not at the stride.
			x := make([]int8, (n-1)*ldx+kp)
			sums := make([]int32, n)
			scales := make([]float32, n)
			for i := 0; i < n; i++ {
				xi := x[i*ldx : i*ldx+kp]
				for j := range xi {
					xi[j] = int8(r.IntN(256) - 128)
				}
				if i == 1 {
					copy(xi, fill(kp, int8(-128)))
				}
				for _, v := range xi {
					sums[i] += int32(v)
				}
				scales[i] = 0.5 + r.Float32()*100
			}
			wscale := 0.01 + r.Float32()
			want := fill(n*ldd, float32(-7))
			gemmI2SGeneric(want, ldd, w, stride, s.rows, x, ldx, n, sums, scales, wscale)
			t.Run(fmt.Sprintf("%dx%d_n%d", s.rows, s.k, n), func(t *testing.T) {
				forEachVariant(t, func(t *testing.T) {
					got := fill(n*ldd, float32(-7))
					GemmI2S(got, ldd, w, stride, s.rows, x, ldx, n, sums, scales, wscale)
					for j := range want {
						if math.Float32bits(got[j]) != math.Float32bits(want[j]) {
							t.Fatalf("dst[%d] (act %d, row %d) = %v, want %v", j, j/ldd, j%ldd, got[j], want[j])
						}
					}
				})
			})
		}
	}
}

// TestGemmI2SExtremes drives every int16 accumulator of the kernels to its
// bound: all products at their largest magnitude (code 3 and x = -128 or
// 127), only in the groups that share an accumulator (0xcc: groups 0 and 2;
// 0x33: groups 1 and 3), over block counts just below and above each
// widening interval.
func TestGemmI2SExtremes(t *testing.T) {
	for _, k := range []int{128, 512, 640, 768, 2560, 2688, 3200, 6912} {
		for _, wb := range []byte{0xff, 0xcc, 0x33, 0xaa, 0x00} {
			for _, xv := range []int8{-128, 127} {
				for _, n := range []int{1, 3, 4, 8, 11} {
					const rows = 9
					kp := PaddedK(k)
					stride := kp / 4
					w := fill(rows*stride, wb)
					x := fill(n*kp, xv)
					sums := fill(n, int32(xv)*int32(kp))
					scales := fill(n, float32(1.5))
					want := make([]float32, n*rows)
					gemmI2SGeneric(want, rows, w, stride, rows, x, kp, n, sums, scales, 0.25)
					forEachVariant(t, func(t *testing.T) {
						got := make([]float32, n*rows)
						GemmI2S(got, rows, w, stride, rows, x, kp, n, sums, scales, 0.25)
						for j := range want {
							if math.Float32bits(got[j]) != math.Float32bits(want[j]) {
								t.Fatalf("k=%d w=%#02x x=%d n=%d: dst[%d] = %v, want %v", k, wb, xv, n, j, got[j], want[j])
							}
						}
					})
				}
			}
		}
	}
}

func TestQuantizeRow(t *testing.T) {
	r := rand.New(rand.NewPCG(5, 6))
	var cases [][]float32
	for _, n := range []int{0, 1, 7, 31, 32, 33, 64, 100, 128, 704, 2560, 6912} {
		x := make([]float32, n)
		for i := range x {
			x[i] = float32(r.NormFloat64()) * 3
		}
		cases = append(cases, x)
	}
	// Ties: with max|x| = 127 the scale is 1 and every x·s is an exact
	// half, which must round to even.
	ties := make([]float32, 96)
	for i := range ties {
		ties[i] = float32(i-48) + 0.5
	}
	ties[5] = 127
	cases = append(cases, ties)
	// Below the 1e-5 floor, at it, all zero, huge and subnormal values.
	small := make([]float32, 70)
	for i := range small {
		small[i] = float32(i-35) * 2.5e-7
	}
	cases = append(cases, small, fill(40, float32(1e-5)), fill(65, float32(-1e-5)), make([]float32, 33))
	huge := make([]float32, 64)
	for i := range huge {
		huge[i] = float32(r.NormFloat64()) * 1e37
	}
	sub := make([]float32, 64)
	for i := range sub {
		sub[i] = float32(r.NormFloat64()) * 1e-40
	}
	cases = append(cases, huge, sub)
	// Every value that lands near a .5 boundary after scaling.
	near := make([]float32, 256)
	near[0] = 3
	for i := 1; i < len(near); i++ {
		v := float32(i%127)*3/127 + 1.5*3/127
		near[i] = math.Nextafter32(v, float32(r.IntN(2)*10-5))
	}
	cases = append(cases, near)

	forEachVariant(t, func(t *testing.T) {
		for ci, x := range cases {
			n := len(x)
			want := fill(PaddedK(n)+5, int8(99))
			got := fill(PaddedK(n)+5, int8(99))
			ws, wsum := quantizeRowGeneric(want, x)
			gs, gsum := QuantizeRow(got, x)
			if math.Float32bits(gs) != math.Float32bits(ws) || gsum != wsum {
				t.Errorf("case %d (n=%d): scale, sum = %v, %d; want %v, %d", ci, n, gs, gsum, ws, wsum)
			}
			for i := range want {
				if got[i] != want[i] {
					t.Errorf("case %d (n=%d): q[%d] = %d, want %d (x=%v)", ci, n, i, got[i], want[i], x[min(i, n-1)])
					break
				}
			}
		}
	})
}

func TestF16RowToF32(t *testing.T) {
	all := make([]uint16, 1<<16+5)
	for i := range all {
		all[i] = uint16(i)
	}
	forEachVariant(t, func(t *testing.T) {
		for _, n := range []int{0, 1, 7, 8, 9, 17, len(all)} {
			got := fill(n+1, float32(-1))
			F16RowToF32(got, all[:n])
			for i := 0; i < n; i++ {
				want := F16ToF32(all[i])
				if math.Float32bits(got[i]) != math.Float32bits(want) && !(isNaN32(want) && isNaN32(got[i])) {
					t.Fatalf("n=%d: F16RowToF32(%#04x) = %#08x, want %#08x", n, all[i], math.Float32bits(got[i]), math.Float32bits(want))
				}
			}
			if got[n] != -1 {
				t.Fatalf("n=%d: wrote past the end", n)
			}
		}
	})
}

func isNaN32(f float32) bool { return f != f }

// Float kernels may sum in any order. Each result must lie within the
// worst-case bound of recursive summation, len·2⁻²⁴·Σ|aᵢbᵢ| (plus the
// bf16/f16 inputs are exact in float32), of the exact sum; the generic loop
// obeys the same bound, so asm and generic differ by at most twice it.
func floatTol(n int, absSum float64) float64 {
	return float64(n+1) * 0x1p-24 * absSum
}

var floatLens = []int{0, 1, 7, 15, 16, 17, 31, 32, 33, 100, 128, 704, 2560, 6912}

func randF32(r *rand.Rand, n int) []float32 {
	x := make([]float32, n)
	for i := range x {
		x[i] = float32(r.NormFloat64())
	}
	return x
}

func randHalf(r *rand.Rand, n int, conv func(float32) uint16) []uint16 {
	h := make([]uint16, n)
	for i := range h {
		h[i] = conv(float32(r.NormFloat64() * 0.1))
	}
	return h
}

type floatDot struct {
	name string
	run  func(a, b []float32, ha []uint16) float32
	conv func(float32) uint16
	wide func(uint16) float32
}

var floatDots = []floatDot{
	{"DotF16", func(_, b []float32, ha []uint16) float32 { return DotF16(ha, b) }, F32ToF16, F16ToF32},
	{"DotBF16", func(_, b []float32, ha []uint16) float32 { return DotBF16(ha, b) }, F32ToBF16, BF16ToF32},
	{"DotF32", func(a, b []float32, _ []uint16) float32 { return DotF32(a, b) }, nil, nil},
}

func TestFloatDots(t *testing.T) {
	r := rand.New(rand.NewPCG(7, 8))
	forEachVariant(t, func(t *testing.T) {
		for _, fd := range floatDots {
			for _, n := range floatLens {
				a, b := randF32(r, n), randF32(r, n)
				var ha []uint16
				if fd.conv != nil {
					ha = randHalf(r, n, fd.conv)
					for i := range a {
						a[i] = fd.wide(ha[i])
					}
				}
				var exact, abs float64
				for i := range a {
					p := float64(a[i]) * float64(b[i])
					exact += p
					abs += math.Abs(p)
				}
				got := float64(fd.run(a, b, ha))
				if d := math.Abs(got - exact); d > floatTol(n, abs) {
					t.Errorf("%s n=%d: got %v, exact %v (diff %g > tol %g)", fd.name, n, got, exact, d, floatTol(n, abs))
				}
			}
		}
	})
}

func TestGemvF16(t *testing.T) {
	r := rand.New(rand.NewPCG(9, 10))
	for _, rows := range []int{1, 3, 4, 5, 8, 9, 67} {
		for _, k := range []int{1, 15, 16, 17, 40, 2560} {
			m := randHalf(r, rows*k, F32ToF16)
			x := randF32(r, k)
			t.Run(fmt.Sprintf("%dx%d", rows, k), func(t *testing.T) { testGemvF16(t, rows, k, m, x) })
		}
	}
}

// GemvBF16x2 gives DotBF16's result for each row and vector bit for bit,
// at every level and shape (k off the 32-value step), writes nothing past
// the rows, and panics on short inputs.
func TestGemvBF16x2(t *testing.T) {
	r := rand.New(rand.NewPCG(61, 62))
	for _, rows := range []int{1, 2, 5, 33} {
		for _, k := range []int{1, 31, 32, 33, 80, 2560} {
			m := randHalf(r, rows*k, F32ToBF16)
			x0, x1 := randF32(r, k), randF32(r, k)
			forEachVariant(t, func(t *testing.T) {
				d0, d1 := fill(rows+1, float32(-3)), fill(rows+1, float32(-3))
				GemvBF16x2(d0[:rows], d1[:rows], m, k, x0, x1)
				if d0[rows] != -3 || d1[rows] != -3 {
					t.Fatalf("%dx%d: wrote past the end", rows, k)
				}
				for i := range rows {
					row := m[i*k : (i+1)*k]
					if w0, w1 := DotBF16(row, x0), DotBF16(row, x1); math.Float32bits(d0[i]) != math.Float32bits(w0) || math.Float32bits(d1[i]) != math.Float32bits(w1) {
						t.Fatalf("%dx%d row %d: %v %v, DotBF16 %v %v", rows, k, i, d0[i], d1[i], w0, w1)
					}
				}
			})
		}
	}
	checkGemv2Panics(t, GemvBF16x2, 32)
}

// checkGemv2Panics checks that a two-vector GEMV panics on too few rows
// for its outputs, on a d1 shorter than d0 and on an x1 shorter than k,
// the short slices with spare capacity, which a reslice would not notice.
func checkGemv2Panics(t *testing.T, gemv func(d0, d1 []float32, rows []uint16, k int, x0, x1 []float32), k int) {
	t.Helper()
	checkPanics(t, "too short: ", map[string]func(){
		"rows": func() {
			gemv(make([]float32, 3), make([]float32, 3), make([]uint16, 2*k), k, make([]float32, k), make([]float32, k))
		},
		"d1": func() {
			gemv(make([]float32, 2), make([]float32, 1, 2), make([]uint16, 2*k), k, make([]float32, k), make([]float32, k))
		},
		"x1": func() {
			gemv(make([]float32, 2), make([]float32, 2), make([]uint16, 2*k), k, make([]float32, k), make([]float32, k-1, k))
		},
	})
}

// GemvF16x4 gives GemvF16's results for each vector bit for bit, at every
// level and shape, writes nothing past the rows, and panics on short
// inputs.
func TestGemvF16x4(t *testing.T) {
	r := rand.New(rand.NewPCG(59, 60))
	for _, rows := range []int{1, 2, 3, 5, 33} {
		for _, k := range []int{1, 15, 16, 17, 40, 2560} {
			m := randHalf(r, rows*k, F32ToF16)
			var x [4][]float32
			for j := range x {
				x[j] = randF32(r, k)
			}
			forEachVariant(t, func(t *testing.T) {
				var d [4][]float32
				for j := range d {
					d[j] = fill(rows+1, float32(-3))
				}
				GemvF16x4([4][]float32{d[0][:rows], d[1][:rows], d[2][:rows], d[3][:rows]}, m, k, x)
				for j := range d {
					want := make([]float32, rows)
					GemvF16(want, m, k, x[j])
					if d[j][rows] != -3 {
						t.Fatalf("%dx%d vector %d: wrote past the end", rows, k, j)
					}
					checkExactF32(t, fmt.Sprintf("%dx%d vector %d", rows, k, j), d[j][:rows], want)
				}
			})
		}
	}
	four := func(n int) [4][]float32 {
		return [4][]float32{make([]float32, n), make([]float32, n), make([]float32, n), make([]float32, n)}
	}
	checkPanics(t, "too short: ", map[string]func(){
		"rows": func() { GemvF16x4(four(3), make([]uint16, 2*16), 16, four(16)) },
		"d3": func() {
			d := four(2)
			d[3] = d[3][:1]
			GemvF16x4(d, make([]uint16, 2*16), 16, four(16))
		},
		"x2": func() {
			x := four(16)
			x[2] = x[2][:15]
			GemvF16x4(four(2), make([]uint16, 2*16), 16, x)
		},
	})
}

// GemvF16x2 gives GemvF16's results for each vector bit for bit, at every
// level and shape (odd row counts, k off the vector width), writes nothing
// past the rows, and panics where GemvF16 would on short inputs.
func TestGemvF16x2(t *testing.T) {
	r := rand.New(rand.NewPCG(57, 58))
	for _, rows := range []int{1, 2, 3, 5, 8, 67} {
		for _, k := range []int{1, 15, 16, 17, 40, 2560} {
			m := randHalf(r, rows*k, F32ToF16)
			x0, x1 := randF32(r, k), randF32(r, k)
			forEachVariant(t, func(t *testing.T) {
				d0, d1 := fill(rows+1, float32(-3)), fill(rows+1, float32(-3))
				GemvF16x2(d0[:rows], d1[:rows], m, k, x0, x1)
				w0, w1 := make([]float32, rows), make([]float32, rows)
				GemvF16(w0, m, k, x0)
				GemvF16(w1, m, k, x1)
				if d0[rows] != -3 || d1[rows] != -3 {
					t.Fatalf("%dx%d: wrote past the end", rows, k)
				}
				for i := range rows {
					if math.Float32bits(d0[i]) != math.Float32bits(w0[i]) || math.Float32bits(d1[i]) != math.Float32bits(w1[i]) {
						t.Fatalf("%dx%d row %d: %v %v, GemvF16 %v %v", rows, k, i, d0[i], d1[i], w0[i], w1[i])
					}
				}
			})
		}
	}
	checkGemv2Panics(t, GemvF16x2, 16)
}

func testGemvF16(t *testing.T, rows, k int, m []uint16, x []float32) {
	forEachVariant(t, func(t *testing.T) {
		dst := fill(rows+1, float32(-3))
		GemvF16(dst[:rows], m, k, x)
		if dst[rows] != -3 {
			t.Fatalf("%dx%d: wrote past the end", rows, k)
		}
		for i := 0; i < rows; i++ {
			row := m[i*k : (i+1)*k]
			// The same level's DotF16 must agree bit for bit, so
			// a row's value never depends on how rows are split.
			if d := DotF16(row, x); math.Float32bits(d) != math.Float32bits(dst[i]) {
				t.Fatalf("%dx%d row %d: GemvF16 %v != DotF16 %v", rows, k, i, dst[i], d)
			}
			var exact, abs float64
			for j, h := range row {
				p := float64(F16ToF32(h)) * float64(x[j])
				exact += p
				abs += math.Abs(p)
			}
			if d := math.Abs(float64(dst[i]) - exact); d > floatTol(k, abs) {
				t.Fatalf("%dx%d row %d: %v, exact %v", rows, k, i, dst[i], exact)
			}
		}
		// Splitting the rows differently gives the same bits.
		for lo := 0; lo < rows; lo += 3 {
			hi := min(lo+3, rows)
			part := make([]float32, hi-lo)
			GemvF16(part, m[lo*k:], k, x)
			for i := range part {
				if math.Float32bits(part[i]) != math.Float32bits(dst[lo+i]) {
					t.Fatalf("%dx%d row %d: split result %v != %v", rows, k, lo+i, part[i], dst[lo+i])
				}
			}
		}
	})
}

// The assembly trusts its pointers, so the wrappers must refuse slices that
// are too short, as the generic code does by indexing.
func TestShortSlicesPanic(t *testing.T) {
	w := make([]byte, 2*32)
	x := make([]int8, 2*128)
	calls := map[string]func(){
		"DotI2S":    func() { DotI2S(w[:40:40], x) },
		"GemmI2S/w": func() { GemmI2S(make([]float32, 4), 2, w, 32, 3, x[:128], 128, 1, []int32{0}, []float32{1}, 1) },
		"GemmI2S/x": func() {
			GemmI2S(make([]float32, 4), 2, w, 32, 2, x[:200:200], 128, 2, []int32{0, 0}, []float32{1, 1}, 1)
		},
		"GemmI2S/dst": func() { GemmI2S(make([]float32, 3), 2, w, 32, 2, x, 128, 2, []int32{0, 0}, []float32{1, 1}, 1) },
		"QuantizeRow": func() { QuantizeRow(make([]int8, 40), make([]float32, 64)) },
		"DotF16":      func() { DotF16(make([]uint16, 64), make([]float32, 40)) },
		"GemvF16":     func() { GemvF16(make([]float32, 4), make([]uint16, 4*64-1), 64, make([]float32, 64)) },
		"DotF32":      func() { DotF32(make([]float32, 64), make([]float32, 40)) },
		"DotsF32/k":   func() { DotsF32(make([]float32, 3), make([]float32, 64), make([]float32, 2*70+63), 70) },
		"DotsF32/stride": func() {
			DotsF32(make([]float32, 3), make([]float32, 64), make([]float32, 1000), 60)
		},
	}
	forEachVariant(t, func(t *testing.T) { checkPanics(t, "", calls) })
}

// checkPanics runs each call and reports, under prefix and its name, those
// that return without panicking.
func checkPanics(t *testing.T, prefix string, calls map[string]func()) {
	t.Helper()
	for name, f := range calls {
		func() {
			defer func() {
				if recover() == nil {
					t.Errorf("%s%s: no panic", prefix, name)
				}
			}()
			f()
		}()
	}
}

func TestSumU64(t *testing.T) {
	for _, l := range Available() {
		SetLevel(l)
		for _, n := range []int{0, 1, 15, 16, 17, 100, 4099} {
			b := make([]uint64, n)
			var want uint64
			for i := range b {
				b[i] = uint64(i)*0x9e3779b97f4a7c15 + 1
				want += b[i]
			}
			if got := sumU64(b); got != want {
				t.Errorf("%s n=%d: %d, want %d", l, n, got, want)
			}
			if got := sumU64PF(b); got != want {
				t.Errorf("%s prefetching n=%d: %d, want %d", l, n, got, want)
			}
		}
	}
	SetLevel(Detected())
}

// DotsF32 gives exactly DotF32's result for every key row, at every level,
// and writes nothing past len(dst).
func TestDotsF32(t *testing.T) {
	r := rand.New(rand.NewPCG(31, 32))
	forEachVariant(t, func(t *testing.T) {
		for _, hd := range []int{1, 7, 31, 32, 33, 64, 96, 100, 128} {
			for _, rows := range []int{0, 1, 2, 5, 33} {
				stride := hd + r.IntN(3)*8
				q := randF32(r, hd)
				k := randF32(r, max(0, (rows-1)*stride+hd))
				dst := fill(rows+1, float32(-5))
				DotsF32(dst[:rows], q, k, stride)
				if dst[rows] != -5 {
					t.Fatalf("hd=%d rows=%d: wrote past the end", hd, rows)
				}
				for j := 0; j < rows; j++ {
					want := DotF32(q, k[j*stride:j*stride+hd])
					if math.Float32bits(dst[j]) != math.Float32bits(want) {
						t.Fatalf("hd=%d rows=%d row %d: %v, DotF32 %v", hd, rows, j, dst[j], want)
					}
				}
			}
		}
	})
}

// WeightedSum follows the float rule of doc.go per column, and leaves the
// values after len(dst) alone.
func TestWeightedSum(t *testing.T) {
	r := rand.New(rand.NewPCG(21, 22))
	forEachVariant(t, func(t *testing.T) {
		for _, cols := range []int{0, 1, 7, 8, 9, 64, 65, 72, 128, 130} {
			for _, n := range []int{0, 1, 2, 5, 33, 200} {
				stride := cols + r.IntN(3)*8 + 3
				w := randF32(r, n)
				src := randF32(r, max(0, (n-1)*stride+cols))
				dst := fill(cols+1, float32(-5))
				WeightedSum(dst[:cols], w, src, stride)
				if dst[cols] != -5 {
					t.Fatalf("cols=%d n=%d: wrote past the end", cols, n)
				}
				for i := 0; i < cols; i++ {
					var exact, abs float64
					for j := 0; j < n; j++ {
						p := float64(w[j]) * float64(src[j*stride+i])
						exact += p
						abs += math.Abs(p)
					}
					if d := math.Abs(float64(dst[i]) - exact); d > floatTol(n, abs) {
						t.Fatalf("cols=%d n=%d col %d: got %v, exact %v", cols, n, i, dst[i], exact)
					}
				}
			}
		}
	})
}

// The group kernels give exactly the per-head kernels' results, for
// groups of one or more heads and caches longer than one block of rows,
// and write nothing outside their outputs.
func TestGroupAttention(t *testing.T) {
	r := rand.New(rand.NewPCG(25, 26))
	forEachVariant(t, func(t *testing.T) {
		for _, hd := range []int{1, 7, 32, 64, 100, 128} {
			for _, heads := range []int{1, 3, 4} {
				for _, n := range []int{0, 1, 31, 33, 200, 300} {
					name := fmt.Sprintf("hd=%d heads=%d n=%d", hd, heads, n)
					q, k := randF32(r, heads*hd), randF32(r, n*hd)
					dst := fill(heads*n+1, float32(-5))
					GroupDots(dst[:heads*n], q, k, hd)
					if dst[heads*n] != -5 {
						t.Fatalf("%s: GroupDots wrote past the end", name)
					}
					want := make([]float32, heads*n)
					for g := range heads {
						if n > 0 {
							DotsF32(want[g*n:(g+1)*n], q[g*hd:(g+1)*hd], k, hd)
						}
					}
					checkExactF32(t, name+" dots", dst[:heads*n], want)

					// Half-precision keys: exactly the widened keys' scores.
					k16, kw := toF16(k)
					GroupDots(want, q, kw, hd)
					GroupDotsF16(dst[:heads*n], q, k16, hd)
					checkExactF32(t, name+" f16 dots", dst[:heads*n], want)
					if n == 0 {
						continue
					}

					// A column range of each head's output, as attention
					// splits the value sums between threads.
					c0 := r.IntN(hd)
					cols := 1 + r.IntN(hd-c0)
					out := fill(heads*hd+1, float32(-7))
					GroupWeightedSums(out[c0:], hd, cols, want, n, k[c0:], hd)
					for i, v := range out {
						if inCols := i < heads*hd && i%hd >= c0 && i%hd < c0+cols; !inCols && v != -7 {
							t.Fatalf("%s: GroupWeightedSums wrote at %d outside its columns", name, i)
						}
					}
					for g := range heads {
						w := make([]float32, cols)
						WeightedSum(w, want[g*n:(g+1)*n], k[c0:], hd)
						checkExactF32(t, fmt.Sprintf("%s head %d sums", name, g), out[g*hd+c0:g*hd+c0+cols], w)
					}
					out16 := fill(heads*hd, float32(-7))
					GroupWeightedSumsF16(out16[c0:], hd, cols, want, n, k16[c0:], hd)
					GroupWeightedSums(out[c0:], hd, cols, want, n, kw[c0:], hd)
					checkExactF32(t, name+" f16 sums", out16, out[:heads*hd])
				}
			}
		}
	})
}

// toF16 rounds x to half precision, and returns the halves and their
// float32 values.
func toF16(x []float32) ([]uint16, []float32) {
	h, w := make([]uint16, len(x)), make([]float32, len(x))
	for i, v := range x {
		h[i] = F32ToF16(v)
		w[i] = F16ToF32(h[i])
	}
	return h, w
}

// checkExactF32 fails unless got holds want's float32s bit for bit.
func checkExactF32(t *testing.T, name string, got, want []float32) {
	t.Helper()
	for i := range want {
		if math.Float32bits(got[i]) != math.Float32bits(want[i]) {
			t.Fatalf("%s: [%d] = %v, want %v", name, i, got[i], want[i])
		}
	}
}

// RMSNorm: the sum of squares is float64 at every level, so each output is
// within a few float32 roundings of the exact x/rms·w.
func TestRMSNorm(t *testing.T) {
	r := rand.New(rand.NewPCG(41, 42))
	forEachVariant(t, func(t *testing.T) {
		for _, n := range floatLens[1:] {
			x, w := randF32(r, n), randF32(r, n)
			dst := fill(n+1, float32(-9))
			RMSNorm(dst[:n], x, w, 1e-5)
			if dst[n] != -9 {
				t.Fatalf("n=%d: wrote past the end", n)
			}
			var ss float64
			for _, v := range x {
				ss += float64(v) * float64(v)
			}
			inv := 1 / math.Sqrt(ss/float64(n)+1e-5)
			for i := range x {
				exact := float64(x[i]) * inv * float64(w[i])
				if d := math.Abs(float64(dst[i]) - exact); d > 8*0x1p-24*math.Abs(exact) {
					t.Fatalf("n=%d i=%d: %v, exact %v", n, i, dst[i], exact)
				}
			}
		}
	})
}

func TestSquaredReLUMul(t *testing.T) {
	r := rand.New(rand.NewPCG(43, 44))
	forEachVariant(t, func(t *testing.T) {
		for _, n := range floatLens {
			g, u := randF32(r, n+1), randF32(r, n)
			want := append([]float32(nil), g...)
			squaredReLUMulGeneric(want[:n], u)
			SquaredReLUMul(g[:n], u)
			for i := range want {
				if math.Float32bits(g[i]) != math.Float32bits(want[i]) {
					t.Fatalf("n=%d i=%d: %v, generic %v", n, i, g[i], want[i])
				}
			}
		}
	})
}

// SiLUMul at every level against float64: within 8 ulps of the exact
// silu(g)·u, or 1e-35 where the result is that small (for g below -87 the
// vector exponential stops at 1e-38 where the exact one underflows), on
// values from the typical range out to ±100 and the zeros; nothing is
// written past n.
func TestSiLUMul(t *testing.T) {
	r := rand.New(rand.NewPCG(55, 56))
	special := []float32{0, float32(math.Copysign(0, -1)), 100, -100, 88, -88, 1e-30, -1e-30, 20, -20}
	forEachVariant(t, func(t *testing.T) {
		for _, n := range floatLens {
			g, u := randF32(r, n+1), randF32(r, n)
			for i := range n {
				g[i] *= 6
				if i%5 == 3 {
					g[i] = special[r.IntN(len(special))]
				}
			}
			in := append([]float32(nil), g...)
			SiLUMul(g[:n], u)
			if math.Float32bits(g[n]) != math.Float32bits(in[n]) {
				t.Fatalf("n=%d: wrote past the end", n)
			}
			for i := range n {
				v := float64(in[i])
				want := v / (1 + math.Exp(-v)) * float64(u[i])
				if d := math.Abs(float64(g[i]) - want); d > 8*0x1p-24*math.Abs(want)+1e-35 {
					t.Fatalf("n=%d i=%d: silu(%v)·%v = %v, want %v", n, i, in[i], u[i], g[i], want)
				}
			}
		}
	})
}

// Softmax at every level against float64, including inputs far below the
// maximum (whose exponentials underflow) and lengths off the vector width.
func TestSoftmax(t *testing.T) {
	r := rand.New(rand.NewPCG(47, 48))
	forEachVariant(t, func(t *testing.T) {
		for _, n := range floatLens[1:] {
			x := randF32(r, n)
			for i := range x {
				x[i] *= 8
				if i%13 == 5 {
					x[i] = -200 + x[i]
				}
			}
			want := softmax64(x)
			Softmax(x)
			for i := range x {
				w := want[i]
				if d := math.Abs(float64(x[i]) - w); d > 1e-6*w+1e-37 {
					t.Fatalf("n=%d i=%d: %v, want %v", n, i, x[i], w)
				}
			}
		}
	})
}

// scaleKernel is one level's pair of Softmax helpers (scale_*_test.go),
// which work on a multiple of step values.
type scaleKernel struct {
	name     string
	step     int
	scaleMax func(x *float32, n int, s float32) float32
	scale    func(x *float32, n int, s float32)
}

// Softmax's scaling and maximum are exact, so each level's kernels give
// the generic products bit for bit and their largest value, including
// signed zeros, infinities and lengths of one vector, and write nothing
// past n.
func TestScaleKernels(t *testing.T) {
	r := rand.New(rand.NewPCG(51, 52))
	for _, k := range scaleKernels() {
		for _, n := range []int{k.step, 2 * k.step, 3 * k.step, 16 * k.step, 4096} {
			for _, c := range []struct {
				s   float32
				top int // where the largest product is
			}{{1, 0}, {0.088388346, n - 1}, {-3, r.IntN(n)}, {0.5, n - 1 - r.IntN(k.step)}} {
				s := c.s
				x := randF32(r, n+1)
				x[c.top] = 100 / s
				x[r.IntN(n)] = float32(math.Inf(-1)) / s
				x[r.IntN(n)] = float32(math.Copysign(0, -1))
				want := append([]float32(nil), x...)
				scaleBy(want[:n], s)
				wantMax := maxOf(want[:n])
				y := append([]float32(nil), x...)
				got := k.scaleMax(&y[0], n, s)
				z := append([]float32(nil), x...)
				k.scale(&z[0], n, s)
				if got != wantMax {
					t.Errorf("%s n=%d s=%v: max %v, want %v", k.name, n, s, got, wantMax)
				}
				for i := range want {
					if math.Float32bits(y[i]) != math.Float32bits(want[i]) || math.Float32bits(z[i]) != math.Float32bits(want[i]) {
						t.Fatalf("%s n=%d s=%v i=%d: %v and %v, want %v", k.name, n, s, i, y[i], z[i], want[i])
					}
				}
			}
		}
	}
}

// ScaledSoftmax(x, s) is Softmax of the rounded products s·x at every
// level, bit for bit, and close to the float64 softmax of those products.
func TestScaledSoftmax(t *testing.T) {
	r := rand.New(rand.NewPCG(53, 54))
	forEachVariant(t, func(t *testing.T) {
		for _, n := range floatLens[1:] {
			for _, s := range []float32{0.088388346, 1, 2.5} {
				x := randF32(r, n)
				for i := range x {
					x[i] *= 8
				}
				y := append([]float32(nil), x...)
				scaleBy(y, s)
				want := softmax64(y)
				Softmax(y)
				ScaledSoftmax(x, s)
				for i := range x {
					if math.Float32bits(x[i]) != math.Float32bits(y[i]) {
						t.Fatalf("n=%d s=%v i=%d: %v, Softmax of the products %v", n, s, i, x[i], y[i])
					}
					if d := math.Abs(float64(x[i]) - want[i]); d > 1e-6*want[i]+1e-37 {
						t.Fatalf("n=%d s=%v i=%d: %v, want %v", n, s, i, x[i], want[i])
					}
				}
			}
		}
	})
}

// softmax64 is softmax in float64 of float32 inputs, with the difference
// from the maximum rounded to float32 as every implementation rounds it.
func softmax64(x []float32) []float64 {
	mx := math.Inf(-1)
	for _, v := range x {
		mx = math.Max(mx, float64(v))
	}
	out := make([]float64, len(x))
	var sum float64
	for i, v := range x {
		out[i] = math.Exp(float64(v - float32(mx)))
		sum += out[i]
	}
	for i := range out {
		out[i] /= sum
	}
	return out
}

// RopeNeoX is bit-identical at every level (each product is rounded).
func TestRopeNeoX(t *testing.T) {
	r := rand.New(rand.NewPCG(49, 50))
	forEachVariant(t, func(t *testing.T) {
		for _, d := range []int{2, 8, 14, 16, 64, 128, 130} {
			x := randF32(r, d+1)
			cos, sin := randF32(r, d/2), randF32(r, d/2)
			want := append([]float32(nil), x...)
			ropeNeoXGeneric(want[:d], cos, sin)
			RopeNeoX(x[:d], cos, sin)
			for i := range want {
				if math.Float32bits(x[i]) != math.Float32bits(want[i]) {
					t.Fatalf("d=%d i=%d: %v, generic %v", d, i, x[i], want[i])
				}
			}
		}
	})
}
