//go:build bitnetcpp

package bitnetcppkernels

import (
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"testing"
	"time"

	"github.com/bitnet-go/bitnet/internal/kernels"
	"github.com/bitnet-go/bitnet/internal/parallel"
)

// pairedRates times theirs and ours in alternating rounds of about 0.15 s
// each and prints each one's median rate and the median and
// quartiles of the per-round ratio, ours over bitnet.cpp's, so that a
// change in the host's load moves both sides of a ratio alike. It asserts
// nothing on time.
func pairedRates(name string, macs float64, theirs, ours func()) {
	reps := int(3e8/macs) + 1
	rate := func(f func()) float64 {
		t0 := time.Now()
		for range reps {
			f()
		}
		return macs * float64(reps) / time.Since(t0).Seconds() / 1e9
	}
	const rounds = 15
	var a, b, ratio []float64
	for range rounds {
		ga, gb := rate(theirs), rate(ours)
		a, b, ratio = append(a, ga), append(b, gb), append(ratio, gb/ga)
	}
	slices.Sort(a)
	slices.Sort(b)
	slices.Sort(ratio)
	fmt.Printf("%-44s bitnet.cpp %5.1f  ours %5.1f GMAC/s  ours/bitnet.cpp %.2f (quartiles %.2f–%.2f)\n",
		name, a[rounds/2], b[rounds/2], ratio[rounds/2], ratio[rounds/4], ratio[3*rounds/4])
}

// onThreads returns a func that runs f over rows: in one call on one
// thread, or split over a pool of threads in pieces of grain rows, as the
// model splits a decode matrix; and a func that closes the pool.
func onThreads(threads, rows, grain int, f func(lo, hi int)) (run, done func()) {
	if threads <= 1 {
		return func() { f(0, rows) }, func() {}
	}
	pool := parallel.New(threads)
	return func() { pool.For(rows, grain, f) }, pool.Close
}

// headCases are the lm_head shapes: rows of 2560 in cache, from memory,
// and from memory on two threads.
var headCases = []struct {
	where         string
	rows, threads int
}{
	{"in cache", 256, 1},
	{"from memory", 32768, 1},
	{"from memory, 2 threads", 32768, 2},
}

// TestTernary compares bitnet.cpp's I2_S kernels with GemmI2S: the same
// sums, bit for bit, then their speed on the 2B-4T shapes.
func TestTernary(t *testing.T) {
	shapes := []struct {
		name                string
		rows, k, n, threads int
	}{
		{"decode, 2560x2560 (1.6 MB, in cache)", 2560, 2560, 1, 1},
		{"decode, 65536x2560 (42 MB, from memory)", 65536, 2560, 1, 1},
		{"decode, 32768x6912 (57 MB, from memory)", 32768, 6912, 1, 1},
		{"decode, 65536x2560, 2 threads", 65536, 2560, 1, 2},
		{"decode, 32768x6912, 2 threads", 32768, 6912, 1, 2},
		{"prefill 128, 2560x2560 (attention q, o)", 2560, 2560, 128, 1},
		{"prefill 128, 6912x2560 (gate, up)", 6912, 2560, 128, 1},
		{"prefill 128, 2560x6912 (down)", 2560, 6912, 128, 1},
	}
	for _, s := range shapes {
		r := rand.New(rand.NewPCG(1, 2))
		w := make([]byte, s.rows*s.k/4)
		for i := range w {
			w[i] = byte(r.IntN(3) | r.IntN(3)<<2 | r.IntN(3)<<4 | r.IntN(3)<<6)
		}
		y := make([]int8, s.n*s.k)
		for i := range y {
			y[i] = int8(r.IntN(255) - 127)
		}
		theirs := make([]float32, s.rows*s.n)
		ours := make([]float32, s.rows*s.n)
		sums := make([]int32, s.n)
		scales := make([]float32, s.n)
		for i := range scales {
			scales[i] = 1
		}
		// Row ranges of the whole matrix; several threads split decode only.
		stride := s.k / 4
		runTheirs, done := onThreads(s.threads, s.rows, 16, func(lo, hi int) {
			gemm(theirs[lo:], w[lo*stride:], y, hi-lo, s.k, s.n)
		})
		defer done()
		runOurs, done := onThreads(s.threads, s.rows, 16, func(lo, hi int) {
			kernels.GemmI2S(ours[lo:], s.rows, w[lo*stride:hi*stride], stride, hi-lo, y, s.k, s.n, sums, scales, 1)
		})
		defer done()
		runTheirs()
		runOurs()
		for i := range ours {
			if ours[i] != theirs[i] {
				t.Fatalf("%s: sum %d: ours %v, bitnet.cpp %v", s.name, i, ours[i], theirs[i])
			}
		}
		pairedRates(s.name, float64(s.rows*s.k*s.n), runTheirs, runOurs)
	}
}

