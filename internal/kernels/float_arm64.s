//go:build !noasm

#include "textflag.h"
#include "neon_arm64.h"

// Activation quantisation and float kernels, arm64 NEON. The Go wrappers in
// kernels_arm64.go hand these whole vector steps only and finish the tails.
// Instructions the Go assembler lacks are WORDs built by these macros (and
// those of neon_arm64.h) from register numbers (base opcodes checked
// against GNU as).

#define FABS_S(d, n) WORD $(0x4EA0F800 | ((n)<<5) | (d))
#define FCMEQ_S(d, n, m) WORD $(0x4E20E400 | ((m)<<16) | ((n)<<5) | (d))
#define FMAX_S(d, n, m) WORD $(0x4E20F400 | ((m)<<16) | ((n)<<5) | (d))
#define FMAXV_S(d, n) WORD $(0x6E30F800 | ((n)<<5) | (d))
// FMAXNM, FMAXNMV: the maximum of the numbers, ignoring NaNs
#define FMAXNM_S(d, n, m) WORD $(0x4E20C400 | ((m)<<16) | ((n)<<5) | (d))
#define FMAXNMV_S(d, n) WORD $(0x6E30C800 | ((n)<<5) | (d))
#define FMLA_S(d, n, m) WORD $(0x4E20CC00 | ((m)<<16) | ((n)<<5) | (d))
// FCVTNS Vd.4S, Vn.4S: to int32, round to nearest, ties to even (fixed
// rounding, independent of FPCR)
#define FCVTNS_S(d, n) WORD $(0x4E21A800 | ((n)<<5) | (d))
// SQXTN Vd.4H, Vn.4S / SQXTN2 Vd.8H, Vn.4S / SQXTN Vd.8B, Vn.8H / SQXTN2 Vd.16B, Vn.8H
#define SQXTN_H(d, n) WORD $(0x0E614800 | ((n)<<5) | (d))
#define SQXTN2_H(d, n) WORD $(0x4E614800 | ((n)<<5) | (d))
#define SQXTN_B(d, n) WORD $(0x0E214800 | ((n)<<5) | (d))
#define SQXTN2_B(d, n) WORD $(0x4E214800 | ((n)<<5) | (d))
// ZIP1/ZIP2 Vd.8H, Vn.8H, Vm.8H
#define ZIP1_H(d, n, m) WORD $(0x4E403800 | ((m)<<16) | ((n)<<5) | (d))
#define ZIP2_H(d, n, m) WORD $(0x4E407800 | ((m)<<16) | ((n)<<5) | (d))

// The four float32 accumulators of the dot products (V16-V19): zero them;
// sum them ((16+17)+(18+19), then pairwise across lanes) into F0.
#define ZERO_V16_V19 ZERO_V4(V16, V17, V18, V19)

#define DOT4_SUM DOT4_SUM_OF(16, 17, 18, 19)

// ZERO_V4 clears four vector registers.
#define ZERO_V4(a, b, c, d) \
	VEOR a.B16, a.B16, a.B16; \
	VEOR b.B16, b.B16, b.B16; \
	VEOR c.B16, c.B16, c.B16; \
	VEOR d.B16, d.B16, d.B16

// DOT4_SUM_OF: the same sum of four accumulators a, b, c, d into F0.
#define DOT4_SUM_OF(a, b, c, d) \
	FADD_S(a, a, b);  \
	FADD_S(c, c, d);  \
	FADD_S(a, a, c);  \
	FADDP_S(a, a, a); \
	FADDP_SCALAR(0, a)

// GEMV2_NEON is the body of the two-vector kernels (gemvF16x2NEON,
// gemvBF16x2NEON): each of nrows rows (k halves apart) is widened once,
// 16 values a step, with LO/HI (the low and high four values of a vector
// of eight halves), for dots with x0 into d0 and x1 into d1, each in the
// one-vector kernel's four chains and sum. BF16's widening interleaves
// zeros from V31, which the macro clears. It stands above every TEXT
// because go vet checks a macro's argument references against the TEXT
// above it.
#define GEMV2_NEON(LO, HI, Lrow, Lloop, Lsum, Lret) \
	MOVD d0+0(FP), R4;                              \
	MOVD d1+8(FP), R5;                              \
	MOVD rows+16(FP), R6;                           \
	MOVD k+24(FP), R7;                              \
	LSL  $1, R7, R7;                                \
	MOVD nrows+32(FP), R8;                          \
	VEOR V31.B16, V31.B16, V31.B16;                 \
	CBZ  R8, Lret;                                  \
Lrow:                                               \
	MOVD R6, R0;                                    \
	MOVD x0+40(FP), R1;                             \
	MOVD x1+48(FP), R3;                             \
	MOVD n+56(FP), R2;                              \
	ZERO_V16_V19;                                   \
	ZERO_V4(V20, V21, V22, V23);                    \
	LSR  $4, R2, R2;                                \
	CBZ  R2, Lsum;                                  \
