//go:build !noasm

package kernels

func scaleKernels() []scaleKernel {
	return []scaleKernel{{"neon", 4, scaleMaxNEON, scaleNEON}}
}
