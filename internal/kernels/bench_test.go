package kernels

import (
	"fmt"
	"math/rand/v2"
	"testing"

	"github.com/bitnet-go/bitnet/internal/parallel"
)

// Benchmarks are named <Op>/<level>_<shape>. SetBytes counts the weight (or
// main input) bytes one call reads, so MB/s is the streaming rate; GMAC/s
// counts multiply-adds.

func forEachBenchVariant(b *testing.B, shape string, f func(b *testing.B)) {
	defer func() {
		disableDotProd = false
		SetLevel(Detected())
	}()
	for _, v := range variants(b) {
		v.set()
		b.Run(v.String()+"_"+shape, f)
	}
}

func reportMACs(b *testing.B, macs float64) {
	b.ReportMetric(macs*float64(b.N)/b.Elapsed().Seconds()/1e9, "GMAC/s")
}

func BenchmarkDotI2S(b *testing.B) {
	r := rand.New(rand.NewPCG(1, 1))
	for _, k := range []int{2560, 6912} {
		w := randCodes(r, 1, k, false)
		x := randInt8(r, k)
		forEachBenchVariant(b, fmt.Sprint(k), func(b *testing.B) {
			b.SetBytes(int64(len(w)))
			for b.Loop() {
				DotI2S(w, x)
			}
			reportMACs(b, float64(k))
		})
	}
}

// benchGemm runs GemmI2S on a rows×k ternary matrix and n activation rows.
func benchGemm(b *testing.B, rows, k, n int) {
	r := rand.New(rand.NewPCG(2, 2))
	w := randCodes(r, rows, k, false)
	x := randInt8(r, n*k)
	sums := make([]int32, n)
	scales := fill(n, float32(3))
	dst := make([]float32, n*rows)
	forEachBenchVariant(b, fmt.Sprintf("%dx%d_n%d", rows, k, n), func(b *testing.B) {
		b.SetBytes(int64(len(w)))
		for b.Loop() {
			GemmI2S(dst, rows, w, k/4, rows, x, k, n, sums, scales, 0.5)
		}
		reportMACs(b, float64(rows*k*n))
	})
}

// Decode: one activation row; the weights stream from memory once (the
// 6912-row matrix is 4.4 MB).
func BenchmarkGemvI2S(b *testing.B) {
	benchGemm(b, 2560, 2560, 1)
	benchGemm(b, 6912, 2560, 1)
	benchGemm(b, 2560, 6912, 1)
}

// Prefill: 128 activation rows.
func BenchmarkGemmI2S(b *testing.B) {
	benchGemm(b, 2560, 2560, 128)
}

// A few sequences decoding together: the tiles read a 42 MB matrix from
// memory once, for 3 (the 2×4 tile with a row of zeros), 4 (2×4) and 8
// (1×8) activation rows, and 11 (1×8, then 4×3 from L2).
func BenchmarkGemmI2SBatch(b *testing.B) {
	for _, n := range []int{3, 4, 8, 11} {
		benchGemm(b, 65536, 2560, n)
	}
}

func BenchmarkQuantizeRow(b *testing.B) {
	r := rand.New(rand.NewPCG(3, 3))
	for _, k := range []int{2560, 6912} {
		x := randF32(r, k)
		q := make([]int8, k)
		forEachBenchVariant(b, fmt.Sprint(k), func(b *testing.B) {
			b.SetBytes(int64(4 * k))
			for b.Loop() {
				QuantizeRow(q, x)
			}
		})
	}
}

func BenchmarkF16RowToF32(b *testing.B) {
	r := rand.New(rand.NewPCG(4, 4))
	h := randHalf(r, 2560, F32ToF16)
	dst := make([]float32, len(h))
	forEachBenchVariant(b, "2560", func(b *testing.B) {
		b.SetBytes(int64(2 * len(h)))
		for b.Loop() {
			F16RowToF32(dst, h)
		}
	})
}