Lloop:                                              \
	VLD1.P 32(R0), [V0.H8, V1.H8];                  \
	VLD1.P 64(R1), [V4.S4, V5.S4, V6.S4, V7.S4];    \
	VLD1.P 64(R3), [V8.S4, V9.S4, V10.S4, V11.S4];  \
	LO(2, 0);                                       \
	HI(3, 0);                                       \
	LO(12, 1);                                      \
	HI(13, 1);                                      \
	FMLA_S(16, 2, 4);                               \
	FMLA_S(17, 3, 5);                               \
	FMLA_S(18, 12, 6);                              \
	FMLA_S(19, 13, 7);                              \
	FMLA_S(20, 2, 8);                               \
	FMLA_S(21, 3, 9);                               \
	FMLA_S(22, 12, 10);                             \
	FMLA_S(23, 13, 11);                             \
	SUBS   $1, R2, R2;                              \
	BNE    Lloop;                                   \
Lsum:                                               \
	DOT4_SUM_OF(16, 17, 18, 19);                    \
	FMOVS F0, (R4);                                 \
	DOT4_SUM_OF(20, 21, 22, 23);                    \
	FMOVS F0, (R5);                                 \
	ADD   $4, R4;                                   \
	ADD   $4, R5;                                   \
	ADD   R7, R6;                                   \
	SUBS  $1, R8, R8;                               \
	BNE   Lrow;                                     \
Lret:                                               \
	RET

#define WIDEN_BF16_LO(d, s) ZIP1_H(d, 31, s)
#define WIDEN_BF16_HI(d, s) ZIP2_H(d, 31, s)

// func absMaxNEON(x *float32, n int) float32
// n is a multiple of 16. FMAX propagates NaNs, so NaN lanes are zeroed
// first (FCMEQ v,v is false only for NaN); the generic `a > mx` skips them,
// and since |x| >= 0 a zero in their place changes nothing.
TEXT ·absMaxNEON(SB), NOSPLIT, $0-20
	MOVD x+0(FP), R0
	MOVD n+8(FP), R1
	ZERO_V16_V19
	LSR  $4, R1, R1
	CBZ  R1, amax_done

amax_loop:
	VLD1.P 64(R0), [V0.S4, V1.S4, V2.S4, V3.S4]
	FABS_S(0, 0)
	FABS_S(1, 1)
	FABS_S(2, 2)
	FABS_S(3, 3)
	FCMEQ_S(4, 0, 0)
	FCMEQ_S(5, 1, 1)
	FCMEQ_S(6, 2, 2)
	FCMEQ_S(7, 3, 3)
	VAND   V4.B16, V0.B16, V0.B16
	VAND   V5.B16, V1.B16, V1.B16
	VAND   V6.B16, V2.B16, V2.B16
	VAND   V7.B16, V3.B16, V3.B16
	FMAX_S(16, 16, 0)
	FMAX_S(17, 17, 1)
	FMAX_S(18, 18, 2)
	FMAX_S(19, 19, 3)
	SUBS   $1, R1, R1
	BNE    amax_loop

amax_done:
	FMAX_S(16, 16, 17)
	FMAX_S(18, 18, 19)
	FMAX_S(16, 16, 18)
	FMAXV_S(0, 16)
	FMOVS F0, ret+16(FP)
	RET

// func quantizeNEON(q *int8, x *float32, n int, s float32) int32
// n is a multiple of 16. v*s in single precision (FMUL, as the generic
// v*s), FCVTNS rounds half to even, and the two saturating narrows clamp to
// [-128, 127] and keep the order. The sum is taken from the int8 results.
TEXT ·quantizeNEON(SB), NOSPLIT, $0-36
	MOVD  q+0(FP), R0
	MOVD  x+8(FP), R1
	MOVD  n+16(FP), R2
	FMOVS s+24(FP), F31
	VDUP  V31.S[0], V31.S4
	VEOR  V20.B16, V20.B16, V20.B16
	LSR   $4, R2, R2
	CBZ   R2, quant_done

quant_loop:
	VLD1.P 64(R1), [V0.S4, V1.S4, V2.S4, V3.S4]
	FMUL_S(0, 0, 31)
	FMUL_S(1, 1, 31)
	FMUL_S(2, 2, 31)
	FMUL_S(3, 3, 31)
	FCVTNS_S(0, 0)
	FCVTNS_S(1, 1)
	FCVTNS_S(2, 2)
	FCVTNS_S(3, 3)
	SQXTN_H(4, 0)
	SQXTN2_H(4, 1)
	SQXTN_H(5, 2)
	SQXTN2_H(5, 3)
	SQXTN_B(6, 4)
	SQXTN2_B(6, 5)
	VST1.P [V6.B16], 16(R0)
	SADDLP_H_B(7, 6)
	SADALP_S_H(20, 7)
	SUBS   $1, R2, R2
	BNE    quant_loop

quant_done:
	VADDV V20.S4, V20
	VMOV  V20.S[0], R3
	MOVW  R3, ret+32(FP)
	RET

