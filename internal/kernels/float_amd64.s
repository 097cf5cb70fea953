//go:build !noasm

#include "textflag.h"

// Activation quantisation and float kernels, AVX2 + FMA + F16C. The Go
// wrappers in kernels_amd64.go hand these whole vector steps only and finish
// the tails in Go.

DATA qPerm<>+0(SB)/4, $0
DATA qPerm<>+4(SB)/4, $4
DATA qPerm<>+8(SB)/4, $1
DATA qPerm<>+12(SB)/4, $5
DATA qPerm<>+16(SB)/4, $2
DATA qPerm<>+20(SB)/4, $6
DATA qPerm<>+24(SB)/4, $3
DATA qPerm<>+28(SB)/4, $7
GLOBL qPerm<>(SB), RODATA|NOPTR, $32

// Sum the four float32 accumulators y0-y3 of a dot product ((0+1)+(2+3),
// then the halves, then across lanes) into x0, the low half of y0 (xt is
// clobbered). DOT4_SUM does it for Y0-Y3.
#define DOT4_SUM_OF(y0, y1, y2, y3, x0, xt) \
	VADDPS       y1, y0, y0; \
	VADDPS       y3, y2, y2; \
	VADDPS       y2, y0, y0; \
	VEXTRACTF128 $1, y0, xt; \
	VADDPS       xt, x0, x0; \
	VHADDPS      x0, x0, x0; \
	VHADDPS      x0, x0, x0

#define DOT4_SUM DOT4_SUM_OF(Y0, Y1, Y2, Y3, X0, X1)

// ZERO_Y0_Y7 zeroes eight accumulators (DOTS, the F16 GEMVs, weightedSum).
#define ZERO_Y0_Y7 \
	VXORPS Y0, Y0, Y0; \
	VXORPS Y1, Y1, Y1; \
	VXORPS Y2, Y2, Y2; \
	VXORPS Y3, Y3, Y3; \
	VXORPS Y4, Y4, Y4; \
	VXORPS Y5, Y5, Y5; \
	VXORPS Y6, Y6, Y6; \
	VXORPS Y7, Y7, Y7

// DOTS is the body of dotsF32AVX2 and dotsF16AVX2: dst[g·dstStride+j] =
// (q + g·qStride)·(k + j·stride) over qStride values, for j < rows and
// g < heads. Each key row is taken by every head while it is in L1, so a
// group of heads reads the cache once; heads go in pairs that share each
// load of the row. Each dot has four accumulators over the first n values
// (a multiple of 32, at least 32), 32 at a time, then DOT4_SUM, then adds
// the rest one at a time, each product rounded and then added, as the Go
// tail it replaced did. DotF32 is the one-row, one-head case, so every
// level's DotsF32, GroupDots and DotF32 agree exactly, and the
// half-precision kernel, which widens the keys in registers, gives exactly
// the float32 kernel's results on the widened keys. shift turns stride
// into bytes; LOADK puts the next 32 keys at DI into Y8-Y11 and KSTEP is
// their bytes, LOADK1 and KSTEP1 the same for one key; PF asks for the
// same bytes 8 rows on. The arguments (the same for both kernels) are read
// here, so the macro comes before the TEXTs that use it.
#define DOTS(shift, LOADK, KSTEP, LOADK1, KSTEP1, PF, l_row, l_pair, l_pair_loop, l_ptail, l_pstore, l_single, l_loop, l_stail, l_sstore, l_next, l_ret) \
	MOVQ   dst+0(FP), R8;          \
	MOVQ   k+16(FP), R9;           \
	MOVQ   stride+24(FP), R10;     \
	SHLQ   $shift, R10;            \
	MOVQ   rows+32(FP), R11;       \
	MOVQ   qStride+56(FP), AX;     \
	SHLQ   $2, AX;                 \
	MOVQ   dstStride+64(FP), DX;   \
	SHLQ   $2, DX;                 \
	TESTQ  R11, R11;               \
	JZ     l_ret;                  \
l_row:                             \
	MOVQ   q+8(FP), BX;            \
	MOVQ   R8, R13;                \
	MOVQ   heads+48(FP), R12;      \
l_pair:                            \
	CMPQ   R12, $2;                \
	JLT    l_single;               \
	MOVQ   BX, SI;                 \
	MOVQ   R9, DI;                 \
	MOVQ   n+40(FP), CX;           \
	SHRQ   $5, CX;                 \
	ZERO_Y0_Y7;                    \
l_pair_loop:                       \
	PF;                            \
	LOADK;                         \
	VFMADD231PS (SI), Y8, Y0;      \
	VFMADD231PS 32(SI), Y9, Y1;    \
	VFMADD231PS 64(SI), Y10, Y2;   \
	VFMADD231PS 96(SI), Y11, Y3;   \
	VFMADD231PS (SI)(AX*1), Y8, Y4;    \
	VFMADD231PS 32(SI)(AX*1), Y9, Y5;  \
	VFMADD231PS 64(SI)(AX*1), Y10, Y6; \
	VFMADD231PS 96(SI)(AX*1), Y11, Y7; \
	ADDQ   $128, SI;               \
	ADDQ   $KSTEP, DI;             \
	DECQ   CX;                     \
	JNZ    l_pair_loop;            \
	DOT4_SUM;                      \
	DOT4_SUM_OF(Y4, Y5, Y6, Y7, X4, X5); \
	MOVQ   qStride+56(FP), CX;     \
	SUBQ   n+40(FP), CX;           \
	JZ     l_pstore;               \
l_ptail:                           \
	LOADK1;                        \
	VMULSS (SI), X8, X9;           \
	VADDSS X9, X0, X0;             \
	VMULSS (SI)(AX*1), X8, X9;     \
	VADDSS X9, X4, X4;             \
	ADDQ   $4, SI;                 \
	ADDQ   $KSTEP1, DI;            \
	DECQ   CX;                     \
	JNZ    l_ptail;                \
l_pstore:                          \
	VMOVSS X0, (R13);              \
	VMOVSS X4, (R13)(DX*1);        \
	LEAQ   (R13)(DX*2), R13;       \
	LEAQ   (BX)(AX*2), BX;         \
	SUBQ   $2, R12;                \
	JMP    l_pair;                 \
l_single:                          \
	TESTQ  R12, R12;               \
	JZ     l_next;                 \
	MOVQ   BX, SI;                 \
	MOVQ   R9, DI;                 \
	MOVQ   n+40(FP), CX;           \
	SHRQ   $5, CX;                 \
	VXORPS Y0, Y0, Y0;             \
	VXORPS Y1, Y1, Y1;             \
	VXORPS Y2, Y2, Y2;             \
	VXORPS Y3, Y3, Y3;             \
l_loop:                            \
	PF;                            \
	LOADK;                         \
	VFMADD231PS (SI), Y8, Y0;      \
	VFMADD231PS 32(SI), Y9, Y1;    \
	VFMADD231PS 64(SI), Y10, Y2;   \
	VFMADD231PS 96(SI), Y11, Y3;   \
	ADDQ   $128, SI;               \
	ADDQ   $KSTEP, DI;             \
	DECQ   CX;                     \
	JNZ    l_loop;                 \
	DOT4_SUM;                      \
	MOVQ   qStride+56(FP), CX;     \
	SUBQ   n+40(FP), CX;           \
	JZ     l_sstore;               \
l_stail:                           \
	LOADK1;                        \
	VMULSS (SI), X8, X9;           \
	VADDSS X9, X0, X0;             \
	ADDQ   $4, SI;                 \
	ADDQ   $KSTEP1, DI;            \
	DECQ   CX;                     \
	JNZ    l_stail;                \
l_sstore:                          \
	VMOVSS X0, (R13);              \
l_next:                            \
	ADDQ   $4, R8;                 \
	ADDQ   R10, R9;                \
	DECQ   R11;                    \
	JNZ    l_row;                  \
l_ret:                             \
	VZEROUPPER;                    \
	RET