func BenchmarkDotF16(b *testing.B) {
	r := rand.New(rand.NewPCG(5, 5))
	h := randHalf(r, 2560, F32ToF16)
	x := randF32(r, len(h))
	forEachBenchVariant(b, "2560", func(b *testing.B) {
		b.SetBytes(int64(2 * len(h)))
		for b.Loop() {
			DotF16(h, x)
		}
		reportMACs(b, float64(len(h)))
	})
}

func BenchmarkDotBF16(b *testing.B) {
	r := rand.New(rand.NewPCG(6, 6))
	h := randHalf(r, 2560, F32ToBF16)
	x := randF32(r, len(h))
	forEachBenchVariant(b, "2560", func(b *testing.B) {
		b.SetBytes(int64(2 * len(h)))
		for b.Loop() {
			DotBF16(h, x)
		}
		reportMACs(b, float64(len(h)))
	})
}

func BenchmarkDotF32(b *testing.B) {
	r := rand.New(rand.NewPCG(7, 7))
	a, x := randF32(r, 2560), randF32(r, 2560)
	forEachBenchVariant(b, "2560", func(b *testing.B) {
		b.SetBytes(int64(4 * len(a)))
		for b.Loop() {
			DotF32(a, x)
		}
		reportMACs(b, float64(len(a)))
	})
}

// The tied lm_head of 2B-4T is 128256×2560 F16 (657 MB); 16384 rows (84 MB)
// are enough to stream from memory rather than cache.
func BenchmarkGemvF16(b *testing.B) {
	const rows, k = 16384, 2560
	r := rand.New(rand.NewPCG(8, 8))
	m := randHalf(r, rows*k, F32ToF16)
	x := randF32(r, k)
	dst := make([]float32, rows)
	forEachBenchVariant(b, fmt.Sprintf("%dx%d", rows, k), func(b *testing.B) {
		b.SetBytes(int64(2 * len(m)))
		for b.Loop() {
			GemvF16(dst, m, k, x)
		}
		reportMACs(b, float64(rows*k))
	})
}

// A batch's lm_head goes over the head 32 rows at a time (160 KB at
// 2560, in L2), each chunk for every sequence: two vectors with GemvF16x2
// against GemvF16 called twice, and with GemvBF16x2 (BF16 heads, as in
// Hugging Face checkpoints) against DotBF16 per row and vector.
func BenchmarkGemvF16x2(b *testing.B) {
	benchGemv2(b, F32ToF16, GemvF16x2, func(d []float32, m []uint16, k int, x []float32) { GemvF16(d, m, k, x) })
}

func BenchmarkGemvBF16x2(b *testing.B) {
	benchGemv2(b, F32ToBF16, GemvBF16x2, func(d []float32, m []uint16, k int, x []float32) {
		for i := range d {
			d[i] = DotBF16(m[i*k:(i+1)*k], x)
		}
	})
}

func benchGemv2(b *testing.B, conv func(float32) uint16, pair func(d0, d1 []float32, m []uint16, k int, x0, x1 []float32), one func(d []float32, m []uint16, k int, x []float32)) {
	const rows, k = 32, 2560
	r := rand.New(rand.NewPCG(8, 9))
	m := randHalf(r, rows*k, conv)
	x0, x1 := randF32(r, k), randF32(r, k)
	d0, d1 := make([]float32, rows), make([]float32, rows)
	forEachBenchVariant(b, fmt.Sprintf("pair_%dx%d", rows, k), func(b *testing.B) {
		for b.Loop() {
			pair(d0, d1, m, k, x0, x1)
		}
		reportMACs(b, float64(2*rows*k))
	})
	forEachBenchVariant(b, fmt.Sprintf("twice_%dx%d", rows, k), func(b *testing.B) {
		for b.Loop() {
			one(d0, m, k, x0)
			one(d1, m, k, x1)
		}
		reportMACs(b, float64(2*rows*k))
	})
}