// func f16ToF32NEON(dst *float32, src *uint16, n int)
// n is a multiple of 8.
TEXT ·f16ToF32NEON(SB), NOSPLIT, $0-24
	MOVD dst+0(FP), R0
	MOVD src+8(FP), R1
	MOVD n+16(FP), R2
	LSR  $3, R2, R2
	CBZ  R2, cvt_done

cvt_loop:
	VLD1.P 16(R1), [V0.H8]
	FCVTL_S(1, 0)
	FCVTL2_S(2, 0)
	VST1.P [V1.S4, V2.S4], 32(R0)
	SUBS   $1, R2, R2
	BNE    cvt_loop

cvt_done:
	RET

// func dotF16NEON(row *uint16, x *float32, n int) float32
// n is a multiple of 16. Four chains over consecutive groups of four;
// GemvF16 calls this per row, so rows and DotF16 agree bit for bit.
TEXT ·dotF16NEON(SB), NOSPLIT, $0-28
	MOVD row+0(FP), R0
	MOVD x+8(FP), R1
	MOVD n+16(FP), R2
	ZERO_V16_V19
	LSR  $4, R2, R2
	CBZ  R2, df16_done

df16_loop:
	VLD1.P 32(R0), [V0.H8, V1.H8]
	VLD1.P 64(R1), [V4.S4, V5.S4, V6.S4, V7.S4]
	FCVTL_S(2, 0)
	FCVTL2_S(3, 0)
	FMLA_S(16, 2, 4)
	FMLA_S(17, 3, 5)
	FCVTL_S(2, 1)
	FCVTL2_S(3, 1)
	FMLA_S(18, 2, 6)
	FMLA_S(19, 3, 7)
	SUBS   $1, R2, R2
	BNE    df16_loop

df16_done:
	DOT4_SUM
	FMOVS F0, ret+24(FP)
	RET

// func gemvF16x2NEON(d0, d1 *float32, rows *uint16, k, nrows int, x0, x1 *float32, n int)
// dotF16NEON of each of nrows rows (k halves apart) with two vectors at
// once, x0's dots to d0 and x1's to d1: each row is widened once for both,
// and each dot keeps dotF16NEON's four chains and sum, so the results are
// GemvF16's bit for bit. n (a multiple of 16) values of each row.
TEXT ·gemvF16x2NEON(SB), NOSPLIT, $0-64
	GEMV2_NEON(FCVTL_S, FCVTL2_S, f2_row, f2_loop, f2_sum, f2_ret)

// One vector's step of gemvF16x4vNEON: its 16 values from ptr into V4-V7,
// times the widened row (V2, V3, V12, V13) into its chains a-d.
#define F4_VEC(ptr, a, b, c, d) \
	VLD1.P 64(ptr), [V4.S4, V5.S4, V6.S4, V7.S4]; \
	FMLA_S(a, 2, 4);                              \
	FMLA_S(b, 3, 5);                              \
	FMLA_S(c, 12, 6);                             \
	FMLA_S(d, 13, 7)

// func gemvF16x4vNEON(d0, d1, d2, d3 *float32, rows *uint16, k, nrows int, x0, x1, x2, x3 *float32, n int)
// dotF16NEON of each of nrows rows (k halves apart) with four vectors at
// once, xj's dots to dj: each row is read and widened once for all four,
// and each dot keeps dotF16NEON's four chains (V16+4j..V19+4j) and sum,
// so the results are GemvF16's bit for bit. n (a multiple of 16) values
// of each row. The vectors' values go through V4-V7 in turn.
TEXT ·gemvF16x4vNEON(SB), NOSPLIT, $0-96
	MOVD rows+32(FP), R6
	MOVD k+40(FP), R7
	LSL  $1, R7, R7
	MOVD nrows+48(FP), R8
	CBZ  R8, f4_ret
	MOVD $0, R9

f4_row:
	MOVD R6, R0
	MOVD x0+56(FP), R1
	MOVD x1+64(FP), R3
	MOVD x2+72(FP), R4
	MOVD x3+80(FP), R5
	MOVD n+88(FP), R2
	ZERO_V16_V19
	ZERO_V4(V20, V21, V22, V23)
	ZERO_V4(V24, V25, V26, V27)
	ZERO_V4(V28, V29, V30, V31)
	LSR  $4, R2, R2
	CBZ  R2, f4_sum

f4_loop:
	VLD1.P 32(R0), [V0.H8, V1.H8]
	FCVTL_S(2, 0)
	FCVTL2_S(3, 0)
	FCVTL_S(12, 1)
	FCVTL2_S(13, 1)
	F4_VEC(R1, 16, 17, 18, 19)
	F4_VEC(R3, 20, 21, 22, 23)
	F4_VEC(R4, 24, 25, 26, 27)
	F4_VEC(R5, 28, 29, 30, 31)
	SUBS   $1, R2, R2
	BNE    f4_loop

