package kernels

// SumU64 adds up a buffer of words. It exists to measure memory read
// bandwidth, so it always runs the best version the CPU has (limited by
// memory, not by its add chain), whatever level SetLevel chose.
func SumU64(b []uint64) uint64 { return sumU64Best(b) }

// SumU64Prefetch is SumU64 with software prefetch ahead of the loads. Some
// CPUs stream faster with it (a Xeon's single thread: its matrix kernels,
// which prefetch, read faster than the plain sum) and some without (Zen 3),
// so a bandwidth test should run both and keep the faster.
func SumU64Prefetch(b []uint64) uint64 { return sumU64PFBest(b) }

func sumU64Generic(b []uint64) uint64 {
	var s0, s1, s2, s3, s4, s5, s6, s7 uint64
	i := 0
	for ; i+8 <= len(b); i += 8 {
		w := b[i : i+8 : i+8]
		s0 += w[0]
		s1 += w[1]
		s2 += w[2]
		s3 += w[3]
		s4 += w[4]
		s5 += w[5]
		s6 += w[6]
		s7 += w[7]
	}
	for ; i < len(b); i++ {
		s0 += b[i]
	}
	return s0 + s1 + s2 + s3 + s4 + s5 + s6 + s7
}