// A batch of four sequences' lm_head as the forward pass runs it: 16384
// rows of 2560 (84 MB, from memory) in chunks of 32, each chunk for all
// four vectors while it is in cache, with GemvF16x4 against GemvF16x2
// twice.
func BenchmarkGemvF16x4(b *testing.B) {
	const rows, k, chunk = 16384, 2560, 32
	r := rand.New(rand.NewPCG(8, 10))
	m := randHalf(r, rows*k, F32ToF16)
	var x [4][]float32
	for j := range x {
		x[j] = randF32(r, k)
	}
	d := make([]float32, 4*rows)
	out := func(j, c0 int) []float32 { return d[j*rows+c0 : j*rows+c0+chunk] }
	forEachBenchVariant(b, fmt.Sprintf("quad_%dx%d", rows, k), func(b *testing.B) {
		for b.Loop() {
			for c0 := 0; c0 < rows; c0 += chunk {
				GemvF16x4([4][]float32{out(0, c0), out(1, c0), out(2, c0), out(3, c0)}, m[c0*k:(c0+chunk)*k], k, x)
			}
		}
		reportMACs(b, float64(4*rows*k))
	})
	forEachBenchVariant(b, fmt.Sprintf("pairs_%dx%d", rows, k), func(b *testing.B) {
		for b.Loop() {
			for c0 := 0; c0 < rows; c0 += chunk {
				GemvF16x2(out(0, c0), out(1, c0), m[c0*k:(c0+chunk)*k], k, x[0], x[1])
				GemvF16x2(out(2, c0), out(3, c0), m[c0*k:(c0+chunk)*k], k, x[2], x[3])
			}
		}
		reportMACs(b, float64(4*rows*k))
	})
}

// The small per-token ops; these show what they cost next to the matrix
// work (a 2560-wide GEMV is ~10-50 µs).
func BenchmarkRMSNorm(b *testing.B) {
	r := rand.New(rand.NewPCG(9, 9))
	x, w := randF32(r, 2560), randF32(r, 2560)
	dst := make([]float32, len(x))
	forEachBenchVariant(b, "2560", func(b *testing.B) {
		b.SetBytes(int64(4 * len(x)))
		for b.Loop() {
			RMSNorm(dst, x, w, 1e-5)
		}
	})
}

func BenchmarkSoftmax(b *testing.B) {
	r := rand.New(rand.NewPCG(10, 10))
	x := randF32(r, 4096)
	y := make([]float32, len(x))
	forEachBenchVariant(b, "4096", func(b *testing.B) {
		b.SetBytes(int64(4 * len(x)))
		for b.Loop() {
			copy(y, x)
			Softmax(y)
		}
	})
}

// benchGemvPool runs the decode GEMV over a rows×k matrix split across a
// pool of each thread count the way the model's linear layers split it
// (parallel.Pool.For with grain 16), so the per-chunk calls, the tails and
// the memory traffic of several cores are all in the measurement.
func benchGemvPool(b *testing.B, rows, k int, threads []int) {
	r := rand.New(rand.NewPCG(2, 3))
	stride := RowBytes(k)
	w := randCodes(r, rows, k, false)
	x := randInt8(r, PaddedK(k))
	sums, scales := []int32{0}, []float32{3}
	dst := make([]float32, rows)
	for _, t := range threads {
		pool := parallel.New(t)
		forEachBenchVariant(b, fmt.Sprintf("%dx%d_t%d", rows, k, t), func(b *testing.B) {
			b.SetBytes(int64(len(w)))
			for b.Loop() {
				pool.For(rows, 16, func(lo, hi int) {
					GemmI2S(dst[lo:], rows, w[lo*stride:hi*stride], stride, hi-lo, x, len(x), 1, sums, scales, 0.5)
				})
			}
			reportMACs(b, float64(rows*k))
		})
		pool.Close()
	}
}