f4_sum:
	MOVD  d0+0(FP), R10
	DOT4_SUM_OF(16, 17, 18, 19)
	FMOVS F0, (R10)(R9)
	MOVD  d1+8(FP), R10
	DOT4_SUM_OF(20, 21, 22, 23)
	FMOVS F0, (R10)(R9)
	MOVD  d2+16(FP), R10
	DOT4_SUM_OF(24, 25, 26, 27)
	FMOVS F0, (R10)(R9)
	MOVD  d3+24(FP), R10
	DOT4_SUM_OF(28, 29, 30, 31)
	FMOVS F0, (R10)(R9)
	ADD   $4, R9
	ADD   R7, R6
	SUBS  $1, R8, R8
	BNE   f4_row

f4_ret:
	RET

// func dotBF16NEON(row *uint16, x *float32, n int) float32
// n is a multiple of 16. Interleaving a zero half below each bf16 value
// (ZIP with V31 = 0) is the shift left by 16 that widens it.
TEXT ·dotBF16NEON(SB), NOSPLIT, $0-28
	MOVD row+0(FP), R0
	MOVD x+8(FP), R1
	MOVD n+16(FP), R2
	VEOR V31.B16, V31.B16, V31.B16
	ZERO_V16_V19
	LSR  $4, R2, R2
	CBZ  R2, dbf_done

dbf_loop:
	VLD1.P 32(R0), [V0.H8, V1.H8]
	VLD1.P 64(R1), [V4.S4, V5.S4, V6.S4, V7.S4]
	ZIP1_H(2, 31, 0)
	ZIP2_H(3, 31, 0)
	FMLA_S(16, 2, 4)
	FMLA_S(17, 3, 5)
	ZIP1_H(2, 31, 1)
	ZIP2_H(3, 31, 1)
	FMLA_S(18, 2, 6)
	FMLA_S(19, 3, 7)
	SUBS   $1, R2, R2
	BNE    dbf_loop

dbf_done:
	DOT4_SUM
	FMOVS F0, ret+24(FP)
	RET

// func gemvBF16x2NEON(d0, d1 *float32, rows *uint16, k, nrows int, x0, x1 *float32, n int)
// dotBF16NEON of each of nrows rows (k values apart) with two vectors at
// once, x0's dots to d0 and x1's to d1: each row is widened once for both,
// and each dot keeps dotBF16NEON's four chains and sum, so the results are
// DotBF16's bit for bit. n (a multiple of 16) values of each row.
TEXT ·gemvBF16x2NEON(SB), NOSPLIT, $0-64
	GEMV2_NEON(WIDEN_BF16_LO, WIDEN_BF16_HI, b2_row, b2_loop, b2_sum, b2_ret)

// func dotsF32NEON(dst, q, k *float32, stride, rows, n, heads, qStride, dstStride int)
// dst[g·dstStride+j] = (q + g·qStride)·(k + j·stride) over qStride values
// for j < rows, g < heads: every head takes each key row while it is in
// L1. Each dot has four accumulators over the first n values (a multiple
// of 16, at least 16), 16 at a time, then DOT4_SUM, then adds the rest one
// at a time with FMADD, as the Go tail it replaced compiled to on arm64;
// DotF32 is the one-row, one-head case, so DotsF32, GroupDots and DotF32
// agree exactly.
TEXT ·dotsF32NEON(SB), NOSPLIT, $0-72
	MOVD dst+0(FP), R3
	MOVD k+16(FP), R4
	MOVD stride+24(FP), R5
	LSL  $2, R5, R5
	MOVD rows+32(FP), R6
	MOVD qStride+56(FP), R9
	LSL  $2, R9, R9
	MOVD dstStride+64(FP), R10
	LSL  $2, R10, R10
	CBZ  R6, dots_ret

dots_row:
	MOVD q+8(FP), R7
	MOVD R3, R8
	MOVD heads+48(FP), R11

dots_head:
	MOVD R7, R0
	MOVD R4, R1
	MOVD n+40(FP), R2
	ZERO_V16_V19
	LSR  $4, R2, R2

dots_loop:
	VLD1.P 64(R0), [V0.S4, V1.S4, V2.S4, V3.S4]
	VLD1.P 64(R1), [V4.S4, V5.S4, V6.S4, V7.S4]
	FMLA_S(16, 0, 4)
	FMLA_S(17, 1, 5)
	FMLA_S(18, 2, 6)
	FMLA_S(19, 3, 7)
	SUBS   $1, R2, R2
	BNE    dots_loop

	DOT4_SUM
	MOVD   qStride+56(FP), R12
	MOVD   n+40(FP), R13
	SUBS   R13, R12, R12
	BEQ    dots_store

dots_tail:
	FMOVS.P 4(R0), F1
	FMOVS.P 4(R1), F2
	FMADDS  F2, F0, F1, F0
	SUBS    $1, R12, R12
	BNE     dots_tail

