//go:build !noasm

package kernels

import "golang.org/x/sys/cpu"

// The AVX2 level also needs FMA and F16C; every AVX2 CPU shipped has both,
// but a hypervisor may hide them, so check rather than assume.
var hasAVX2 = cpu.X86.HasAVX2 && cpu.X86.HasFMA && cpu.X86.HasF16C

// AVX512 is not offered: there are no AVX-512 kernels yet (see doc.go).

func detect() Level {
	if hasAVX2 {
		return AVX2
	}
	return Generic
}

func supported(l Level) bool {
	return l == Generic || l == AVX2 && hasAVX2
}

func install(l Level) {
	if l != AVX2 {
		return
	}
	dotI2S = dotI2SAVX2Go
	gemmI2S = gemmI2SAVX2Go
	quantizeRow = quantizeRowAVX2Go
	f16RowToF32 = f16RowToF32AVX2Go
	dotF16 = dotF16AVX2Go
	gemvF16 = gemvF16AVX2Go
	gemvQ8_0 = gemvQ8_0AVX2Go
	gemvQ6K = gemvQ6KAVX2Go
	sumU64 = sumU64AVX2Go
	dotBF16 = dotBF16AVX2Go
	dotF32 = dotF32AVX2Go
	weightedSum = weightedSumAVX2Go
}

func dotProdAvailable() bool { return false }
