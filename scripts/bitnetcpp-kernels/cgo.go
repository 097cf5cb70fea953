//go:build bitnetcpp

package bitnetcppkernels

// #cgo CFLAGS: -O3 -march=native
// #include "bitnetcpp_kernels.h"
//
// // Decode: one activation vector against rows weight rows, one call, as
// // ggml's mul_mat calls vec_dot for a single activation column.
// static void bitnetcpp_gemv(float *dst, const uint8_t *w, const int8_t *y, int rows, int k) {
//     ggml_vec_dot_i2_i8_s_1x1(k, dst, 0, w, k, y, 0, rows);
// }
//
// // Prefill: blocks of ROW_BLOCK_SIZE weight rows × COL_BLOCK_SIZE
// // activation columns (gemm-config.h with ACT_PARALLEL: 4 × 128), each
// // weight row against the block's columns PARALLEL_SIZE at a time. dst is
// // column-major: dst[c·rows + r].
// static void bitnetcpp_gemm(float *dst, const uint8_t *w, const int8_t *y, int rows, int k, int n) {
//     for (int r0 = 0; r0 < rows; r0 += 4)
//         for (int c0 = 0; c0 < n; c0 += 128) {
//             int nc = n - c0 < 128 ? n - c0 : 128;
//             for (int r = r0; r < r0 + 4 && r < rows; r++)
//                 ggml_vec_dot_i2_i8_s_Nx1(k, &dst[(size_t)c0 * rows + r], rows, &w[(size_t)r * k / 4], k, &y[(size_t)c0 * k], k, nc);
//         }
// }
//
// // The F16 and Q6_K lm_heads: ggml's mul_mat calls vec_dot once per row
// // of these types.
// static void bitnetcpp_f16(float *dst, const uint16_t *w, const uint16_t *y, int rows, int k) {
//     for (int r = 0; r < rows; r++)
//         ggml_vec_dot_f16(k, &dst[r], 0, w + (size_t)r * k, 0, y, 0, 1);
// }
//
// static void bitnetcpp_q6k(float *dst, const uint8_t *w, const void *y, int rows, int k) {
//     size_t rb = (size_t)k / QK_K * sizeof(block_q6_K);
//     for (int r = 0; r < rows; r++)
//         ggml_vec_dot_q6_K_q8_K(k, &dst[r], 0, w + r * rb, 0, y, 0, 1);
// }
import "C"

import (
	"encoding/binary"
	"math"
	"unsafe"

	"github.com/bitnet-go/bitnet/internal/kernels"
)

// gemm runs bitnet.cpp's kernels: Σ code·y for each of rows weight rows
// (I2_S, k/4 bytes each) and n activation rows of k int8 values, into
// dst[a·rows + r]. The decode kernel serves n = 1 and the prefill one
// needs n to be a multiple of PARALLEL_SIZE.
func gemm(dst []float32, w []byte, y []int8, rows, k, n int) {
	d := (*C.float)(unsafe.Pointer(&dst[0]))
	pw := (*C.uint8_t)(unsafe.Pointer(&w[0]))
	py := (*C.int8_t)(unsafe.Pointer(&y[0]))
	if n == 1 {
		C.bitnetcpp_gemv(d, pw, py, C.int(rows), C.int(k))
		return
	}
	C.bitnetcpp_gemm(d, pw, py, C.int(rows), C.int(k), C.int(n))
}

// ggmlQ8K rewrites a as ggml's block_q8_K: per 256 values d, then the
// codes, then the 16 sums.
func ggmlQ8K(a *kernels.Q8K) []byte {
	nb := len(a.D)
	y := make([]byte, nb*292)
	for b := range nb {
		blk := y[b*292:]
		binary.LittleEndian.PutUint32(blk, math.Float32bits(a.D[b]))
		for i, q := range a.Q[b*256 : (b+1)*256] {
			blk[4+i] = byte(q)
		}
		for i, s := range a.BSums[b*16 : (b+1)*16] {
			binary.LittleEndian.PutUint16(blk[260+2*i:], uint16(s))
		}
	}
	return y
}

// q6k runs ggml's Q6_K kernel over rows rows of k weights (our Q6_K rows
// are ggml's block_q6_K) against activations made by ggmlQ8K.
func q6k(dst []float32, w, y []byte, rows, k int) {
	C.bitnetcpp_q6k((*C.float)(unsafe.Pointer(&dst[0])), (*C.uint8_t)(unsafe.Pointer(&w[0])), unsafe.Pointer(&y[0]), C.int(rows), C.int(k))
}

// f16 runs ggml's F16 kernel over rows rows of k halves against y, the
// activations already converted to halves, as ggml converts them to the
// F16 type's vec_dot_type once per matrix product.
func f16(dst []float32, w, y []uint16, rows, k int) {
	C.bitnetcpp_f16((*C.float)(unsafe.Pointer(&dst[0])), (*C.uint16_t)(unsafe.Pointer(&w[0])), (*C.uint16_t)(unsafe.Pointer(&y[0])), C.int(rows), C.int(k))
}