dots_store:
	FMOVS F0, (R8)
	ADD   R10, R8
	ADD   R9, R7
	SUBS  $1, R11, R11
	BNE   dots_head
	ADD   $4, R3
	ADD   R5, R4
	SUBS  $1, R6, R6
	BNE   dots_row

dots_ret:
	RET

// func weightedSumNEON(dst *float32, w *float32, n int, src *float32, stride, cols int)
// dst[i] = Σ_j w[j]·src[j*stride+i] for i < cols (a multiple of 4): 32
// columns at a time in eight accumulators (each weight broadcast once per
// 32), then 4. Each column sums j in order with fused multiply-adds.
TEXT ·weightedSumNEON(SB), NOSPLIT, $0-48
	MOVD dst+0(FP), R0
	MOVD w+8(FP), R1
	MOVD n+16(FP), R2
	MOVD src+24(FP), R3
	MOVD stride+32(FP), R4
	LSL  $2, R4, R4
	MOVD cols+40(FP), R5

ws_wide:
	CMP  $32, R5
	BLT  ws_narrow
	VEOR V0.B16, V0.B16, V0.B16
	VEOR V1.B16, V1.B16, V1.B16
	VEOR V2.B16, V2.B16, V2.B16
	VEOR V3.B16, V3.B16, V3.B16
	VEOR V4.B16, V4.B16, V4.B16
	VEOR V5.B16, V5.B16, V5.B16
	VEOR V6.B16, V6.B16, V6.B16
	VEOR V7.B16, V7.B16, V7.B16
	MOVD R3, R6
	MOVD R1, R7
	MOVD R2, R8
	CBZ  R8, ws_wide_store

ws_wide_loop:
	VLD1R.P 4(R7), [V16.S4]
	ADD     $64, R6, R9
	VLD1    (R6), [V20.S4, V21.S4, V22.S4, V23.S4]
	VLD1    (R9), [V24.S4, V25.S4, V26.S4, V27.S4]
	FMLA_S(0, 20, 16)
	FMLA_S(1, 21, 16)
	FMLA_S(2, 22, 16)
	FMLA_S(3, 23, 16)
	FMLA_S(4, 24, 16)
	FMLA_S(5, 25, 16)
	FMLA_S(6, 26, 16)
	FMLA_S(7, 27, 16)
	ADD     R4, R6, R6
	SUBS    $1, R8, R8
	BNE     ws_wide_loop

ws_wide_store:
	VST1.P [V0.S4, V1.S4, V2.S4, V3.S4], 64(R0)
	VST1.P [V4.S4, V5.S4, V6.S4, V7.S4], 64(R0)
	ADD    $128, R3, R3
	SUB    $32, R5, R5
	B      ws_wide

ws_narrow:
	CMP  $4, R5
	BLT  ws_ret
	VEOR V0.B16, V0.B16, V0.B16
	MOVD R3, R6
	MOVD R1, R7
	MOVD R2, R8
	CBZ  R8, ws_narrow_store

ws_narrow_loop:
	VLD1R.P 4(R7), [V16.S4]
	VLD1    (R6), [V20.S4]
	FMLA_S(0, 20, 16)
	ADD     R4, R6, R6
	SUBS    $1, R8, R8
	BNE     ws_narrow_loop

ws_narrow_store:
	VST1.P [V0.S4], 16(R0)
	ADD    $16, R3, R3
	SUB    $4, R5, R5
	B      ws_narrow

ws_ret:
	RET

// func weightedSumsNEON(dst, w *float32, n int, src *float32, stride, cols, heads, wStride, dstStride int)
// dst[g·dstStride+i] += Σ_j w[g·wStride+j]·src[j·stride+i] for i < cols (a
// multiple of 4) and g < heads: every head takes each value row while it
// is in L1, accumulating into its outputs in L1, 16 columns and then 4 at a
// time. Each column sums j in order with fused multiply-adds, as
// weightedSumNEON does.
TEXT ·weightedSumsNEON(SB), NOSPLIT, $0-72
	MOVD w+8(FP), R1
	MOVD n+16(FP), R2
	MOVD src+24(FP), R3
	MOVD stride+32(FP), R4
	LSL  $2, R4, R4
	MOVD cols+40(FP), R5
	LSR  $4, R5, R12
	LSR  $2, R5, R13
	AND  $3, R13, R13
	MOVD wStride+56(FP), R9
	LSL  $2, R9, R9
	MOVD dstStride+64(FP), R10
	LSL  $2, R10, R10
	CBZ  R2, ws2_ret

ws2_row:
	MOVD dst+0(FP), R0
	MOVD R1, R7
	MOVD heads+48(FP), R11

ws2_head:
	FMOVS (R7), F16
	VDUP  V16.S[0], V16.S4
	MOVD  R0, R6
	MOVD  R3, R8
	MOVD  R12, R14
	CBZ   R14, ws2_narrow

