//go:build !noasm

package kernels

//go:noescape
func sumU64AVX2(p *uint64, n int) uint64

//go:noescape
func sumU64PFAVX2(p *uint64, n int) uint64

func sumU64PFAVX2Go(b []uint64) uint64 {
	v := len(b) &^ 15
	var s uint64
	if v > 0 {
		s = sumU64PFAVX2(&b[0], v)
	}
	return s + sumU64Generic(b[v:])
}

func sumU64AVX2Go(b []uint64) uint64 {
	v := len(b) &^ 15
	var s uint64
	if v > 0 {
		s = sumU64AVX2(&b[0], v)
	}
	return s + sumU64Generic(b[v:])
}