// A 42 MB matrix streams from memory on every call; 256 rows (160 KB)
// stay in L2 and show what the kernel computes when memory is not the limit.
func BenchmarkGemvI2SPool(b *testing.B) {
	benchGemvPool(b, 65536, 2560, []int{1, 2})
	benchGemvPool(b, 256, 2560, []int{1})
}

// Quantised lm_heads: 16384 rows of 2560 (Q8_0 45 MB, Q6_K 34 MB) stream
// from memory.
func BenchmarkGemvBlockQ(b *testing.B) {
	const rows, k = 16384, 2560
	r := rand.New(rand.NewPCG(12, 12))
	x := randF32(r, k)
	dst := make([]float32, rows)
	for _, g := range blockGemvs {
		m := g.rand(r, rows, k)
		rb := k / g.bw * g.bb
		forEachBenchVariant(b, fmt.Sprintf("%s_%dx%d", g.name, rows, k), func(b *testing.B) {
			b.SetBytes(int64(len(m)))
			for b.Loop() {
				g.run(dst, m, rb, x)
			}
			reportMACs(b, float64(rows*k))
		})
	}
}

// A batch's Q6_K lm_head, as GemvF16x2's: 32 rows of 2560 (26 KB, in
// L1/L2), two vectors with GemvQ6KQ8Kx2 against GemvQ6KQ8K called twice.
func BenchmarkGemvQ6KQ8Kx2(b *testing.B) {
	const rows, k = 32, 2560
	r := rand.New(rand.NewPCG(13, 13))
	m := randQ6K(r, rows, k)
	var a0, a1 Q8K
	QuantizeQ8K(&a0, randF32(r, k))
	QuantizeQ8K(&a1, randF32(r, k))
	rb := k / Q6KBlockWeights * Q6KBlockBytes
	d0, d1 := make([]float32, rows), make([]float32, rows)
	forEachBenchVariant(b, fmt.Sprintf("pair_%dx%d", rows, k), func(b *testing.B) {
		for b.Loop() {
			GemvQ6KQ8Kx2(d0, d1, m, rb, &a0, &a1)
		}
		reportMACs(b, float64(2*rows*k))
	})
	forEachBenchVariant(b, fmt.Sprintf("twice_%dx%d", rows, k), func(b *testing.B) {
		for b.Loop() {
			GemvQ6KQ8K(d0, m, rb, &a0)
			GemvQ6KQ8K(d1, m, rb, &a1)
		}
		reportMACs(b, float64(2*rows*k))
	})
}

// Attention scores of one head at position 512: 512 key rows of 128, back
// to back as the head-major KV cache holds them, against DotF32 called per
// row.
func BenchmarkDotsF32(b *testing.B) {
	r := rand.New(rand.NewPCG(29, 29))
	const n, hd, stride = 512, 128, 128
	q, k := randF32(r, hd), randF32(r, (n-1)*stride+hd)
	dst := make([]float32, n)
	forEachBenchVariant(b, fmt.Sprintf("%dx%d", n, hd), func(b *testing.B) {
		b.SetBytes(int64(4 * n * hd))
		for b.Loop() {
			DotsF32(dst, q, k, stride)
		}
		reportMACs(b, float64(n*hd))
	})
	forEachBenchVariant(b, fmt.Sprintf("%dx%d_per_row", n, hd), func(b *testing.B) {
		b.SetBytes(int64(4 * n * hd))
		for b.Loop() {
			for j := range dst {
				dst[j] = DotF32(q, k[j*stride:j*stride+hd])
			}
		}
		reportMACs(b, float64(n*hd))
	})
}

// Attention output of one head at position 512: 512 value rows of 128,
// back to back as the head-major KV cache holds them.
func BenchmarkWeightedSum(b *testing.B) {
	r := rand.New(rand.NewPCG(23, 23))
	const n, hd, stride = 512, 128, 128
	w, src := randF32(r, n), randF32(r, (n-1)*stride+hd)
	dst := make([]float32, hd)
	forEachBenchVariant(b, fmt.Sprintf("%dx%d", n, hd), func(b *testing.B) {
		b.SetBytes(int64(4 * n * hd))
		for b.Loop() {
			WeightedSum(dst, w, src, stride)
		}
		reportMACs(b, float64(n*hd))
	})
}