ws2_wide:
	VLD1   (R6), [V0.S4, V1.S4, V2.S4, V3.S4]
	VLD1.P 64(R8), [V4.S4, V5.S4, V6.S4, V7.S4]
	FMLA_S(0, 4, 16)
	FMLA_S(1, 5, 16)
	FMLA_S(2, 6, 16)
	FMLA_S(3, 7, 16)
	VST1.P [V0.S4, V1.S4, V2.S4, V3.S4], 64(R6)
	SUBS   $1, R14, R14
	BNE    ws2_wide

ws2_narrow:
	MOVD R13, R14
	CBZ  R14, ws2_head_next

ws2_narrow_loop:
	VLD1   (R6), [V0.S4]
	VLD1.P 16(R8), [V4.S4]
	FMLA_S(0, 4, 16)
	VST1.P [V0.S4], 16(R6)
	SUBS   $1, R14, R14
	BNE    ws2_narrow_loop

ws2_head_next:
	ADD  R10, R0
	ADD  R9, R7
	SUBS $1, R11, R11
	BNE  ws2_head
	ADD  $4, R1
	ADD  R4, R3
	SUBS $1, R2, R2
	BNE  ws2_row

ws2_ret:
	RET

// FSUB Vd.4S; FCVTL/FCVTL2 Vd.2D, Vn.2S/4S; FADD Vd.2D; scalar FADDP Dd, Vn.2D
#define FSUB_S(d, n, m) WORD $(0x4EA0D400 | ((m)<<16) | ((n)<<5) | (d))
#define FCVTL_D(d, n) WORD $(0x0E617800 | ((n)<<5) | (d))
#define FCVTL2_D(d, n) WORD $(0x4E617800 | ((n)<<5) | (d))
#define FADD_D(d, n, m) WORD $(0x4E60D400 | ((m)<<16) | ((n)<<5) | (d))
#define FADDP_DSCALAR(d, n) WORD $(0x7E70D800 | ((n)<<5) | (d))

// The float64 sums of sumSquaresNEON and expSumNEON: widen the four floats
// of register v (through temporaries t, t1) into the two accumulators
// V16-V17, and at the end add those into F0.
#define ACC_F64(v, t, t1) \
	FCVTL_D(t, v);       \
	FCVTL2_D(t1, v);     \
	FADD_D(16, 16, t);   \
	FADD_D(17, 17, t1)

#define SUM_F64 \
	FADD_D(16, 16, 17); \
	FADDP_DSCALAR(0, 16)

// func sumSquaresNEON(x *float32, n int) float64
// n is a multiple of 4. Squares rounded to float32 (like the generic
// float64(v*v)), summed in float64 in two chains.
TEXT ·sumSquaresNEON(SB), NOSPLIT, $0-24
	MOVD x+0(FP), R0
	MOVD n+8(FP), R1
	VEOR V16.B16, V16.B16, V16.B16
	VEOR V17.B16, V17.B16, V17.B16
	LSR  $2, R1, R1
	CBZ  R1, ssq_done

ssq_loop:
	VLD1.P 16(R0), [V0.S4]
	FMUL_S(0, 0, 0)
	ACC_F64(0, 1, 2)
	SUBS   $1, R1, R1
	BNE    ssq_loop

ssq_done:
	SUM_F64
	FMOVD F0, ret+16(FP)
	RET

// func scaleMulNEON(dst, x, w *float32, n int, scale float32)
// dst[i] = (x[i]·scale)·w[i], n a multiple of 4.
TEXT ·scaleMulNEON(SB), NOSPLIT, $0-36
	MOVD  dst+0(FP), R0
	MOVD  x+8(FP), R1
	MOVD  w+16(FP), R2
	MOVD  n+24(FP), R3
	MOVD  $scale+32(FP), R4
	VLD1R (R4), [V31.S4]
	LSR   $2, R3, R3
	CBZ   R3, smul_done

smul_loop:
	VLD1.P 16(R1), [V0.S4]
	VLD1.P 16(R2), [V1.S4]
	FMUL_S(0, 0, 31)
	FMUL_S(0, 0, 1)
	VST1.P [V0.S4], 16(R0)
	SUBS   $1, R3, R3
	BNE    smul_loop

smul_done:
	RET

// func squaredReLUMulNEON(gate, u *float32, n int)
// gate[i] = (max(gate[i],0)·max(gate[i],0))·u[i], n a multiple of 4.
TEXT ·squaredReLUMulNEON(SB), NOSPLIT, $0-24
	MOVD gate+0(FP), R0
	MOVD u+8(FP), R1
	MOVD n+16(FP), R2
	VEOR V30.B16, V30.B16, V30.B16
	LSR  $2, R2, R2
	CBZ  R2, srelu_done

srelu_loop:
	VLD1   (R0), [V0.S4]
	VLD1.P 16(R1), [V1.S4]
	FMAX_S(0, 0, 30)
	FMUL_S(0, 0, 0)
	FMUL_S(0, 0, 1)
	VST1.P [V0.S4], 16(R0)
	SUBS   $1, R2, R2
	BNE    srelu_loop

srelu_done:
	RET