// WSUMS is the body of weightedSumsAVX2 and weightedSumsF16AVX2:
// dst[g·dstStride+i] += Σ_j w[g·wStride+j]·src[j·stride+i] for i < cols (a
// multiple of 8) and g < heads, the attention outputs of a group of heads
// that share one KV head. Every head takes four value rows while they are
// in L1, so the group reads the cache once. A group's 4×128 outputs do not
// fit in registers, so they are accumulated in L1, four rows per load and
// store (one row per store ran at two thirds of the memory's rate). Each
// column sums j in order with fused multiply-adds, as weightedSumAVX2
// does, so from a zeroed dst the results are WeightedSum's, and the
// half-precision kernel, which widens the values in registers, gives
// exactly the float32 kernel's results on the widened values. CX walks a
// value row in bytes and DSCALE·CX the outputs; shift turns stride into
// bytes; ROW32 and ROW8 add a row's next 32 or 8 values times a weight
// into Y0-Y3 or Y0, and WSTEP and NSTEP are their bytes.
#define WSUMS(shift, DSCALE, ROW32, ROW8, WSTEP, NSTEP, l_rows4, l_pf_row, l_pf_line, l_head4, l_wide4, l_narrow4, l_narrow4_loop, l_head4_next, l_rows1, l_head1, l_loop1, l_done) \
	MOVQ w+8(FP), R8;              \
	MOVQ n+16(FP), R9;             \
	MOVQ src+24(FP), R10;          \
	MOVQ stride+32(FP), R11;       \
	SHLQ $shift, R11;              \
	MOVQ wStride+56(FP), AX;       \
	SHLQ $2, AX;                   \
	MOVQ dstStride+64(FP), DX;     \
	SHLQ $2, DX;                   \
l_rows4:                           \
	CMPQ R9, $4;                   \
	JLT  l_rows1;                  \
	/* Ask for the four rows 16 rows on: without it the sums read memory */ \
	/* at two thirds of the rate the scores do (16 rows on was a little  */ \
	/* faster than 8).                                                    */ \
	LEAQ (R10)(R11*8), R13;        \
	LEAQ (R13)(R11*8), R13;        \
	MOVQ cols+40(FP), SI;          \
	SHLQ $shift, SI;               \
	MOVQ $4, R15;                  \
l_pf_row:                          \
	XORQ R14, R14;                 \
l_pf_line:                         \
	PREFETCHT0 (R13)(R14*1);       \
	ADDQ $64, R14;                 \
	CMPQ R14, SI;                  \
	JLT  l_pf_line;                \
	ADDQ R11, R13;                 \
	DECQ R15;                      \
	JNZ  l_pf_row;                 \
	MOVQ dst+0(FP), DI;            \
	MOVQ R8, BX;                   \
	MOVQ heads+48(FP), R12;        \
	LEAQ (R10)(R11*1), R13;        \
	LEAQ (R10)(R11*2), R14;        \
	LEAQ (R13)(R11*2), R15;        \
l_head4:                           \
	VBROADCASTSS (BX), Y8;         \
	VBROADCASTSS 4(BX), Y9;        \
	VBROADCASTSS 8(BX), Y10;       \
	VBROADCASTSS 12(BX), Y11;      \
	XORQ CX, CX;                   \
	MOVQ cols+40(FP), SI;          \
	SHRQ $5, SI;                   \
	JZ   l_narrow4;                \
l_wide4:                           \
	VMOVUPS (DI)(CX*DSCALE), Y0;   \
	VMOVUPS 32(DI)(CX*DSCALE), Y1; \
	VMOVUPS 64(DI)(CX*DSCALE), Y2; \
	VMOVUPS 96(DI)(CX*DSCALE), Y3; \
	ROW32(R10, Y8);                \
	ROW32(R13, Y9);                \
	ROW32(R14, Y10);               \
	ROW32(R15, Y11);               \
	VMOVUPS Y0, (DI)(CX*DSCALE);   \
	VMOVUPS Y1, 32(DI)(CX*DSCALE); \
	VMOVUPS Y2, 64(DI)(CX*DSCALE); \
	VMOVUPS Y3, 96(DI)(CX*DSCALE); \
	ADDQ $WSTEP, CX;               \
	DECQ SI;                       \
	JNZ  l_wide4;                  \
l_narrow4:                         \
	MOVQ cols+40(FP), SI;          \
	SHRQ $3, SI;                   \
	ANDQ $3, SI;                   \
	JZ   l_head4_next;             \
l_narrow4_loop:                    \
	VMOVUPS (DI)(CX*DSCALE), Y0;   \
	ROW8(R10, Y8);                 \
	ROW8(R13, Y9);                 \
	ROW8(R14, Y10);                \
	ROW8(R15, Y11);                \
	VMOVUPS Y0, (DI)(CX*DSCALE);   \
	ADDQ $NSTEP, CX;               \
	DECQ SI;                       \
	JNZ  l_narrow4_loop;           \
l_head4_next:                      \
	ADDQ DX, DI;                   \
	ADDQ AX, BX;                   \
	DECQ R12;                      \
	JNZ  l_head4;                  \
	ADDQ $16, R8;                  \
	LEAQ (R10)(R11*4), R10;        \
	SUBQ $4, R9;                   \
	JMP  l_rows4;                  \
l_rows1:                           \
	/* The last n mod 4 rows, one at a time. */ \
	TESTQ R9, R9;                  \
	JZ    l_done;                  \
	MOVQ  dst+0(FP), DI;           \
	MOVQ  R8, BX;                  \
	MOVQ  heads+48(FP), R12;       \
l_head1:                           \
	VBROADCASTSS (BX), Y8;         \
	XORQ CX, CX;                   \
	MOVQ cols+40(FP), SI;          \
	SHRQ $3, SI;                   \
l_loop1:                           \
	VMOVUPS (DI)(CX*DSCALE), Y0;   \
	ROW8(R10, Y8);                 \
	VMOVUPS Y0, (DI)(CX*DSCALE);   \
	ADDQ $NSTEP, CX;               \
	DECQ SI;                       \
	JNZ  l_loop1;                  \
	ADDQ DX, DI;                   \
	ADDQ AX, BX;                   \
	DECQ R12;                      \
	JNZ  l_head1;                  \
	ADDQ $4, R8;                   \
	ADDQ R11, R10;                 \
	DECQ R9;                       \
	JMP  l_rows1;                  \
l_done:                            \
	VZEROUPPER;                    \
	RET

// ROW32_F32 and ROW8_F32 add 32 or 8 float32 values of row r at offset CX
// times the broadcast weight w into Y0-Y3 or Y0.
#define ROW32_F32(r, w) \
	VFMADD231PS (r)(CX*1), w, Y0;   \
	VFMADD231PS 32(r)(CX*1), w, Y1; \
	VFMADD231PS 64(r)(CX*1), w, Y2; \
	VFMADD231PS 96(r)(CX*1), w, Y3

#define ROW8_F32(r, w) VFMADD231PS (r)(CX*1), w, Y0

// ROW32_F16 and ROW8_F16 do the same for half-precision values, widened
// into Y4-Y7.
#define ROW32_F16(r, w) \
	VCVTPH2PS   (r)(CX*1), Y4;   \
	VCVTPH2PS   16(r)(CX*1), Y5; \
	VCVTPH2PS   32(r)(CX*1), Y6; \
	VCVTPH2PS   48(r)(CX*1), Y7; \
	VFMADD231PS Y4, w, Y0;       \
	VFMADD231PS Y5, w, Y1;       \
	VFMADD231PS Y6, w, Y2;       \
	VFMADD231PS Y7, w, Y3

#define ROW8_F16(r, w) \
	VCVTPH2PS   (r)(CX*1), Y4; \
	VFMADD231PS Y4, w, Y0

