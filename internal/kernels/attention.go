package kernels

// Grouped-query attention: the query heads of a group share one KV head's
// keys and values. Taken one head at a time, a long cache (1 MiB of keys per
// head at 2048 positions of 128 float32s, more than L2) comes from memory
// once per query head; these kernels let every head of the group take each
// row while it is in L1, so the group reads the cache once. Every result is
// exactly the per-head kernel's.

// GroupDots sets dst[g*n+j] = DotF32(q[g*hd:(g+1)*hd], k[j*hd:(j+1)*hd])
// for each of the len(q)/hd query heads g and each of the n = len(k)/hd key
// rows j: the attention scores of a group of heads against one KV head's
// keys, with exactly the results of DotsF32 head by head.
func GroupDots(dst, q, k []float32, hd int) {
	if hd <= 0 || len(q)%hd != 0 || len(k)%hd != 0 {
		panic("kernels: GroupDots lengths are not multiples of the head size")
	}
	n, heads := len(k)/hd, len(q)/hd
	if n == 0 || heads == 0 {
		return
	}
	dotsF32(dst[:heads*n], q, k, hd, heads)
}

// GroupWeightedSums sets dst[g*dstStride+i] = Σ_j w[g*n+j]·src[j*stride+i]
// for i < cols, each of the len(w)/n heads g and the n rows j: the attention
// outputs of a group of heads from one KV head's values, with exactly the
// results of WeightedSum head by head. dstStride must be at least cols.
func GroupWeightedSums(dst []float32, dstStride, cols int, w []float32, n int, src []float32, stride int) {
	if n <= 0 || len(w)%n != 0 || dstStride < cols || stride < cols {
		panic("kernels: GroupWeightedSums lengths do not fit")
	}
	heads := len(w) / n
	if cols == 0 || heads == 0 {
		return
	}
	_ = dst[(heads-1)*dstStride+cols-1]
	_ = src[(n-1)*stride+cols-1]
	weightedSums(dst, dstStride, cols, w, n, src, stride)
}