// func ropeNeoXNEON(x, cos, sin *float32, h, n int)
// Rotates pairs (x[i], x[i+h]) for i < n (a multiple of 4) with the generic
// operations: each product rounded, then subtracted or added.
TEXT ·ropeNeoXNEON(SB), NOSPLIT, $0-40
	MOVD x+0(FP), R0
	MOVD cos+8(FP), R1
	MOVD sin+16(FP), R2
	MOVD h+24(FP), R3
	MOVD n+32(FP), R4
	ADD  R3<<2, R0, R5
	LSR  $2, R4, R4
	CBZ  R4, rope_done

rope_loop:
	VLD1   (R0), [V0.S4]
	VLD1   (R5), [V1.S4]
	VLD1.P 16(R1), [V2.S4]
	VLD1.P 16(R2), [V3.S4]
	FMUL_S(4, 0, 2)
	FMUL_S(5, 1, 3)
	FSUB_S(4, 4, 5)
	FMUL_S(6, 0, 3)
	FMUL_S(7, 1, 2)
	FADD_S(6, 6, 7)
	VST1.P [V4.S4], 16(R0)
	VST1.P [V6.S4], 16(R5)
	SUBS   $1, R4, R4
	BNE    rope_loop

rope_done:
	RET

// FRINTN Vd.4S, Vn.4S: round to nearest, ties to even
#define FRINTN_S(d, n) WORD $(0x4E218800 | ((n)<<5) | (d))

// Constants of expSumNEON, the Cephes expf scheme of expSumAVX2: log2 e,
// ln 2 as C1 + C2, the polynomial P0..P5, 1, the lower clamp.
DATA expNEON<>+0(SB)/4, $0x3fb8aa3b
DATA expNEON<>+4(SB)/4, $0x3f318000
DATA expNEON<>+8(SB)/4, $0xb95e8083
DATA expNEON<>+12(SB)/4, $0x39506967
DATA expNEON<>+16(SB)/4, $0x3ab743ce
DATA expNEON<>+20(SB)/4, $0x3c088908
DATA expNEON<>+24(SB)/4, $0x3d2aa9c1
DATA expNEON<>+28(SB)/4, $0x3e2aaaaa
DATA expNEON<>+32(SB)/4, $0x3f000000
DATA expNEON<>+36(SB)/4, $0x3f800000
DATA expNEON<>+40(SB)/4, $0xc2aeac4f
DATA expNEON<>+44(SB)/4, $127
GLOBL expNEON<>(SB), RODATA|NOPTR, $48

// EXP_NEON_CONSTS loads the constants of EXP_NEON into V20-V31 (log2 e,
// C1, C2, P0..P5, 1, the lower clamp, 127), through R3.
#define EXP_NEON_CONSTS \
	MOVD    $expNEON<>(SB), R3; \
	VLD1R.P 4(R3), [V20.S4];    \
	VLD1R.P 4(R3), [V21.S4];    \
	VLD1R.P 4(R3), [V22.S4];    \
	VLD1R.P 4(R3), [V23.S4];    \
	VLD1R.P 4(R3), [V24.S4];    \
	VLD1R.P 4(R3), [V25.S4];    \
	VLD1R.P 4(R3), [V26.S4];    \
	VLD1R.P 4(R3), [V27.S4];    \
	VLD1R.P 4(R3), [V28.S4];    \
	VLD1R.P 4(R3), [V29.S4];    \
	VLD1R.P 4(R3), [V30.S4];    \
	VLD1R   (R3), [V31.S4]

// EXP_NEON: V5 = exp(V0) for V0 <= 0, clobbering V0-V4: n = round(x·log2 e),
// r = x - n·ln 2 in two parts, Horner for p = ((((P0·r + P1)·r + P2)·r +
// P3)·r + P4)·r + P5, then e^r = p·r² + r + 1 times 2^n built in the
// exponent bits.
#define EXP_NEON \
	FMAX_S(0, 0, 30);             \
	FMUL_S(1, 0, 20);             \
	FRINTN_S(1, 1);               \
	FMUL_S(2, 1, 21);             \
	FSUB_S(0, 0, 2);              \
	FMUL_S(2, 1, 22);             \
	FSUB_S(0, 0, 2);              \
	FMUL_S(3, 23, 0);             \
	FADD_S(3, 3, 24);             \
	FMUL_S(3, 3, 0);              \
	FADD_S(3, 3, 25);             \
	FMUL_S(3, 3, 0);              \
	FADD_S(3, 3, 26);             \
	FMUL_S(3, 3, 0);              \
	FADD_S(3, 3, 27);             \
	FMUL_S(3, 3, 0);              \
	FADD_S(3, 3, 28);             \
	FMUL_S(4, 0, 0);              \
	FADD_S(5, 0, 29);             \
	FMLA_S(5, 3, 4);              \
	FCVTNS_S(1, 1);               \
	VADD V31.S4, V1.S4, V1.S4;    \
	VSHL $23, V1.S4, V1.S4;       \
	FMUL_S(5, 5, 1)