#define LOADK_F32 \
	VMOVUPS (DI), Y8;    \
	VMOVUPS 32(DI), Y9;  \
	VMOVUPS 64(DI), Y10; \
	VMOVUPS 96(DI), Y11

#define LOADK_F16 \
	VCVTPH2PS (DI), Y8;    \
	VCVTPH2PS 16(DI), Y9;  \
	VCVTPH2PS 32(DI), Y10; \
	VCVTPH2PS 48(DI), Y11

// One key value at DI, as float32, into X8 (the tails of DOTS).
#define LOADK1_F32 VMOVSS (DI), X8
#define LOADK1_F16 VPINSRW $0, (DI), X8, X8; VCVTPH2PS X8, X8

#define PF_F32 PREFETCHT0 (DI)(R10*8); PREFETCHT0 64(DI)(R10*8)
#define PF_F16 PREFETCHT0 (DI)(R10*8)

// GEMV2_START opens the two-vector GEMVs (gemvF16x2AVX2, gemvBF16x2AVX2),
// whose arguments are (d0, d1 *float32, rows *uint16, k, count int, x0,
// x1 *float32, n int): DI and R9 walk d0 and d1, R13 the rows (k halves,
// BX bytes, apart), CX counts down count, R11 is x1-x0; then each pass at
// Lrow starts SI at its rows, R12 at x0 and DX at n>>shift steps, with
// Y0-Y7 cleared, and goes to Lreduce when there are none.
#define GEMV2_START(count, shift, Lrow, Lreduce, Lret) \
	MOVQ  d0+0(FP), DI;      \
	MOVQ  d1+8(FP), R9;      \
	MOVQ  rows+16(FP), R13;  \
	MOVQ  k+24(FP), BX;      \
	SHLQ  $1, BX;            \
	MOVQ  count+32(FP), CX;  \
	MOVQ  x1+48(FP), R11;    \
	SUBQ  x0+40(FP), R11;    \
	TESTQ CX, CX;            \
	JZ    Lret;              \
Lrow:                        \
	MOVQ  R13, SI;           \
	MOVQ  x0+40(FP), R12;    \
	MOVQ  n+56(FP), DX;      \
	SHRQ  $shift, DX;        \
	ZERO_Y0_Y7;              \
	TESTQ DX, DX;            \
	JZ    Lreduce

// func absMaxAVX2(x *float32, n int) float32
// n is a multiple of 32. NaNs are skipped like the generic `a > mx` test
// skips them: VMAXPS returns its second source when either is NaN, and the
// running maximum is always that second source.
TEXT ·absMaxAVX2(SB), NOSPLIT, $0-20
	MOVQ     x+0(FP), SI
	MOVQ     n+8(FP), CX
	VPCMPEQD Y15, Y15, Y15
	VPSRLD   $1, Y15, Y15
	VXORPS   Y0, Y0, Y0
	VXORPS   Y1, Y1, Y1
	VXORPS   Y2, Y2, Y2
	VXORPS   Y3, Y3, Y3
	SHRQ     $5, CX
	JZ       amax_done

amax_loop:
	VANDPS (SI), Y15, Y4
	VANDPS 32(SI), Y15, Y5
	VANDPS 64(SI), Y15, Y6
	VANDPS 96(SI), Y15, Y7
	VMAXPS Y0, Y4, Y0
	VMAXPS Y1, Y5, Y1
	VMAXPS Y2, Y6, Y2
	VMAXPS Y3, Y7, Y3
	ADDQ   $128, SI
	DECQ   CX
	JNZ    amax_loop

amax_done:
	// The accumulators hold no NaN, so the order of these merges is free.
	VMAXPS       Y1, Y0, Y0
	VMAXPS       Y3, Y2, Y2
	VMAXPS       Y2, Y0, Y0
	VEXTRACTF128 $1, Y0, X1
	VMAXPS       X1, X0, X0
	VPSHUFD      $0x4e, X0, X1
	VMAXPS       X1, X0, X0
	VPSHUFD      $0xb1, X0, X1
	VMAXPS       X1, X0, X0
	VMOVSS       X0, ret+16(FP)
	VZEROUPPER
	RET

// func quantizeAVX2(q *int8, x *float32, n int, s float32) int32
// n is a multiple of 32. Per value: v*s in single precision (VMULPS, as the
// generic v*s), round half to even (VCVTPS2DQ under the default MXCSR),
// clamp to [-128,127] and add to the sum, then pack. The packs interleave
// 128-bit lanes; VPERMD puts the dwords back in order.
TEXT ·quantizeAVX2(SB), NOSPLIT, $0-36
	MOVQ         q+0(FP), DI
	MOVQ         x+8(FP), SI
	MOVQ         n+16(FP), CX
	VBROADCASTSS s+24(FP), Y15
	VMOVDQU      qPerm<>(SB), Y14
	VPXOR        Y13, Y13, Y13
	MOVL         $127, AX
	VMOVD        AX, X12
	VPBROADCASTD X12, Y12
	MOVL         $-128, AX
	VMOVD        AX, X11
	VPBROADCASTD X11, Y11
	SHRQ         $5, CX
	JZ           quant_done

quant_loop:
	VMULPS    (SI), Y15, Y0
	VMULPS    32(SI), Y15, Y1
	VMULPS    64(SI), Y15, Y2
	VMULPS    96(SI), Y15, Y3
	VCVTPS2DQ Y0, Y0
	VCVTPS2DQ Y1, Y1
	VCVTPS2DQ Y2, Y2
	VCVTPS2DQ Y3, Y3
	VPMINSD   Y12, Y0, Y0
	VPMINSD   Y12, Y1, Y1
	VPMINSD   Y12, Y2, Y2
	VPMINSD   Y12, Y3, Y3
	VPMAXSD   Y11, Y0, Y0
	VPMAXSD   Y11, Y1, Y1
	VPMAXSD   Y11, Y2, Y2
	VPMAXSD   Y11, Y3, Y3
	VPADDD    Y0, Y13, Y13
	VPADDD    Y1, Y13, Y13
	VPADDD    Y2, Y13, Y13
	VPADDD    Y3, Y13, Y13
	VPACKSSDW Y1, Y0, Y0
	VPACKSSDW Y3, Y2, Y2
	VPACKSSWB Y2, Y0, Y0
	VPERMD    Y0, Y14, Y0
	VMOVDQU   Y0, (DI)
	ADDQ      $128, SI
	ADDQ      $32, DI
	DECQ      CX
	JNZ       quant_loop

quant_done:
	VEXTRACTI128 $1, Y13, X1
	VPADDD       X1, X13, X0
	VPSHUFD      $0x4e, X0, X1
	VPADDD       X1, X0, X0
	VPSHUFD      $0xb1, X0, X1
	VPADDD       X1, X0, X0
	VMOVD        X0, AX
	MOVL         AX, ret+32(FP)
	VZEROUPPER
	RET

// func f16ToF32AVX2(dst *float32, src *uint16, n int)
// n is a multiple of 8.
TEXT ·f16ToF32AVX2(SB), NOSPLIT, $0-24
	MOVQ dst+0(FP), DI
	MOVQ src+8(FP), SI
	MOVQ n+16(FP), CX
	SHRQ $3, CX
	JZ   cvt_done

cvt_loop:
	VCVTPH2PS (SI), Y0
	VMOVUPS   Y0, (DI)
	ADDQ      $16, SI
	ADDQ      $32, DI
	DECQ      CX
	JNZ       cvt_loop

cvt_done:
	VZEROUPPER
	RET

// The F16 dot products fix one summation order per row so that DotF16 and
// every row of GemvF16 give bit-identical results wherever a row falls in
// a tile: chain 0 takes elements [16j, 16j+8), chain 1 [16j+8, 16j+16),
// both fused multiply-adds; then c0+c1, and the eight lanes are reduced as
// ((v0+v1)+(v2+v3)) + ((v4+v5)+(v6+v7)); the Go wrapper adds the tail.

