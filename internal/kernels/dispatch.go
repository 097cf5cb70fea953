package kernels

import "fmt"

// Level is an instruction-set level that kernels may use.
type Level int

const (
	Generic Level = iota // plain Go
	AVX2                 // amd64 AVX2 (+F16C)
	AVX512               // amd64 AVX-512 BW/VL with VNNI
	NEON                 // arm64 ASIMD (+ dot product where present)
)

func (l Level) String() string {
	switch l {
	case Generic:
		return "generic"
	case AVX2:
		return "avx2"
	case AVX512:
		return "avx512vnni"
	case NEON:
		return "neon"
	}
	return fmt.Sprintf("Level(%d)", int(l))
}

// ParseLevel turns a level name as printed by String back into a Level.
func ParseLevel(s string) (Level, error) {
	for _, l := range []Level{Generic, AVX2, AVX512, NEON} {
		if l.String() == s {
			return l, nil
		}
	}
	return 0, fmt.Errorf("unknown ISA level %q (want generic, avx2, avx512vnni or neon)", s)
}

// The active implementations. They are set once by SetLevel (at init to the
// best level the CPU has) and read without locks afterwards, so SetLevel must
// not race with running kernels.
var (
	dotI2S          = dotI2SGeneric
	dotI2SFloat     = dotI2SFloatGeneric
	gemmI2S         = gemmI2SGeneric
	quantizeRow     = quantizeRowGeneric
	f16RowToF32     = f16RowToF32Generic
	dotF16          = dotF16Generic
	dotBF16         = dotBF16Generic
	dotF32          = dotF32Generic
	dotsF32         = dotsF32Generic
	weightedSum     = weightedSumGeneric
	weightedSums    = weightedSumsGeneric
	dotsF16         = dotsF16Generic
	weightedSumsF16 = weightedSumsF16Generic
	rmsNorm         = rmsNormGeneric
	squaredReLUMul  = squaredReLUMulGeneric
	siluMul         = siluMulGeneric
	softmax         = softmaxGeneric
	ropeNeoX        = ropeNeoXGeneric
	gemvF16         = gemvF16Generic
	gemvF16x2       = gemvF16x2ByOne
	gemvF16x4       = gemvF16x4ByTwo
	gemvBF16x2      = gemvBF16x2ByOne
	gemvQ6KQ8Kx2    = gemvQ6KQ8Kx2ByOne
	gemvQ8_0Q8      = gemvQ8_0Q8Generic
	gemvQ6KQ8K      = gemvQ6KQ8KGeneric
	sumU64          = sumU64Generic
	sumU64PF        = sumU64Generic
	level           = Generic
	detectedLevel   = Generic
)

// disableDotProd makes SetLevel(NEON) pick the kernels that do without the
// dot-product instructions, so tests can run both arm64 paths on one CPU.
//
//lint:ignore U1000 read by dispatch_arm64.go and by the tests
var disableDotProd bool

func init() {
	detectedLevel = detect()
	SetLevel(detectedLevel)
	sumU64Best, sumU64PFBest = sumU64, sumU64PF
}

// sumU64Best is the fastest streaming sum whatever the level in use: the
// bandwidth test measures the machine, not the kernels under test.
var sumU64Best, sumU64PFBest func([]uint64) uint64

// Detected returns the best level this CPU supports.
func Detected() Level { return detectedLevel }

// Current returns the level in use.
func Current() Level { return level }

// Available lists the levels this CPU can run, lowest first.
func Available() []Level {
	out := []Level{Generic}
	for _, l := range []Level{AVX2, AVX512, NEON} {
		if supported(l) {
			out = append(out, l)
		}
	}
	return out
}