// func expSumNEON(x *float32, n int, mx float32) float64
// x[i] = exp(x[i]-mx) in place for n (a multiple of 4) values; returns the
// float64 sum. Same algorithm and clamp as expSumAVX2.
TEXT ·expSumNEON(SB), NOSPLIT, $0-32
	MOVD    x+0(FP), R0
	MOVD    n+8(FP), R1
	MOVD    $mx+16(FP), R2
	VLD1R   (R2), [V19.S4]
	EXP_NEON_CONSTS
	VEOR    V16.B16, V16.B16, V16.B16
	VEOR    V17.B16, V17.B16, V17.B16
	LSR     $2, R1, R1
	CBZ     R1, exps_done

exps_loop:
	VLD1   (R0), [V0.S4]
	FSUB_S(0, 0, 19)
	EXP_NEON
	VST1.P [V5.S4], 16(R0)
	ACC_F64(5, 6, 7)
	SUBS   $1, R1, R1
	BNE    exps_loop

exps_done:
	SUM_F64
	FMOVD F0, ret+24(FP)
	RET

// func prefetch(p *uint16, n int)
TEXT ·prefetch(SB), NOSPLIT, $0-16
	MOVD p+0(FP), R0
	MOVD n+8(FP), R1
	ADD  R0, R1, R1

prefetch_line:
	CMP  R1, R0
	BHS  prefetch_done
	PRFM (R0), PLDL1KEEP
	ADD  $64, R0
	B    prefetch_line

prefetch_done:
	RET

// func scaleMaxNEON(x *float32, n int, s float32) float32
// x[i] *= s for n (a multiple of 4, at least 4) values, and returns the
// largest product; FMAXNM skips NaNs, as the generic comparison does.
TEXT ·scaleMaxNEON(SB), NOSPLIT, $0-28
	MOVD   x+0(FP), R0
	MOVD   n+8(FP), R1
	MOVD   $s+16(FP), R2
	VLD1R  (R2), [V31.S4]
	VLD1   (R0), [V16.S4]
	FMUL_S(16, 16, 31)
	VST1.P [V16.S4], 16(R0)
	LSR    $2, R1, R1
	SUBS   $1, R1, R1
	BEQ    smax_done

smax_loop:
	VLD1   (R0), [V0.S4]
	FMUL_S(0, 0, 31)
	VST1.P [V0.S4], 16(R0)
	FMAXNM_S(16, 16, 0)
	SUBS   $1, R1, R1
	BNE    smax_loop

smax_done:
	FMAXNMV_S(0, 16)
	FMOVS  F0, ret+24(FP)
	RET

// func scaleNEON(x *float32, n int, s float32)
// x[i] *= s for n (a multiple of 4) values.
TEXT ·scaleNEON(SB), NOSPLIT, $0-20
	MOVD  x+0(FP), R0
	MOVD  n+8(FP), R1
	MOVD  $s+16(FP), R2
	VLD1R (R2), [V31.S4]
	LSR   $2, R1, R1
	CBZ   R1, scale_done

scale_loop:
	VLD1   (R0), [V0.S4]
	FMUL_S(0, 0, 31)
	VST1.P [V0.S4], 16(R0)
	SUBS   $1, R1, R1
	BNE    scale_loop

scale_done:
	RET

// FNEG, FCMLT #0, FDIV (Vd.4S) and BSL (Vd.16B)
#define FNEG_S(d, n) WORD $(0x6EA0F800 | ((n)<<5) | (d))
#define FCMLTZ_S(d, n) WORD $(0x4EA0E800 | ((n)<<5) | (d))
#define FDIV_S(d, n, m) WORD $(0x6E20FC00 | ((m)<<16) | ((n)<<5) | (d))
#define BSL_B(d, n, m) WORD $(0x6E601C00 | ((m)<<16) | ((n)<<5) | (d))

// func siluMulNEON(gate, u *float32, n int)
// gate[i] = silu(gate[i])·u[i] for n (a multiple of 4) values, as
// siluMulAVX2: e = exp(-|v|), then v/(1+e) for v >= 0 and v·e/(1+e) below.
TEXT ·siluMulNEON(SB), NOSPLIT, $0-24
	MOVD gate+0(FP), R0
	MOVD u+8(FP), R1
	MOVD n+16(FP), R2
	EXP_NEON_CONSTS
	LSR  $2, R2, R2
	CBZ  R2, silu_done

silu_loop:
	VLD1   (R0), [V6.S4]
	FABS_S(0, 6)
	FNEG_S(0, 0)
	EXP_NEON
	FMUL_S(7, 6, 5)
	FCMLTZ_S(8, 6)
	BSL_B(8, 7, 6)
	FADD_S(5, 5, 29)
	FDIV_S(8, 8, 5)
	VLD1.P 16(R1), [V9.S4]
	FMUL_S(8, 8, 9)
	VST1.P [V8.S4], 16(R0)
	SUBS   $1, R2, R2
	BNE    silu_loop

silu_done:
	RET