// func dotF16AVX2(row *uint16, x *float32, n int) float32
// n is a multiple of 16.
TEXT ·dotF16AVX2(SB), NOSPLIT, $0-28
	MOVQ   row+0(FP), SI
	MOVQ   x+8(FP), DI
	MOVQ   n+16(FP), CX
	VXORPS Y0, Y0, Y0
	VXORPS Y1, Y1, Y1
	SHRQ   $4, CX
	JZ     df16_done

df16_loop:
	VCVTPH2PS   (SI), Y2
	VCVTPH2PS   16(SI), Y3
	VFMADD231PS (DI), Y2, Y0
	VFMADD231PS 32(DI), Y3, Y1
	ADDQ        $32, SI
	ADDQ        $64, DI
	DECQ        CX
	JNZ         df16_loop

df16_done:
	VADDPS       Y1, Y0, Y0
	VHADDPS      Y0, Y0, Y0
	VHADDPS      Y0, Y0, Y0
	VEXTRACTF128 $1, Y0, X1
	VADDSS       X1, X0, X0
	VMOVSS       X0, ret+24(FP)
	VZEROUPPER
	RET

// Prefetch the first 512 bytes of the four rows at AX (BX bytes apart):
// the in-loop prefetches run 512 bytes ahead within each row, so without
// this every pass began with three or four of its rows' first lines
// missing. Measured on the 2B-4T lm_head (128256×2560, two threads, same
// process, alternating with a streaming sum of the same buffer): 81–89 %
// of the sum's rate before, 89–95 % after. A 1 KiB in-loop distance
// measured worse, 256 bytes the same. The kernel does this for its first
// pass; for each next one, the loop asks for one of those 32 lines per
// step during its first 32 steps, which measured 0.965 of the sum against
// 0.941 for all 32 at the start of the pass (40 rounds each, taking turns):
// the core seems to drop prefetches that find its miss buffers full.
#define PF_512(base) \
	PREFETCHT0 0 base;   \
	PREFETCHT0 64 base;  \
	PREFETCHT0 128 base; \
	PREFETCHT0 192 base; \
	PREFETCHT0 256 base; \
	PREFETCHT0 320 base; \
	PREFETCHT0 384 base; \
	PREFETCHT0 448 base

#define F16_PF_HEADS \
	LEAQ (AX)(BX*2), R8; \
	PF_512((AX));        \
	PF_512((AX)(BX*1));  \
	PF_512((R8));        \
	PF_512((R8)(BX*1))

// F16_REDUCE4 reduces the two chains of four dots (Y0-Y7) to the four
// dots in X0, in the order described above (c0+c1, then
// ((v0+v1)+(v2+v3)) + ((v4+v5)+(v6+v7))).
#define F16_REDUCE4 \
	VADDPS       Y1, Y0, Y0; \
	VADDPS       Y3, Y2, Y2; \
	VADDPS       Y5, Y4, Y4; \
	VADDPS       Y7, Y6, Y6; \
	VHADDPS      Y2, Y0, Y0; \
	VHADDPS      Y6, Y4, Y4; \
	VHADDPS      Y4, Y0, Y0; \
	VEXTRACTF128 $1, Y0, X1; \
	VADDPS       X1, X0, X0

// func gemvF16x4AVX2(dst *float32, rows *uint16, k, quads int, x *float32, n int)
// For quads groups of four rows (k halves apart) writes the vector part
// (first n values, n a multiple of 16) of each row's dot product with x,
// in the order described above. The activation loads are shared by the
// four rows.
TEXT ·gemvF16x4AVX2(SB), NOSPLIT, $0-48
	MOVQ dst+0(FP), DI
	MOVQ rows+8(FP), R13
	MOVQ k+16(FP), BX
	SHLQ $1, BX
	MOVQ quads+24(FP), CX
	TESTQ CX, CX
	JZ    g16_ret
	MOVQ  R13, AX
	F16_PF_HEADS

g16_quad:
	MOVQ   R13, SI
	LEAQ   (SI)(BX*2), R10

	// R15 walks the heads of the next pass: 8 lines of each row, then
	// R8 on to the next row; R11 counts the lines asked for.
	LEAQ   (R13)(BX*4), R15
	XORQ   R11, R11
	LEAQ   -512(BX), R8
	MOVQ   x+32(FP), R12
	MOVQ   n+40(FP), DX
	SHRQ   $4, DX
	ZERO_Y0_Y7
	TESTQ  DX, DX
	JZ     g16_reduce

g16_loop:
	CMPQ       R11, $32
	JAE        g16_heads_done
	PREFETCHT0 (R15)
	ADDQ       $64, R15
	INCQ       R11
	TESTQ      $7, R11
	JNZ        g16_heads_done
	ADDQ       R8, R15

g16_heads_done:
	PREFETCHT0  512(SI)
	PREFETCHT0  512(SI)(BX*1)
	PREFETCHT0  512(R10)
	PREFETCHT0  512(R10)(BX*1)
	VMOVUPS     (R12), Y8
	VMOVUPS     32(R12), Y9
	VCVTPH2PS   (SI), Y10
	VCVTPH2PS   16(SI), Y11
	VFMADD231PS Y8, Y10, Y0
	VFMADD231PS Y9, Y11, Y1
	VCVTPH2PS   (SI)(BX*1), Y12
	VCVTPH2PS   16(SI)(BX*1), Y13
	VFMADD231PS Y8, Y12, Y2
	VFMADD231PS Y9, Y13, Y3
	VCVTPH2PS   (R10), Y10
	VCVTPH2PS   16(R10), Y11
	VFMADD231PS Y8, Y10, Y4
	VFMADD231PS Y9, Y11, Y5
	VCVTPH2PS   (R10)(BX*1), Y12
	VCVTPH2PS   16(R10)(BX*1), Y13
	VFMADD231PS Y8, Y12, Y6
	VFMADD231PS Y9, Y13, Y7
	ADDQ        $32, SI
	ADDQ        $32, R10
	ADDQ        $64, R12
	DECQ        DX
	JNZ         g16_loop

g16_reduce:
	F16_REDUCE4
	VMOVUPS      X0, (DI)
	ADDQ         $16, DI
	LEAQ         (R13)(BX*4), R13
	DECQ         CX
	JNZ          g16_quad

g16_ret:
	VZEROUPPER
	RET

// func gemvF16x2AVX2(d0, d1 *float32, rows *uint16, k, pairs int, x0, x1 *float32, n int)
// gemvF16x4AVX2 for two activation vectors at once (a batch's lm_head): for
// pairs of rows (k halves apart) writes the vector part (first n values,
// n a multiple of 16) of each row's dot with x0 to d0 and with x1 to d1.
// Each pair of rows is widened once for both, so a step does four
// conversions for eight fused multiply-adds where the one-vector kernel
// does one per two, and the step's 16 values of each vector are loaded
// into registers (Y12-Y15) once for both rows rather than once per row as
// memory operands of the multiply-adds: with the rows in L2, 18.4–26.5
// against 17.4–21.4 GMAC/s (three rounds of three, taking turns). Every
// dot keeps GemvF16's two chains and reduction, so the results are its
// results bit for bit.
TEXT ·gemvF16x2AVX2(SB), NOSPLIT, $0-64
	GEMV2_START(pairs, 4, g2_pair, g2_reduce, g2_ret)

g2_loop:
	PREFETCHT0  512(SI)
	PREFETCHT0  512(SI)(BX*1)
	VMOVUPS     (R12), Y12
	VMOVUPS     32(R12), Y13
	VMOVUPS     (R12)(R11*1), Y14
	VMOVUPS     32(R12)(R11*1), Y15
	VCVTPH2PS   (SI), Y8
	VCVTPH2PS   16(SI), Y9
	VCVTPH2PS   (SI)(BX*1), Y10
	VCVTPH2PS   16(SI)(BX*1), Y11
	VFMADD231PS Y12, Y8, Y0
	VFMADD231PS Y13, Y9, Y1
	VFMADD231PS Y12, Y10, Y2
	VFMADD231PS Y13, Y11, Y3
	VFMADD231PS Y14, Y8, Y4
	VFMADD231PS Y15, Y9, Y5
	VFMADD231PS Y14, Y10, Y6
	VFMADD231PS Y15, Y11, Y7
	ADDQ        $32, SI
	ADDQ        $64, R12
	DECQ        DX
	JNZ         g2_loop

