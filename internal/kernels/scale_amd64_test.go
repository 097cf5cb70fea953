//go:build !noasm

package kernels

func scaleKernels() []scaleKernel {
	if !hasAVX2 {
		return nil
	}
	return []scaleKernel{{"avx2", 8, scaleMaxAVX2, scaleAVX2}}
}
