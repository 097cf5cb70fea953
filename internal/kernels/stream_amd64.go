//go:build !noasm

package kernels

//go:noescape
func sumU64AVX2(p *uint64, n int) uint64

//go:noescape
func sumU64PFAVX2(p *uint64, n int) uint64

func sumU64AVX2Go(b []uint64) uint64   { return sumU64With(sumU64AVX2, b) }
func sumU64PFAVX2Go(b []uint64) uint64 { return sumU64With(sumU64PFAVX2, b) }

// sumU64With runs an assembly sum over the multiple of 16 words it takes
// and adds the rest.
func sumU64With(sum func(*uint64, int) uint64, b []uint64) uint64 {
	v := len(b) &^ 15
	var s uint64
	if v > 0 {
		s = sum(&b[0], v)
	}
	return s + sumU64Generic(b[v:])
}