g2_reduce:
	// As gemvF16x4AVX2's, with (row 0, x0), (row 1, x0), (row 0, x1) and
	// (row 1, x1) as its four rows.
	F16_REDUCE4
	VMOVQ        X0, (DI)
	VMOVHPS      X0, (R9)
	ADDQ         $8, DI
	ADDQ         $8, R9
	LEAQ         (R13)(BX*2), R13
	DECQ         CX
	JNZ          g2_pair

g2_ret:
	VZEROUPPER
	RET

// func gemvF16x4vAVX2(d0, d1, d2, d3 *float32, rows *uint16, k, nrows int, x0, x1, x2, x3 *float32, n int)
// gemvF16x4AVX2 for four activation vectors at once: for nrows rows (k
// halves apart) writes the vector part (first n values, n a multiple of
// 16) of each row's dot with xj to dj. A row is read once, one linear
// stream, and each step widens 16 values for eight fused multiply-adds.
// Every dot keeps GemvF16's two chains and reduction (F16_REDUCE4 with
// the four vectors as its four rows), so the results are its results bit
// for bit.
TEXT ·gemvF16x4vAVX2(SB), NOSPLIT, $0-96
	MOVQ  d0+0(FP), DI
	MOVQ  d1+8(FP), R10
	MOVQ  d2+16(FP), AX
	MOVQ  d3+24(FP), R14
	MOVQ  rows+32(FP), R13
	MOVQ  k+40(FP), BX
	SHLQ  $1, BX
	MOVQ  nrows+48(FP), CX
	MOVQ  x0+56(FP), R12
	MOVQ  x1+64(FP), R8
	SUBQ  R12, R8
	MOVQ  x2+72(FP), R9
	SUBQ  R12, R9
	MOVQ  x3+80(FP), R11
	SUBQ  R12, R11
	TESTQ CX, CX
	JZ    g4v_ret

g4v_row:
	MOVQ  R13, SI
	MOVQ  x0+56(FP), R12
	MOVQ  n+88(FP), DX
	SHRQ  $4, DX
	ZERO_Y0_Y7
	TESTQ DX, DX
	JZ    g4v_reduce

g4v_loop:
	PREFETCHT0  512(SI)
	VCVTPH2PS   (SI), Y8
	VCVTPH2PS   16(SI), Y9
	VFMADD231PS (R12), Y8, Y0
	VFMADD231PS 32(R12), Y9, Y1
	VFMADD231PS (R12)(R8*1), Y8, Y2
	VFMADD231PS 32(R12)(R8*1), Y9, Y3
	VFMADD231PS (R12)(R9*1), Y8, Y4
	VFMADD231PS 32(R12)(R9*1), Y9, Y5
	VFMADD231PS (R12)(R11*1), Y8, Y6
	VFMADD231PS 32(R12)(R11*1), Y9, Y7
	ADDQ        $32, SI
	ADDQ        $64, R12
	DECQ        DX
	JNZ         g4v_loop

g4v_reduce:
	F16_REDUCE4
	VMOVSS     X0, (DI)
	VEXTRACTPS $1, X0, (R10)
	VEXTRACTPS $2, X0, (AX)
	VEXTRACTPS $3, X0, (R14)
	ADDQ       $4, DI
	ADDQ       $4, R10
	ADDQ       $4, AX
	ADDQ       $4, R14
	ADDQ       BX, R13
	DECQ       CX
	JNZ        g4v_row

g4v_ret:
	VZEROUPPER
	RET

// func dotBF16AVX2(row *uint16, x *float32, n int) float32
// n is a multiple of 32; four chains hide the FMA latency.
TEXT ·dotBF16AVX2(SB), NOSPLIT, $0-28
	MOVQ   row+0(FP), SI
	MOVQ   x+8(FP), DI
	MOVQ   n+16(FP), CX
	VXORPS Y0, Y0, Y0
	VXORPS Y1, Y1, Y1
	VXORPS Y2, Y2, Y2
	VXORPS Y3, Y3, Y3
	SHRQ   $5, CX
	JZ     dbf_done

dbf_loop:
	VPMOVZXWD   (SI), Y4
	VPMOVZXWD   16(SI), Y5
	VPMOVZXWD   32(SI), Y6
	VPMOVZXWD   48(SI), Y7
	VPSLLD      $16, Y4, Y4
	VPSLLD      $16, Y5, Y5
	VPSLLD      $16, Y6, Y6
	VPSLLD      $16, Y7, Y7
	VFMADD231PS (DI), Y4, Y0
	VFMADD231PS 32(DI), Y5, Y1
	VFMADD231PS 64(DI), Y6, Y2
	VFMADD231PS 96(DI), Y7, Y3
	ADDQ        $64, SI
	ADDQ        $128, DI
	DECQ        CX
	JNZ         dbf_loop

dbf_done:
	DOT4_SUM
	VMOVSS X0, ret+24(FP)
	VZEROUPPER
	RET

// func gemvBF16x2AVX2(d0, d1 *float32, rows *uint16, k, nrows int, x0, x1 *float32, n int)
// dotBF16AVX2 for two activation vectors at once (a batch's BF16 lm_head,
// as in Hugging Face checkpoints): for nrows rows (k values apart) writes
// the vector part (first n values, n a multiple of 32) of each row's dot
// with x0 to d0 and with x1 to d1. Each row is read and widened once for
// both; every dot keeps DotBF16's four chains and reduction, so the
// results are its results bit for bit.
TEXT ·gemvBF16x2AVX2(SB), NOSPLIT, $0-64
	GEMV2_START(nrows, 5, gb2_row, gb2_reduce, gb2_ret)

gb2_loop:
	PREFETCHT0  512(SI)
	VPMOVZXWD   (SI), Y8
	VPMOVZXWD   16(SI), Y9
	VPMOVZXWD   32(SI), Y10
	VPMOVZXWD   48(SI), Y11
	VPSLLD      $16, Y8, Y8
	VPSLLD      $16, Y9, Y9
	VPSLLD      $16, Y10, Y10
	VPSLLD      $16, Y11, Y11
	VFMADD231PS (R12), Y8, Y0
	VFMADD231PS 32(R12), Y9, Y1
	VFMADD231PS 64(R12), Y10, Y2
	VFMADD231PS 96(R12), Y11, Y3
	VFMADD231PS (R12)(R11*1), Y8, Y4
	VFMADD231PS 32(R12)(R11*1), Y9, Y5
	VFMADD231PS 64(R12)(R11*1), Y10, Y6
	VFMADD231PS 96(R12)(R11*1), Y11, Y7
	ADDQ        $64, SI
	ADDQ        $128, R12
	DECQ        DX
	JNZ         gb2_loop

gb2_reduce:
	DOT4_SUM_OF(Y0, Y1, Y2, Y3, X0, X1)
	DOT4_SUM_OF(Y4, Y5, Y6, Y7, X4, X5)
	VMOVSS X0, (DI)
	VMOVSS X4, (R9)
	ADDQ   $4, DI
	ADDQ   $4, R9
	ADDQ   BX, R13
	DECQ   CX
	JNZ    gb2_row

gb2_ret:
	VZEROUPPER
	RET

// func dotsF32AVX2(dst, q, k *float32, stride, rows, n, heads, qStride, dstStride int)
TEXT ·dotsF32AVX2(SB), NOSPLIT, $0-72
	DOTS(2, LOADK_F32, 128, LOADK1_F32, 4, PF_F32, dots_row, dots_pair, dots_pair_loop, dots_ptail, dots_pstore, dots_single, dots_loop, dots_stail, dots_sstore, dots_next, dots_ret)

