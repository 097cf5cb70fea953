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
		runTheirs := func() { gemm(theirs, w, y, s.rows, s.k, s.n) }
		runOurs := func() { kernels.GemmI2S(ours, s.rows, w, s.k/4, s.rows, y, s.k, s.n, sums, scales, 1) }
		if s.threads > 1 {
			// Both kernels over the same pool, split as the model splits
			// a decode matrix (grain 16 rows).
			pool := parallel.New(s.threads)
			defer pool.Close()
			stride := s.k / 4
			runTheirs = func() {
				pool.For(s.rows, 16, func(lo, hi int) { gemm(theirs[lo:], w[lo*stride:], y, hi-lo, s.k, 1) })
			}
			runOurs = func() {
				pool.For(s.rows, 16, func(lo, hi int) {
					kernels.GemmI2S(ours[lo:], s.rows, w[lo*stride:hi*stride], stride, hi-lo, y, s.k, 1, sums, scales, 1)
				})
			}
		}
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
	for _, s := range []struct {
		name          string
		rows, threads int
	}{
		{"Q6_K head, 256x2560 (0.5 MB, in cache)", 256, 1},
		{"Q6_K head, 32768x2560 (69 MB, from memory)", 32768, 1},
		{"Q6_K head, 32768x2560, 2 threads", 32768, 2},
	} {
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
		runTheirs := func() { q6k(theirs, w, y, s.rows, k) }
		runOurs := func() { kernels.GemvQ6KQ8K(ours, w, rb, &a) }
		if s.threads > 1 {
			pool := parallel.New(s.threads)
			defer pool.Close()
			runTheirs = func() {
				pool.For(s.rows, 16, func(lo, hi int) { q6k(theirs[lo:], w[lo*rb:], y, hi-lo, k) })
			}
			runOurs = func() {
				pool.For(s.rows, 16, func(lo, hi int) { kernels.GemvQ6KQ8K(ours[lo:hi], w[lo*rb:hi*rb], rb, &a) })
			}
		}
		runTheirs()
		runOurs()
		var big float64
		for _, v := range ours {
			big = max(big, math.Abs(float64(v)))
		}
		for i := range ours {
			if math.Abs(float64(ours[i]-theirs[i])) > 1e-5*big {
				t.Fatalf("%s: row %d: ours %v, ggml %v", s.name, i, ours[i], theirs[i])
			}
		}
		pairedRates(s.name, float64(s.rows*k), runTheirs, runOurs)
	}
}

// TestF16 compares ggml's F16 kernel, which bitnet.cpp runs for an F16
// lm_head on activations it has converted to F16, with GemvF16 on float32
// activations. The check gives GemvF16 the same activations rounded to
// F16, so that both form the same exact products and differ only in the
// order of their sums; the timing gives each engine its own activations.
func TestF16(t *testing.T) {
	const k = 2560
	for _, s := range []struct {
		name          string
		rows, threads int
	}{
		{"F16 head, 256x2560 (1.3 MB, in cache)", 256, 1},
		{"F16 head, 32768x2560 (168 MB, from memory)", 32768, 1},
		{"F16 head, 32768x2560, 2 threads", 32768, 2},
	} {
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
				t.Fatalf("%s: row %d: ours %v, ggml %v", s.name, i, ours[i], theirs[i])
			}
		}
		runTheirs := func() { f16(theirs, w, x16, s.rows, k) }
		runOurs := func() { kernels.GemvF16(ours, w, k, x) }
		if s.threads > 1 {
			pool := parallel.New(s.threads)
			defer pool.Close()
			runTheirs = func() {
				pool.For(s.rows, 32, func(lo, hi int) { f16(theirs[lo:], w[lo*k:], x16, hi-lo, k) })
			}
			runOurs = func() {
				pool.For(s.rows, 32, func(lo, hi int) { kernels.GemvF16(ours[lo:hi], w[lo*k:hi*k], k, x) })
			}
		}
		pairedRates(s.name, float64(s.rows*k), runTheirs, runOurs)
	}
}