// SetLevel selects the kernels of level l, or of the best supported level
// below it. It returns the level actually in use.
func SetLevel(l Level) Level {
	dotI2S, dotI2SFloat, gemmI2S = dotI2SGeneric, dotI2SFloatGeneric, gemmI2SGeneric
	quantizeRow, f16RowToF32 = quantizeRowGeneric, f16RowToF32Generic
	dotF16, dotBF16, dotF32, dotsF32 = dotF16Generic, dotBF16Generic, dotF32Generic, dotsF32Generic
	weightedSum, weightedSums = weightedSumGeneric, weightedSumsGeneric
	dotsF16, weightedSumsF16 = dotsF16Generic, weightedSumsF16Generic
	rmsNorm, squaredReLUMul, siluMul = rmsNormGeneric, squaredReLUMulGeneric, siluMulGeneric
	softmax, ropeNeoX = softmaxGeneric, ropeNeoXGeneric
	gemvF16, gemvQ8_0Q8, gemvQ6KQ8K = gemvF16Generic, gemvQ8_0Q8Generic, gemvQ6KQ8KGeneric
	gemvF16x2, gemvF16x4, gemvBF16x2, gemvQ6KQ8Kx2 = gemvF16x2ByOne, gemvF16x4ByTwo, gemvBF16x2ByOne, gemvQ6KQ8Kx2ByOne
	sumU64, sumU64PF = sumU64Generic, sumU64Generic
	level = Generic
	for _, c := range []Level{AVX2, AVX512, NEON} {
		if c <= l && supported(c) {
			install(c)
			level = c
		}
	}
	return level
}

// DotI2S returns Σ code_j·x_j over the blocks of one I2_S row; len(x) must be
// a multiple of 128 and len(w) at least len(x)/4.
func DotI2S(w []byte, x []int8) int32 { return dotI2S(w, x) }

// DotI2SFloat returns Σ w_j·x_j for one I2_S row and float activations.
func DotI2SFloat(w []byte, x []float32) float32 { return dotI2SFloat(w, x) }

// GemmI2S multiplies rows I2_S weight rows (stride bytes each) by n int8
// activation rows (ldx apart, each padded to stride*4 values) and writes
// dst[i*ldd+r] = (Σ code·x - sums[i]) / scales[i] · wscale.
func GemmI2S(dst []float32, ldd int, w []byte, stride, rows int, x []int8, ldx, n int, sums []int32, scales []float32, wscale float32) {
	gemmI2S(dst, ldd, w, stride, rows, x, ldx, n, sums, scales, wscale)
}

// QuantizeRow quantises one activation row to int8; see quantizeRowGeneric.
func QuantizeRow(q []int8, x []float32) (scale float32, sum int32) { return quantizeRow(q, x) }

// F16RowToF32 widens a row of half-precision values.
func F16RowToF32(dst []float32, src []uint16) { f16RowToF32(dst, src) }

// DotF16 returns Σ row_i·x_i for a half-precision row.
func DotF16(row []uint16, x []float32) float32 { return dotF16(row, x) }

// DotBF16 returns Σ row_i·x_i for a bfloat16 row.
func DotBF16(row []uint16, x []float32) float32 { return dotBF16(row, x) }

// DotF32 returns Σ a_i·b_i.
func DotF32(a, b []float32) float32 { return dotF32(a, b) }

// DotsF32 sets dst[j] = DotF32(q, k[j*stride:j*stride+len(q)]) for
// j < len(dst), with exactly DotF32's results: attention's scores of one
// query against len(dst) key rows of the KV cache, stride values apart,
// without a call per key. k must hold (len(dst)-1)*stride + len(q) values.
func DotsF32(dst, q, k []float32, stride int) {
	if len(dst) == 0 {
		return
	}
	if stride < len(q) {
		panic("kernels: DotsF32 stride shorter than the query")
	}
	_ = k[(len(dst)-1)*stride+len(q)-1]
	dotsF32(dst, q, k, stride, len(dst), 1, 0)
}

// WeightedSum sets dst[i] = Σ_j w[j]·src[j*stride+i] for i < len(dst): a
// weighted sum of len(w) rows that lie stride values apart (attention's
// softmax weights times the value rows of the KV cache). src must hold
// (len(w)-1)*stride + len(dst) values.
func WeightedSum(dst, w, src []float32, stride int) {
	if len(w) > 0 && len(dst) > 0 {
		_ = src[(len(w)-1)*stride+len(dst)-1]
	}
	weightedSum(dst, w, src, stride)
}