// func dotsF16AVX2(dst, q *float32, k *uint16, stride, rows, n, heads, qStride, dstStride int)
// stride counts halves.
TEXT ·dotsF16AVX2(SB), NOSPLIT, $0-72
	DOTS(1, LOADK_F16, 64, LOADK1_F16, 2, PF_F16, dots16_row, dots16_pair, dots16_pair_loop, dots16_ptail, dots16_pstore, dots16_single, dots16_loop, dots16_stail, dots16_sstore, dots16_next, dots16_ret)

// func weightedSumAVX2(dst *float32, w *float32, n int, src *float32, stride, cols int)
// dst[i] = Σ_j w[j]·src[j*stride+i] for i < cols (a multiple of 8): the
// attention output, Σ softmax weight × value row. Columns go 64 at a time
// in eight accumulators (so each weight is broadcast once per 64), then 8
// at a time. Each column sums j in order with fused multiply-adds.
TEXT ·weightedSumAVX2(SB), NOSPLIT, $0-48
	MOVQ dst+0(FP), DI
	MOVQ w+8(FP), R8
	MOVQ n+16(FP), R9
	MOVQ src+24(FP), R10
	MOVQ stride+32(FP), R11
	SHLQ $2, R11
	MOVQ cols+40(FP), CX

ws_wide:
	CMPQ   CX, $64
	JLT    ws_narrow
	ZERO_Y0_Y7
	MOVQ   R10, SI
	XORQ   AX, AX
	TESTQ  R9, R9
	JZ     ws_wide_store

ws_wide_loop:
	// The rows are read 256 bytes at a time; prefetching eight rows ahead
	// took attention's value sums over 1024 positions (2B-4T, all layers,
	// two threads) from 11.8–15.7 to 10.3–13.4 ms per token in one process.
	PREFETCHT0   (SI)(R11*8)
	PREFETCHT0   64(SI)(R11*8)
	PREFETCHT0   128(SI)(R11*8)
	PREFETCHT0   192(SI)(R11*8)
	VBROADCASTSS (R8)(AX*4), Y8
	VFMADD231PS  (SI), Y8, Y0
	VFMADD231PS  32(SI), Y8, Y1
	VFMADD231PS  64(SI), Y8, Y2
	VFMADD231PS  96(SI), Y8, Y3
	VFMADD231PS  128(SI), Y8, Y4
	VFMADD231PS  160(SI), Y8, Y5
	VFMADD231PS  192(SI), Y8, Y6
	VFMADD231PS  224(SI), Y8, Y7
	ADDQ         R11, SI
	INCQ         AX
	CMPQ         AX, R9
	JLT          ws_wide_loop

ws_wide_store:
	VMOVUPS Y0, (DI)
	VMOVUPS Y1, 32(DI)
	VMOVUPS Y2, 64(DI)
	VMOVUPS Y3, 96(DI)
	VMOVUPS Y4, 128(DI)
	VMOVUPS Y5, 160(DI)
	VMOVUPS Y6, 192(DI)
	VMOVUPS Y7, 224(DI)
	ADDQ    $256, DI
	ADDQ    $256, R10
	SUBQ    $64, CX
	JMP     ws_wide

ws_narrow:
	CMPQ   CX, $8
	JLT    ws_ret
	VXORPS Y0, Y0, Y0
	MOVQ   R10, SI
	XORQ   AX, AX
	TESTQ  R9, R9
	JZ     ws_narrow_store

ws_narrow_loop:
	VBROADCASTSS (R8)(AX*4), Y8
	VFMADD231PS  (SI), Y8, Y0
	ADDQ         R11, SI
	INCQ         AX
	CMPQ         AX, R9
	JLT          ws_narrow_loop

ws_narrow_store:
	VMOVUPS Y0, (DI)
	ADDQ    $32, DI
	ADDQ    $32, R10
	SUBQ    $8, CX
	JMP     ws_narrow

ws_ret:
	VZEROUPPER
	RET

// func weightedSumsAVX2(dst, w *float32, n int, src *float32, stride, cols, heads, wStride, dstStride int)
TEXT ·weightedSumsAVX2(SB), NOSPLIT, $0-72
	WSUMS(2, 1, ROW32_F32, ROW8_F32, 128, 32, ws_rows4, ws_pf_row, ws_pf_line, ws_head4, ws_wide4, ws_narrow4, ws_narrow4_loop, ws_head4_next, ws_rows1, ws_head1, ws_loop1, ws_done)

// func weightedSumsF16AVX2(dst, w *float32, n int, src *uint16, stride, cols, heads, wStride, dstStride int)
// stride counts halves.
TEXT ·weightedSumsF16AVX2(SB), NOSPLIT, $0-72
	WSUMS(1, 2, ROW32_F16, ROW8_F16, 64, 16, ws16_rows4, ws16_pf_row, ws16_pf_line, ws16_head4, ws16_wide4, ws16_narrow4, ws16_narrow4_loop, ws16_head4_next, ws16_rows1, ws16_head1, ws16_loop1, ws16_done)

// func sumSquaresAVX2(x *float32, n int) float64
// n is a multiple of 8. Squares are rounded to float32 (like the generic
// float64(v*v)) and summed in float64, in two chains.
TEXT ·sumSquaresAVX2(SB), NOSPLIT, $0-24
	MOVQ   x+0(FP), SI
	MOVQ   n+8(FP), CX
	SHRQ   $3, CX
	VXORPD Y4, Y4, Y4
	VXORPD Y5, Y5, Y5
	TESTQ  CX, CX
	JZ     ss_done

ss_loop:
	VMOVUPS      (SI), Y0
	VMULPS       Y0, Y0, Y0
	VCVTPS2PD    X0, Y1
	VEXTRACTF128 $1, Y0, X2
	VCVTPS2PD    X2, Y2
	VADDPD       Y1, Y4, Y4
	VADDPD       Y2, Y5, Y5
	ADDQ         $32, SI
	DECQ         CX
	JNZ          ss_loop

ss_done:
	VADDPD       Y5, Y4, Y4
	VEXTRACTF128 $1, Y4, X5
	VADDPD       X5, X4, X4
	VHADDPD      X4, X4, X4
	VMOVSD       X4, ret+16(FP)
	VZEROUPPER
	RET

// func scaleMulAVX2(dst, x, w *float32, n int, scale float32)
// dst[i] = (x[i]·scale)·w[i], n a multiple of 8: the generic operations.
TEXT ·scaleMulAVX2(SB), NOSPLIT, $0-36
	MOVQ         dst+0(FP), DI
	MOVQ         x+8(FP), SI
	MOVQ         w+16(FP), DX
	MOVQ         n+24(FP), CX
	SHRQ         $3, CX
	VBROADCASTSS scale+32(FP), Y3
	TESTQ        CX, CX
	JZ           sm_done

sm_loop:
	VMULPS  (SI), Y3, Y0
	VMULPS  (DX), Y0, Y0
	VMOVUPS Y0, (DI)
	ADDQ    $32, SI
	ADDQ    $32, DX
	ADDQ    $32, DI
	DECQ    CX
	JNZ     sm_loop

sm_done:
	VZEROUPPER
	RET

// func squaredReLUMulAVX2(gate, u *float32, n int)
// g[i] = (max(g[i],0)·max(g[i],0))·u[i], n a multiple of 8.
TEXT ·squaredReLUMulAVX2(SB), NOSPLIT, $0-24
	MOVQ   gate+0(FP), DI
	MOVQ   u+8(FP), SI
	MOVQ   n+16(FP), CX
	SHRQ   $3, CX
	VXORPS Y3, Y3, Y3
	TESTQ  CX, CX
	JZ     sr_done

