//go:build !noasm

package kernels

import "golang.org/x/sys/cpu"

// ASIMD is part of ARMv8-A, so NEON is always there; the dot-product
// instructions (SDOT, ARMv8.2) are optional and picked per call of install.
var hasDotProd = cpu.ARM64.HasASIMDDP

func detect() Level { return NEON }

func supported(l Level) bool { return l == Generic || l == NEON }

func dotProdAvailable() bool { return hasDotProd }

func install(l Level) {
	if l != NEON {
		return
	}
	if hasDotProd && !disableDotProd {
		dotI2S = dotI2SSDOTGo
		gemmI2S = gemmI2SSDOTGo
		gemvQ6KQ8K = gemvQ6KQ8KSDOTGo
		gemvQ6KQ8Kx2 = gemvQ6KQ8Kx2SDOTGo
		gemvQ8_0Q8 = gemvQ8_0Q8SDOTGo
	} else {
		dotI2S = dotI2SNEONGo
		gemmI2S = gemmI2SNoDotGo
		gemvQ6KQ8K = gemvQ6KQ8KNoDotGo
		gemvQ6KQ8Kx2 = gemvQ6KQ8Kx2NoDotGo
		gemvQ8_0Q8 = gemvQ8_0Q8NoDotGo
	}
	quantizeRow = quantizeRowNEONGo
	f16RowToF32 = f16RowToF32NEONGo
	dotF16 = dotF16NEONGo
	gemvF16 = gemvF16NEONGo
	gemvF16x2 = gemvF16x2NEONGo
	gemvF16x4 = gemvF16x4NEONGo
	dotBF16 = dotBF16NEONGo
	gemvBF16x2 = gemvBF16x2NEONGo
	dotF32 = dotF32NEONGo
	dotsF32 = dotsF32NEONGo
	weightedSum = weightedSumNEONGo
	weightedSums = weightedSumsNEONGo
	rmsNorm = rmsNormNEONGo
	squaredReLUMul = squaredReLUMulNEONGo
	siluMul = siluMulNEONGo
	ropeNeoX = ropeNeoXNEONGo
	softmax = softmaxNEONGo
}