// GemvF16 computes dst[r] = Σ_j rows[r*k+j]·x[j] for r < len(dst): a
// matrix of half-precision rows, k values each, times one float vector (the
// tied lm_head). Each row's sum is formed in the same order as DotF16 at the
// same level, so dst[r] == DotF16(rows[r*k:(r+1)*k], x) bit for bit, however
// the caller splits the rows.
func GemvF16(dst []float32, rows []uint16, k int, x []float32) { gemvF16(dst, rows, k, x) }

// GemvF16x2 is GemvF16 for two vectors at once, d0 from x0 and d1 from x1
// (the same length): a batch's lm_head, which can then widen each row
// once for both. The results are GemvF16's bit for bit.
func GemvF16x2(d0, d1 []float32, rows []uint16, k int, x0, x1 []float32) {
	if gemv2Args("GemvF16x2", d0, d1, rows, k, x0, x1) {
		gemvF16x2(d0, d1, rows, k, x0, x1)
	}
}

// gemv2Args checks the lengths of a two-vector GEMV's arguments, panicking
// where they are short, and reports whether there are rows to compute.
func gemv2Args(name string, d0, d1 []float32, rows []uint16, k int, x0, x1 []float32) bool {
	if len(d1) < len(d0) || len(x0) < k || len(x1) < k {
		panic("kernels: " + name + " outputs or vectors shorter than the rows")
	}
	if len(d0) == 0 {
		return false
	}
	_ = rows[len(d0)*k-1]
	return true
}

// GemvF16x4 is GemvF16 for four vectors at once, d[j] from x[j] (all of
// one length): a batch's lm_head, which then reads and widens each row
// once for all four. The results are GemvF16's bit for bit.
func GemvF16x4(d [4][]float32, rows []uint16, k int, x [4][]float32) {
	for j := range d {
		if len(d[j]) < len(d[0]) || len(x[j]) < k {
			panic("kernels: GemvF16x4 outputs or vectors shorter than the rows")
		}
	}
	if len(d[0]) == 0 {
		return
	}
	_ = rows[len(d[0])*k-1]
	gemvF16x4(d, rows, k, x)
}

// gemvF16x4ByTwo is GemvF16x4 at the levels without a four-vector kernel.
func gemvF16x4ByTwo(d [4][]float32, rows []uint16, k int, x [4][]float32) {
	gemvF16x2(d[0], d[1], rows, k, x[0], x[1])
	gemvF16x2(d[2], d[3], rows, k, x[2], x[3])
}

// GemvBF16x2 computes d0[r] = DotBF16(rows[r*k:(r+1)*k], x0) and d1[r] from
// x1 for r < len(d0), bit for bit: a batch's BF16 lm_head, which can then
// read and widen each row once for both.
func GemvBF16x2(d0, d1 []float32, rows []uint16, k int, x0, x1 []float32) {
	if gemv2Args("GemvBF16x2", d0, d1, rows, k, x0, x1) {
		gemvBF16x2(d0, d1, rows, k, x0, x1)
	}
}

// gemvBF16x2ByOne is GemvBF16x2 at the levels without a two-vector kernel.
func gemvBF16x2ByOne(d0, d1 []float32, rows []uint16, k int, x0, x1 []float32) {
	for i := range d0 {
		row := rows[i*k : (i+1)*k]
		d0[i] = dotBF16(row, x0[:k])
		d1[i] = dotBF16(row, x1[:k])
	}
}

// gemvF16x2ByOne is GemvF16x2 at the levels without a two-vector kernel.
func gemvF16x2ByOne(d0, d1 []float32, rows []uint16, k int, x0, x1 []float32) {
	gemvF16(d0, rows, k, x0)
	gemvF16(d1, rows, k, x1)
}