sr_loop:
	VMAXPS  (DI), Y3, Y0
	VMULPS  Y0, Y0, Y0
	VMULPS  (SI), Y0, Y0
	VMOVUPS Y0, (DI)
	ADDQ    $32, SI
	ADDQ    $32, DI
	DECQ    CX
	JNZ     sr_loop

sr_done:
	VZEROUPPER
	RET

// Constants of expSumAVX2, eight copies each (memory operands of the
// vector instructions). exp(x) = 2^n·e^r with n = round(x·log2 e) and
// r = x - n·ln 2 (ln 2 split in C1 + C2 so n·C1 is exact), e^r from the
// Cephes expf polynomial: about 1 ulp in float32.

DATA expLog2e<>+0(SB)/8, $0x3fb8aa3b3fb8aa3b
DATA expLog2e<>+8(SB)/8, $0x3fb8aa3b3fb8aa3b
DATA expLog2e<>+16(SB)/8, $0x3fb8aa3b3fb8aa3b
DATA expLog2e<>+24(SB)/8, $0x3fb8aa3b3fb8aa3b
GLOBL expLog2e<>(SB), RODATA|NOPTR, $32

DATA expC1<>+0(SB)/8, $0x3f3180003f318000
DATA expC1<>+8(SB)/8, $0x3f3180003f318000
DATA expC1<>+16(SB)/8, $0x3f3180003f318000
DATA expC1<>+24(SB)/8, $0x3f3180003f318000
GLOBL expC1<>(SB), RODATA|NOPTR, $32

DATA expC2<>+0(SB)/8, $0xb95e8083b95e8083
DATA expC2<>+8(SB)/8, $0xb95e8083b95e8083
DATA expC2<>+16(SB)/8, $0xb95e8083b95e8083
DATA expC2<>+24(SB)/8, $0xb95e8083b95e8083
GLOBL expC2<>(SB), RODATA|NOPTR, $32

DATA expP0<>+0(SB)/8, $0x3950696739506967
DATA expP0<>+8(SB)/8, $0x3950696739506967
DATA expP0<>+16(SB)/8, $0x3950696739506967
DATA expP0<>+24(SB)/8, $0x3950696739506967
GLOBL expP0<>(SB), RODATA|NOPTR, $32

DATA expP1<>+0(SB)/8, $0x3ab743ce3ab743ce
DATA expP1<>+8(SB)/8, $0x3ab743ce3ab743ce
DATA expP1<>+16(SB)/8, $0x3ab743ce3ab743ce
DATA expP1<>+24(SB)/8, $0x3ab743ce3ab743ce
GLOBL expP1<>(SB), RODATA|NOPTR, $32

DATA expP2<>+0(SB)/8, $0x3c0889083c088908
DATA expP2<>+8(SB)/8, $0x3c0889083c088908
DATA expP2<>+16(SB)/8, $0x3c0889083c088908
DATA expP2<>+24(SB)/8, $0x3c0889083c088908
GLOBL expP2<>(SB), RODATA|NOPTR, $32

DATA expP3<>+0(SB)/8, $0x3d2aa9c13d2aa9c1
DATA expP3<>+8(SB)/8, $0x3d2aa9c13d2aa9c1
DATA expP3<>+16(SB)/8, $0x3d2aa9c13d2aa9c1
DATA expP3<>+24(SB)/8, $0x3d2aa9c13d2aa9c1
GLOBL expP3<>(SB), RODATA|NOPTR, $32

DATA expP4<>+0(SB)/8, $0x3e2aaaaa3e2aaaaa
DATA expP4<>+8(SB)/8, $0x3e2aaaaa3e2aaaaa
DATA expP4<>+16(SB)/8, $0x3e2aaaaa3e2aaaaa
DATA expP4<>+24(SB)/8, $0x3e2aaaaa3e2aaaaa
GLOBL expP4<>(SB), RODATA|NOPTR, $32

DATA expP5<>+0(SB)/8, $0x3f0000003f000000
DATA expP5<>+8(SB)/8, $0x3f0000003f000000
DATA expP5<>+16(SB)/8, $0x3f0000003f000000
DATA expP5<>+24(SB)/8, $0x3f0000003f000000
GLOBL expP5<>(SB), RODATA|NOPTR, $32

DATA expOne<>+0(SB)/8, $0x3f8000003f800000
DATA expOne<>+8(SB)/8, $0x3f8000003f800000
DATA expOne<>+16(SB)/8, $0x3f8000003f800000
DATA expOne<>+24(SB)/8, $0x3f8000003f800000
GLOBL expOne<>(SB), RODATA|NOPTR, $32

DATA expLo<>+0(SB)/8, $0xc2aeac4fc2aeac4f
DATA expLo<>+8(SB)/8, $0xc2aeac4fc2aeac4f
DATA expLo<>+16(SB)/8, $0xc2aeac4fc2aeac4f
DATA expLo<>+24(SB)/8, $0xc2aeac4fc2aeac4f
GLOBL expLo<>(SB), RODATA|NOPTR, $32

DATA exp127<>+0(SB)/8, $0x0000007f0000007f
DATA exp127<>+8(SB)/8, $0x0000007f0000007f
DATA exp127<>+16(SB)/8, $0x0000007f0000007f
DATA exp127<>+24(SB)/8, $0x0000007f0000007f
GLOBL exp127<>(SB), RODATA|NOPTR, $32

// EXP_PS: Y6 = exp(Y0) for Y0 <= 0 (Cephes expf: n = round(x·log2 e),
// r = x - n·ln 2 in two parts, a degree-5 polynomial, times 2^n); inputs
// below -87.3 give about 1e-38. Clobbers Y0-Y3.
#define EXP_PS \
	VMAXPS      expLo<>(SB), Y0, Y0;    \
	VMULPS      expLog2e<>(SB), Y0, Y1; \
	VROUNDPS    $0, Y1, Y1;             \
	VMULPS      expC1<>(SB), Y1, Y2;    \
	VSUBPS      Y2, Y0, Y0;             \
	VMULPS      expC2<>(SB), Y1, Y2;    \
	VSUBPS      Y2, Y0, Y0;             \
	VMOVUPS     expP0<>(SB), Y3;        \
	VFMADD213PS expP1<>(SB), Y0, Y3;    \
	VFMADD213PS expP2<>(SB), Y0, Y3;    \
	VFMADD213PS expP3<>(SB), Y0, Y3;    \
	VFMADD213PS expP4<>(SB), Y0, Y3;    \
	VFMADD213PS expP5<>(SB), Y0, Y3;    \
	VMULPS      Y0, Y0, Y2;             \
	VADDPS      expOne<>(SB), Y0, Y6;   \
	VFMADD231PS Y2, Y3, Y6;             \
	VCVTPS2DQ   Y1, Y1;                 \
	VPADDD      exp127<>(SB), Y1, Y1;   \
	VPSLLD      $23, Y1, Y1;            \
	VMULPS      Y1, Y6, Y6

// func expSumAVX2(x *float32, n int, mx float32) float64
// x[i] = exp(x[i]-mx) in place for n (a multiple of 8) values, and returns
// Σ x[i] summed in float64 (softmax's numerator and denominator). Inputs
// below mx-87.3 give about 1e-38 instead of a smaller number or zero.
TEXT ·expSumAVX2(SB), NOSPLIT, $0-32
	MOVQ         x+0(FP), SI
	MOVQ         n+8(FP), CX
	SHRQ         $3, CX
	VBROADCASTSS mx+16(FP), Y7
	VXORPD       Y4, Y4, Y4
	VXORPD       Y5, Y5, Y5
	TESTQ        CX, CX
	JZ           ex_done

ex_loop:
	VMOVUPS      (SI), Y0
	VSUBPS       Y7, Y0, Y0
	EXP_PS
	VMOVUPS      Y6, (SI)
	VCVTPS2PD    X6, Y1
	VEXTRACTF128 $1, Y6, X2
	VCVTPS2PD    X2, Y2
	VADDPD       Y1, Y4, Y4
	VADDPD       Y2, Y5, Y5
	ADDQ         $32, SI
	DECQ         CX
	JNZ          ex_loop