// Attention of a group of four query heads (2B-4T, Llama3-8B) at position
// 2048 over one KV head's keys and values: scores, then value sums. The
// bench takes turns over 16 KV heads (64 MiB), so the cache comes from
// memory as it does in a model's forward pass; "per_head" runs DotsF32 and
// WeightedSum head by head, and "f16" reads a half-precision cache. Bytes
// are the float32 keys and values read once (half that for f16).
func BenchmarkGroupAttention(b *testing.B) {
	r := rand.New(rand.NewPCG(27, 27))
	const n, hd, heads, kvHeads = 2048, 128, 4, 16
	q := randF32(r, heads*hd)
	kv := randF32(r, 2*kvHeads*n*hd)
	scores := make([]float32, heads*n)
	out := make([]float32, heads*hd)
	head := func(i int) (k, v []float32) {
		o := 2 * (i % kvHeads) * n * hd
		return kv[o : o+n*hd], kv[o+n*hd : o+2*n*hd]
	}
	forEachBenchVariant(b, fmt.Sprintf("%dx%dx%d", n, hd, heads), func(b *testing.B) {
		b.SetBytes(int64(8 * n * hd))
		i := 0
		for b.Loop() {
			k, v := head(i)
			GroupDots(scores, q, k, hd)
			GroupWeightedSums(out, hd, hd, scores, n, v, hd)
			i++
		}
		reportMACs(b, float64(2*heads*n*hd))
	})
	kv16, _ := toF16(kv)
	forEachBenchVariant(b, fmt.Sprintf("%dx%dx%d_f16", n, hd, heads), func(b *testing.B) {
		b.SetBytes(int64(8 * n * hd))
		i := 0
		for b.Loop() {
			o := 2 * (i % kvHeads) * n * hd
			GroupDotsF16(scores, q, kv16[o:o+n*hd], hd)
			GroupWeightedSumsF16(out, hd, hd, scores, n, kv16[o+n*hd:o+2*n*hd], hd)
			i++
		}
		reportMACs(b, float64(2*heads*n*hd))
	})
	forEachBenchVariant(b, fmt.Sprintf("%dx%dx%d_per_head", n, hd, heads), func(b *testing.B) {
		b.SetBytes(int64(8 * n * hd))
		i := 0
		for b.Loop() {
			k, v := head(i)
			for g := range heads {
				DotsF32(scores[g*n:(g+1)*n], q[g*hd:(g+1)*hd], k, hd)
			}
			for g := range heads {
				WeightedSum(out[g*hd:(g+1)*hd], scores[g*n:(g+1)*n], v, hd)
			}
			i++
		}
		reportMACs(b, float64(2*heads*n*hd))
	})
}

func BenchmarkSquaredReLUMul(b *testing.B) {
	r := rand.New(rand.NewPCG(45, 45))
	g, u := randF32(r, 6912), randF32(r, 6912)
	forEachBenchVariant(b, "6912", func(b *testing.B) {
		b.SetBytes(int64(8 * len(g)))
		for b.Loop() {
			SquaredReLUMul(g, u)
		}
	})
}

// SiLU of values in [-6, 6), copied in each round so that repeated
// application does not drive them towards zero.
func BenchmarkSiLUMul(b *testing.B) {
	r := rand.New(rand.NewPCG(46, 46))
	x, u := randF32(r, 6912), randF32(r, 6912)
	for i := range x {
		x[i] *= 6
	}
	g := make([]float32, len(x))
	forEachBenchVariant(b, "6912", func(b *testing.B) {
		b.SetBytes(int64(8 * len(g)))
		for b.Loop() {
			copy(g, x)
			SiLUMul(g, u)
		}
	})
}
