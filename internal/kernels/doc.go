// Package kernels holds the numeric inner loops of the engine: ternary×int8
// dot products on the I2_S weight layout, per-token activation quantisation,
// F16/BF16 conversion and dot products, and the small float ops of a
// transformer block (RMSNorm, RoPE, softmax).
//
// Every kernel has a plain-Go reference in a *_generic.go file. Assembly
// versions live beside it and are chosen once, at start, from the CPU
// features; SetLevel lowers the level so that one machine can test every path.
//
// Weight layout ("I2S rows"): a ternary matrix of R rows (outputs) and K
// columns (inputs) is stored row by row. Each row is padded to Kp, the next
// multiple of 128, and takes Kp/4 bytes. A row is a sequence of 128-weight
// blocks of 32 bytes; weight j of a block lives in byte j%32 at bit shift
// 6-2*(j/32) (group 0 in the high bits), with codes 0,1,2 meaning -1,0,+1.
// Padding weights have code 1 (zero). When K is a multiple of 128 this is
// byte for byte the layout of bitnet.cpp's I2_S tensors, so GGUF I2_S data is
// used in place without a copy.
//
// The kernels know nothing of models: they take slices and sizes.
//
// # Exactness
//
// The integer kernels (DotI2S, GemmI2S, QuantizeRow, GemvQ6KQ8K,
// GemvQ8_0Q8) give bit-identical results at every level for every input,
// including codes of 3 and activations of -128 (QuantizeRow: for finite
// inputs; NaN and Inf inputs give unspecified but non-crashing results;
// GemvQ8_0Q8: for activations in [-127, 127], which is what QuantizeQ8
// makes). Their float epilogues ((float32(acc)-sum)/scale*wscale for
// GemmI2S, acc += (d·D)·float32(sum) per super-block for GemvQ6KQ8K, eight
// lanes of such products per block for GemvQ8_0Q8) use the same
// single-precision operations in the same order everywhere. F16RowToF32 is exact; a signalling NaN may
// come out quiet.
//
// The float dot products (DotF16, DotBF16, DotF32, GemvF16, WeightedSum,
// and the sum of squares of RMSNorm) sum in a different order per level
// (several vector chains, fused multiply-adds). Each result lies within (n+1)·2⁻²⁴·Σ|aᵢbᵢ| of the
// exact sum, the textbook bound of the sequential loop, so two levels differ
// by at most twice that; the tests check this bound. Q6_K and Q8_0 rows,
// as in ggml, multiply activations quantised to int8 per 256 values
// (QuantizeQ8K) and per 32 (QuantizeQ8): for Q6_K that is 1.4× faster than
// widening the weights to float, for Q8_0 1.25× (AVX2, rows in L2); the
// error it adds is at most half a quantisation step times Σ|wᵢ| per block
// (the tests check this), and it moved the perplexity of bitnet-tiny by
// 0.003 % with a Q6_K head and by 0.0008 % with a Q8_0 one. Within one
// level GemvF16, GemvF16x2 and GemvF16x4 (two and four vectors, each row
// widened once for all: a batch's lm_head; AVX2 and NEON) and DotF16
// agree bit for bit per row, as do
// GemvBF16x2 (two vectors; AVX2 and NEON) and DotBF16, and a GemvQ8_0Q8 or
// GemvQ6KQ8K row does not depend on the rows passed with it, whichever
// rows a caller groups together; GemvQ6KQ8Kx2 (two vectors, each row
// unpacked once for both; AVX2 and NEON) gives GemvQ6KQ8K's bits.
//
// # Files
//
// *_generic.go are the references and the whole noasm build. Per
// architecture, dispatch_<arch>.go detects features (golang.org/x/sys/cpu)
// and installs kernels, kernels_<arch>.go has the assembly stubs and their Go
// halves (bounds checks, tails, tiling), and *_<arch>.s the hand-written
// assembly. dispatch_generic.go serves `-tags noasm` and other
// architectures; its build tag is the negation of the asm files' tags.
//
// amd64 AVX2 (with FMA and F16C): all integer and float kernels. GemmI2S
// uses a 4-row kernel for one activation row (decode: one shift per block
// instead of three, the four rows read one after another, and software
// prefetch, without which it reads memory at half the rate), a 1-row ×
// 8-activation kernel for groups of eight activation rows of up to 4096
// values (prefill), a 2-row × 4-activation tile for longer rows, groups
// of four and three rows alone (with a fourth row of zeros; each
// activation vector loaded once for both rows), and a 4-row ×
// 3-activation tile for three rows left over; the tiles prefetch their
// weights too, which batches of a few sequences read from memory once.
// Two activation rows run the decode kernel twice over row blocks in L2. GemvQ8_0Q8 multiplies
// |q| by x·sign(q) with VPMADDUBSW; GemvQ6KQ8K decodes the six-bit codes
// in registers and multiplies with VPMADDUBSW/VPMADDWD.
// WeightedSum keeps 64 columns in registers per pass; DotsF32 runs
// DotF32's loop once per key row inside one call (also on NEON). GroupDots
// and GroupWeightedSums serve the query heads of one KV head together: each
// key row goes to every head while it is in L1 (heads in pairs that share
// the row's loads), and each value row likewise, four rows at a time into
// outputs that stay in L1, with software prefetch 16 rows ahead; both give
// exactly the per-head kernels' results (also on NEON, one head and one row
// at a time). GroupDotsF16 and GroupWeightedSumsF16 read a half-precision
// cache: AVX2 widens it in registers (VCVTPH2PS) inside the same loops,
// other levels widen 16 KiB blocks into L1 and run the float32 kernels,
// prefetching the next block; either way the results are exactly the
// float32 kernels' on the widened values. arm64 NEON: SDOT kernels (4×4 tile)
// where the CPU has the dot-product extension, widening multiplies where it
// has not, plus quantisation and the float kernels. amd64 AVX512 (AVX-512 F, BW,
// VL and VNNI, on top of AVX2): GemmI2S with VPDPBUSD, a 4-row kernel for
// decode and a 4-row × 4-activation tile for prefill; they return exact
// integer sums and the Go side applies the epilogue, and every other kernel
// is the AVX2 one.
// The small per-token ops have AVX2 versions: RMSNorm (float64 sum of
// squares), Softmax and ScaledSoftmax (a float32 exp polynomial; the
// scaling, maximum and normalisation are bit-identical), SiLUMul (the same
// polynomial, on -|x| so that it cannot overflow; within a few ulps),
// RopeNeoX and SquaredReLUMul (bit-identical). dotI2SFloat, QuantizeQ8K, QuantizeQ8 and Axpy are
// generic at every level. On arm64 WeightedSum, RMSNorm, RopeNeoX, SquaredReLUMul, SiLUMul and
// Softmax (the same exp polynomial) have NEON kernels; GemvQ6KQ8K rebuilds the
// codes 16 at a time and uses SDOT (or SMULL/SMLAL2 without it), one
// int32 vector per scale group, with the generic float epilogue in the
// assembly; GemvQ8_0Q8 uses SDOT (or SMULL, SADDLP and ADDP) per block.
//
// Tests run every kernel at every level in Available(); `go test
// -kernels.level=avx2` restricts them (and the benchmarks) to one level.
package kernels