ex_done:
	VADDPD       Y5, Y4, Y4
	VEXTRACTF128 $1, Y4, X5
	VADDPD       X5, X4, X4
	VHADDPD      X4, X4, X4
	VMOVSD       X4, ret+24(FP)
	VZEROUPPER
	RET

// func ropeNeoXAVX2(x, cos, sin *float32, h, n int)
// Rotates pairs (x[i], x[i+h]) for i < n (a multiple of 8) with the
// generic code's operations: each product rounded, then subtracted or
// added.
TEXT ·ropeNeoXAVX2(SB), NOSPLIT, $0-40
	MOVQ x+0(FP), DI
	MOVQ cos+8(FP), SI
	MOVQ sin+16(FP), DX
	MOVQ h+24(FP), BX
	MOVQ n+32(FP), CX
	SHRQ $3, CX
	JZ   rope_done

rope_loop:
	VMOVUPS (DI), Y0
	VMOVUPS (DI)(BX*4), Y1
	VMOVUPS (SI), Y2
	VMOVUPS (DX), Y3
	VMULPS  Y2, Y0, Y4
	VMULPS  Y3, Y1, Y5
	VSUBPS  Y5, Y4, Y4
	VMULPS  Y3, Y0, Y6
	VMULPS  Y2, Y1, Y7
	VADDPS  Y7, Y6, Y6
	VMOVUPS Y4, (DI)
	VMOVUPS Y6, (DI)(BX*4)
	ADDQ    $32, DI
	ADDQ    $32, SI
	ADDQ    $32, DX
	DECQ    CX
	JNZ     rope_loop

rope_done:
	VZEROUPPER
	RET

// func scaleMaxAVX2(x *float32, n int, s float32) float32
// x[i] *= s for n (a multiple of 8, at least 8) values, and returns the
// largest product. Each lane keeps max(v, m) as "v > m ? v : m", the
// generic comparison, in two chains.
TEXT ·scaleMaxAVX2(SB), NOSPLIT, $0-28
	MOVQ         x+0(FP), SI
	MOVQ         n+8(FP), CX
	VBROADCASTSS s+16(FP), Y7
	VMULPS       (SI), Y7, Y0
	VMOVUPS      Y0, (SI)
	VMOVAPS      Y0, Y1
	ADDQ         $32, SI
	SUBQ         $8, CX

smax_pairs:
	CMPQ    CX, $16
	JB      smax_one
	VMULPS  (SI), Y7, Y2
	VMULPS  32(SI), Y7, Y3
	VMOVUPS Y2, (SI)
	VMOVUPS Y3, 32(SI)
	VMAXPS  Y0, Y2, Y0
	VMAXPS  Y1, Y3, Y1
	ADDQ    $64, SI
	SUBQ    $16, CX
	JMP     smax_pairs

smax_one:
	TESTQ   CX, CX
	JZ      smax_done
	VMULPS  (SI), Y7, Y2
	VMOVUPS Y2, (SI)
	VMAXPS  Y0, Y2, Y0

smax_done:
	VMAXPS       Y0, Y1, Y0
	VEXTRACTF128 $1, Y0, X1
	VMAXPS       X0, X1, X0
	VPERMILPS    $0x4e, X0, X1
	VMAXPS       X0, X1, X0
	VMOVSHDUP    X0, X1
	VMAXSS       X0, X1, X0
	VMOVSS       X0, ret+24(FP)
	VZEROUPPER
	RET

// func scaleAVX2(x *float32, n int, s float32)
// x[i] *= s for n (a multiple of 8) values.
TEXT ·scaleAVX2(SB), NOSPLIT, $0-20
	MOVQ         x+0(FP), SI
	MOVQ         n+8(FP), CX
	VBROADCASTSS s+16(FP), Y7

scale_four:
	CMPQ    CX, $32
	JB      scale_one
	VMULPS  (SI), Y7, Y0
	VMULPS  32(SI), Y7, Y1
	VMULPS  64(SI), Y7, Y2
	VMULPS  96(SI), Y7, Y3
	VMOVUPS Y0, (SI)
	VMOVUPS Y1, 32(SI)
	VMOVUPS Y2, 64(SI)
	VMOVUPS Y3, 96(SI)
	ADDQ    $128, SI
	SUBQ    $32, CX
	JMP     scale_four

scale_one:
	TESTQ   CX, CX
	JZ      scale_done
	VMULPS  (SI), Y7, Y0
	VMOVUPS Y0, (SI)
	ADDQ    $32, SI
	SUBQ    $8, CX
	JMP     scale_one

scale_done:
	VZEROUPPER
	RET

DATA signBit<>+0(SB)/8, $0x8000000080000000
DATA signBit<>+8(SB)/8, $0x8000000080000000
DATA signBit<>+16(SB)/8, $0x8000000080000000
DATA signBit<>+24(SB)/8, $0x8000000080000000
GLOBL signBit<>(SB), RODATA|NOPTR, $32

// func siluMulAVX2(gate, u *float32, n int)
// g[i] = silu(g[i])·u[i] for n (a multiple of 8) values. With
// e = exp(-|v|), which cannot overflow, silu(v) = v/(1+e) for v >= 0 and
// v·e/(1+e) below: the generic v/(1+exp(-v)) to a few ulps.
TEXT ·siluMulAVX2(SB), NOSPLIT, $0-24
	MOVQ gate+0(FP), DI
	MOVQ u+8(FP), SI
	MOVQ n+16(FP), CX
	SHRQ $3, CX
	JZ   silu_done

silu_loop:
	VMOVUPS   (DI), Y5
	VORPS     signBit<>(SB), Y5, Y0
	EXP_PS
	VMULPS    Y6, Y5, Y4
	VBLENDVPS Y5, Y4, Y5, Y4
	VADDPS    expOne<>(SB), Y6, Y6
	VDIVPS    Y6, Y4, Y4
	VMULPS    (SI), Y4, Y4
	VMOVUPS   Y4, (DI)
	ADDQ      $32, DI
	ADDQ      $32, SI
	DECQ      CX
	JNZ       silu_loop

silu_done:
	VZEROUPPER
	RET

// func wsumsTail4AVX2(dst, w *float32, n int, src *float32, stride, heads, wStride, dstStride int)
// dst[g·dstStride+i] += Σ_j w[g·wStride+j]·src[j·stride+i] for i < 4 and
// g < heads: the four value columns past the vector kernels' multiple of
// 8 (the 3B's head size 100), each product rounded and then added, in
// order of j, as the Go tail (Axpy) does, so both give the same bits.
TEXT ·wsumsTail4AVX2(SB), NOSPLIT, $0-64
	MOVQ  dst+0(FP), DI
	MOVQ  w+8(FP), R8
	MOVQ  n+16(FP), R9
	MOVQ  src+24(FP), R10
	MOVQ  stride+32(FP), R11
	SHLQ  $2, R11
	MOVQ  heads+40(FP), CX
	MOVQ  wStride+48(FP), R12
	SHLQ  $2, R12
	MOVQ  dstStride+56(FP), R13
	SHLQ  $2, R13
	TESTQ CX, CX
	JZ    wt4_ret

wt4_head:
	VMOVUPS (DI), X0
	MOVQ    R8, SI
	MOVQ    R10, BX
	MOVQ    R9, DX
	TESTQ   DX, DX
	JZ      wt4_store

wt4_row:
	VBROADCASTSS (SI), X1
	VMULPS       (BX), X1, X2
	VADDPS       X2, X0, X0
	ADDQ         $4, SI
	ADDQ         R11, BX
	DECQ         DX
	JNZ          wt4_row

wt4_store:
	VMOVUPS X0, (DI)
	ADDQ    R13, DI
	ADDQ    R12, R8
	DECQ    CX
	JNZ     wt4_head

wt4_ret:
	RET
