package kernels

import "sync"

// Grouped-query attention: the query heads of a group share one KV head's
// keys and values. Taken one head at a time, a long cache (1 MiB of keys per
// head at 2048 positions of 128 float32s, more than L2) comes from memory
// once per query head; these kernels let every head of the group take each
// row while it is in L1, so the group reads the cache once. Every result is
// exactly the per-head kernel's.
//
// A half-precision cache gives exactly the float32 kernels' results on the
// widened rows. AVX2 widens in registers; the other levels widen a block
// of rows at a time into a float32 buffer in L1, asking for the next block
// before the float32 kernels run on this one so that memory keeps
// streaming meanwhile.

// f16Block is the size in float32s of the widened block (16 KiB).
const f16Block = 4096

// GroupDots sets dst[g*n+j] = DotF32(q[g*hd:(g+1)*hd], k[j*hd:(j+1)*hd])
// for each of the len(q)/hd query heads g and each of the n = len(k)/hd key
// rows j: the attention scores of a group of heads against one KV head's
// keys, with exactly the results of DotsF32 head by head.
func GroupDots(dst, q, k []float32, hd int) {
	n, heads := groupDims("GroupDots", len(q), len(k), hd)
	if n == 0 || heads == 0 {
		return
	}
	dotsF32(dst[:heads*n], q, k, hd, n, heads, n)
}

// GroupDotsF16 is GroupDots for half-precision keys: its results are
// exactly GroupDots' on the keys widened to float32.
func GroupDotsF16(dst, q []float32, k []uint16, hd int) {
	n, heads := groupDims("GroupDotsF16", len(q), len(k), hd)
	if n == 0 || heads == 0 {
		return
	}
	_ = dst[heads*n-1]
	dotsF16(dst, q, k, hd, n, heads, n)
}

// dotsF16Generic is dotsF32 on blocks of key rows widened into a buffer.
func dotsF16Generic(dst, q []float32, k []uint16, stride, rows, heads, dstStride int) {
	hd := len(q) / heads
	buf, block, done := widenBuffer(hd)
	defer done()
	for j0 := 0; j0 < rows; j0 += block {
		j1 := min(j0+block, rows)
		b := widenRows(buf, k, stride, hd, j0, j1)
		dotsF32(dst[j0:], q, b, hd, j1-j0, heads, dstStride)
	}
}

// widenRows widens rows j0..j1-1 of width values, stride apart, into buf,
// back to back, and asks for the next as many rows.
func widenRows(buf []float32, src []uint16, stride, width, j0, j1 int) []float32 {
	b := buf[:(j1-j0)*width]
	if stride == width {
		f16RowToF32(b, src[j0*stride:(j1-1)*stride+width])
	} else {
		for j := j0; j < j1; j++ {
			f16RowToF32(b[(j-j0)*width:(j-j0+1)*width], src[j*stride:j*stride+width])
		}
	}
	if next := min(j1+(j1-j0), len(src)/stride); next > j1 {
		s := src[j1*stride : (next-1)*stride+width]
		prefetch(&s[0], 2*len(s))
	}
	return b
}

// groupDims returns the rows and heads of a group kernel's query and key
// lengths, and panics on lengths that are not whole heads.
func groupDims(name string, nq, nk, hd int) (n, heads int) {
	if hd <= 0 || nq%hd != 0 || nk%hd != 0 {
		panic("kernels: " + name + " lengths are not multiples of the head size")
	}
	return nk / hd, nq / hd
}

// widenBuffers recycles the widening buffers: attention calls a group
// kernel for every KV head of every layer.
var widenBuffers = sync.Pool{New: func() any { return new([f16Block]float32) }}

// widenBuffer returns a buffer for widened rows of width floats, how many
// rows it holds, and a func that gives it back.
func widenBuffer(width int) ([]float32, int, func()) {
	if width > f16Block {
		return make([]float32, width), 1, func() {}
	}
	b := widenBuffers.Get().(*[f16Block]float32)
	rows := f16Block / width
	return b[:rows*width], rows, func() { widenBuffers.Put(b) }
}

// GroupWeightedSums sets dst[g*dstStride+i] = Σ_j w[g*n+j]·src[j*stride+i]
// for i < cols, each of the len(w)/n heads g and the n rows j: the attention
// outputs of a group of heads from one KV head's values, with exactly the
// results of WeightedSum head by head. dstStride must be at least cols.
func GroupWeightedSums(dst []float32, dstStride, cols int, w []float32, n int, src []float32, stride int) {
	heads := groupSumDims(dst, dstStride, cols, len(w), n, len(src), stride)
	if heads == 0 {
		return
	}
	weightedSums(dst, dstStride, cols, w, n, n, heads, src, stride)
}

// GroupWeightedSumsF16 is GroupWeightedSums for half-precision values: its
// results are exactly GroupWeightedSums' on the values widened to float32.
func GroupWeightedSumsF16(dst []float32, dstStride, cols int, w []float32, n int, src []uint16, stride int) {
	heads := groupSumDims(dst, dstStride, cols, len(w), n, len(src), stride)
	if heads == 0 {
		return
	}
	weightedSumsF16(dst, dstStride, cols, w, n, n, heads, src, stride)
}

// weightedSumsF16Generic is weightedSums on blocks of value rows widened
// into a buffer.
func weightedSumsF16Generic(dst []float32, dstStride, cols int, w []float32, wStride, rows, heads int, src []uint16, stride int) {
	buf, block, done := widenBuffer(cols)
	defer done()
	for j0 := 0; j0 < rows; j0 += block {
		j1 := min(j0+block, rows)
		b := widenRows(buf, src, stride, cols, j0, j1)
		weightedSums(dst, dstStride, cols, w[j0:], wStride, j1-j0, heads, b, cols)
	}
}

// groupSumDims checks a value-sum group's lengths, zeroes its outputs and
// returns its heads (0 when there is nothing to do).
func groupSumDims(dst []float32, dstStride, cols, nw, n, nsrc, stride int) int {
	if n <= 0 || nw%n != 0 || dstStride < cols || stride < cols {
		panic("kernels: GroupWeightedSums lengths do not fit")
	}
	heads := nw / n
	if cols == 0 || heads == 0 {
		return 0
	}
	_ = dst[(heads-1)*dstStride+cols-1]
	if (n-1)*stride+cols > nsrc {
		panic("kernels: GroupWeightedSums values are shorter than n rows")
	}
	for g := range heads {
		clear(dst[g*dstStride : g*dstStride+cols])
	}
	return heads
}
