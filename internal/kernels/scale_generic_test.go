//go:build noasm || !(amd64 || arm64)

package kernels

func scaleKernels() []scaleKernel { return nil }