// TestQ6K compares ggml's Q6_K × Q8_K kernel, which bitnet.cpp runs for a
// Q6_K lm_head, with GemvQ6KQ8K: the same rows within float rounding (the
// integer sums are exact; the two sum the super-blocks' floats in different
// orders), then their speed.
func TestQ6K(t *testing.T) {
	const k = 2560
	for _, s := range headCases {
		r := rand.New(rand.NewPCG(3, 4))
		w := make([]byte, s.rows*k/256*210)
		for i := 0; i < len(w); i += 210 {
			for j := range 208 {
				w[i+j] = byte(r.Uint32())
			}
			d := kernels.F32ToF16(float32(r.NormFloat64() * 0.001))
			w[i+208], w[i+209] = byte(d), byte(d>>8)
		}
		x := make([]float32, k)
		for i := range x {
			x[i] = float32(r.NormFloat64())
		}
		var a kernels.Q8K
		kernels.QuantizeQ8K(&a, x)
		theirs := make([]float32, s.rows)
		ours := make([]float32, s.rows)
		rb := k / 256 * 210
		y := ggmlQ8K(&a)
		runTheirs, done := onThreads(s.threads, s.rows, 16, func(lo, hi int) { q6k(theirs[lo:], w[lo*rb:], y, hi-lo, k) })
		defer done()
		runOurs, done := onThreads(s.threads, s.rows, 16, func(lo, hi int) { kernels.GemvQ6KQ8K(ours[lo:hi], w[lo*rb:hi*rb], rb, &a) })
		defer done()
		runTheirs()
		runOurs()
		var big float64
		for _, v := range ours {
			big = max(big, math.Abs(float64(v)))
		}
		for i := range ours {
			if math.Abs(float64(ours[i]-theirs[i])) > 1e-5*big {
				t.Fatalf("%dx%d: row %d: ours %v, ggml %v", s.rows, k, i, ours[i], theirs[i])
			}
		}
		pairedRates(fmt.Sprintf("Q6_K head, %dx%d, %s", s.rows, k, s.where), float64(s.rows*k), runTheirs, runOurs)
	}
}

// TestF16 compares ggml's F16 kernel, which bitnet.cpp runs for an F16
// lm_head on activations it has converted to F16, with GemvF16 on float32
// activations. The check gives GemvF16 the same activations rounded to
// F16, so that both form the same exact products and differ only in the
// order of their sums; the timing gives each engine its own activations.
func TestF16(t *testing.T) {
	const k = 2560
	for _, s := range headCases {
		r := rand.New(rand.NewPCG(5, 6))
		w := make([]uint16, s.rows*k)
		for i := range w {
			w[i] = kernels.F32ToF16(float32(r.NormFloat64() * 0.05))
		}
		x := make([]float32, k)
		x16 := make([]uint16, k)
		xr := make([]float32, k)
		for i := range x {
			x[i] = float32(r.NormFloat64())
			x16[i] = kernels.F32ToF16(x[i])
			xr[i] = kernels.F16ToF32(x16[i])
		}
		theirs := make([]float32, s.rows)
		ours := make([]float32, s.rows)
		f16(theirs, w, x16, s.rows, k)
		kernels.GemvF16(ours, w, k, xr)
		for i := range ours {
			var mag float64
			for j, h := range w[i*k : (i+1)*k] {
				mag += math.Abs(float64(kernels.F16ToF32(h)) * float64(xr[j]))
			}
			if math.Abs(float64(ours[i]-theirs[i])) > 1e-5*mag {
				t.Fatalf("%dx%d: row %d: ours %v, ggml %v", s.rows, k, i, ours[i], theirs[i])
			}
		}
		runTheirs, done := onThreads(s.threads, s.rows, 32, func(lo, hi int) { f16(theirs[lo:], w[lo*k:], x16, hi-lo, k) })
		defer done()
		runOurs, done := onThreads(s.threads, s.rows, 32, func(lo, hi int) { kernels.GemvF16(ours[lo:hi], w[lo*k:hi*k], k, x) })
		defer done()
		pairedRates(fmt.Sprintf("F16 head, %dx%d, %s", s.rows, k, s.where), float64(s.rows*k), runTheirs, runOurs)
	}
}
