//go:build !noasm

package kernels

import "golang.org/x/sys/cpu"

// The AVX2 level also needs FMA and F16C; every AVX2 CPU shipped has both,
// but a hypervisor may hide them, so check rather than assume.
var hasAVX2 = cpu.X86.HasAVX2 && cpu.X86.HasFMA && cpu.X86.HasF16C

// The AVX512 level adds VNNI kernels for the ternary matrix products on
// top of the AVX2 ones, so it needs everything AVX2 does.
var hasAVX512VNNI = hasAVX2 && cpu.X86.HasAVX512F && cpu.X86.HasAVX512BW &&
	cpu.X86.HasAVX512VL && cpu.X86.HasAVX512VNNI

func detect() Level {
	switch {
	case hasAVX512VNNI:
		return AVX512
	case hasAVX2:
		return AVX2
	}
	return Generic
}

func supported(l Level) bool {
	switch l {
	case Generic:
		return true
	case AVX2:
		return hasAVX2
	case AVX512:
		return hasAVX512VNNI
	}
	return false
}

// install is called for each supported level up to the chosen one, in
// order, so AVX512 only replaces what it improves.
func install(l Level) {
	switch l {
	case AVX2:
		installAVX2()
	case AVX512:
		gemmI2S = gemmI2SVNNIGo
	}
}

func installAVX2() {
	dotI2S = dotI2SAVX2Go
	gemmI2S = gemmI2SAVX2Go
	quantizeRow = quantizeRowAVX2Go
	f16RowToF32 = f16RowToF32AVX2Go
	dotF16 = dotF16AVX2Go
	gemvF16 = gemvF16AVX2Go
	gemvF16x2 = gemvF16x2AVX2Go
	gemvF16x4 = gemvF16x4AVX2Go
	gemvBF16x2 = gemvBF16x2AVX2Go
	gemvQ8_0Q8 = gemvQ8_0Q8AVX2Go
	gemvQ6KQ8K = gemvQ6KQ8KAVX2Go
	gemvQ6KQ8Kx2 = gemvQ6KQ8Kx2AVX2Go
	sumU64 = sumU64AVX2Go
	sumU64PF = sumU64PFAVX2Go
	dotBF16 = dotBF16AVX2Go
	dotF32 = dotF32AVX2Go
	dotsF32 = dotsF32AVX2Go
	weightedSum = weightedSumAVX2Go
	weightedSums = weightedSumsAVX2Go
	dotsF16 = dotsF16AVX2Go
	weightedSumsF16 = weightedSumsF16AVX2Go
	rmsNorm = rmsNormAVX2Go
	squaredReLUMul = squaredReLUMulAVX2Go
	siluMul = siluMulAVX2Go
	softmax = softmaxAVX2Go
	ropeNeoX = ropeNeoXAVX2Go
}

func dotProdAvailable() bool { return false }
