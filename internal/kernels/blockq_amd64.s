//go:build !noasm

#include "textflag.h"
#include "hsum_amd64.h"

// The quantised lm_heads, AVX2 + F16C, one row at a time, all in
// assembly, so a row's result never depends on its neighbours. Both
// multiply integers: Q8_0 rows times Q8 activations and Q6_K rows times
// Q8K activations (VPMADDUBSW, VPMADDWD), with exact int32 sums and the
// generic code's float operations in its order.
//
// The rows are one linear stream; each loop asks for the lines BQ_PF bytes
// ahead. Prefetching past the end of the caller's rows is harmless (the
// next rows are usually the caller's next call).

#define BQ_PF 4096

// One Q8_0 block at off(R10), activations at xoff(R12), their scale at
// doff(R13): acc += float32(lanes)·(d·D), where int32 lane l sums the
// products of codes 4l..4l+3. The products come from VPMADDUBSW of |q|
// and x·sign(q) (exact: at most 2·128·127 per int16 lane for x in
// [-127, 127]).
#define Q8_BLOCK(off, xoff, doff, acc) \
	VMOVDQU      xoff(R12), Y4;      \
	VPABSB       off+2(R10), Y2;     \
	VPSIGNB      off+2(R10), Y4, Y4; \
	VPMADDUBSW   Y4, Y2, Y2;         \
	VPMADDWD     Y15, Y2, Y2;        \
	VCVTDQ2PS    Y2, Y2;             \
	VPBROADCASTW off(R10), X3;       \
	VCVTPH2PS    X3, Y3;             \
	VBROADCASTSS doff(R13), Y5;      \
	VMULPS       Y5, Y3, Y3;         \
	VMULPS       Y3, Y2, Y2;         \
	VADDPS       Y2, acc, acc

// Reduce acc0+acc1 (Y0, Y1) to one float in X0, in a fixed order:
// ((v0+v1)+(v2+v3)) + ((v4+v5)+(v6+v7)).
#define BQ_REDUCE \
	VADDPS       Y1, Y0, Y0; \
	VHADDPS      Y0, Y0, Y0; \
	VHADDPS      Y0, Y0, Y0; \
	VEXTRACTF128 $1, Y0, X1; \
	VADDSS       X1, X0, X0

DATA bqLow4<>+0(SB)/8, $0x0f0f0f0f0f0f0f0f
DATA bqLow4<>+8(SB)/8, $0x0f0f0f0f0f0f0f0f
DATA bqLow4<>+16(SB)/8, $0x0f0f0f0f0f0f0f0f
DATA bqLow4<>+24(SB)/8, $0x0f0f0f0f0f0f0f0f
GLOBL bqLow4<>(SB), RODATA|NOPTR, $32

DATA bqBits45<>+0(SB)/8, $0x3030303030303030
DATA bqBits45<>+8(SB)/8, $0x3030303030303030
DATA bqBits45<>+16(SB)/8, $0x3030303030303030
DATA bqBits45<>+24(SB)/8, $0x3030303030303030
GLOBL bqBits45<>(SB), RODATA|NOPTR, $32

DATA bqOnes16<>+0(SB)/8, $0x0001000100010001
DATA bqOnes16<>+8(SB)/8, $0x0001000100010001
DATA bqOnes16<>+16(SB)/8, $0x0001000100010001
DATA bqOnes16<>+24(SB)/8, $0x0001000100010001
GLOBL bqOnes16<>(SB), RODATA|NOPTR, $32

// func gemvQ8_0Q8AVX2(dst *float32, data *byte, rowBytes, rows int, xq *int8, xd *float32, nb int)
// Block b of a row goes to accumulator b%2, so that consecutive blocks do
// not wait on each other's adds.
TEXT ·gemvQ8_0Q8AVX2(SB), NOSPLIT, $0-56
	MOVQ    dst+0(FP), DI
	MOVQ    data+8(FP), SI
	MOVQ    rowBytes+16(FP), BX
	MOVQ    rows+24(FP), CX
	VMOVDQU bqOnes16<>(SB), Y15
	TESTQ   CX, CX
	JZ      q8_ret

q8_row:
	MOVQ   SI, R10
	MOVQ   xq+32(FP), R12
	MOVQ   xd+40(FP), R13
	MOVQ   nb+48(FP), DX
	VXORPS Y0, Y0, Y0
	VXORPS Y1, Y1, Y1
	SUBQ   $2, DX
	JLT    q8_tail
	PCALIGN $32

q8_pair:
	PREFETCHT0 BQ_PF(R10)
	PREFETCHT0 BQ_PF+64(R10)
	Q8_BLOCK(0, 0, 0, Y0)
	Q8_BLOCK(34, 32, 4, Y1)
	ADDQ $68, R10
	ADDQ $64, R12
	ADDQ $8, R13
	SUBQ $2, DX
	JGE  q8_pair

q8_tail:
	ADDQ $2, DX
	JZ   q8_reduce
	Q8_BLOCK(0, 0, 0, Y0)

q8_reduce:
	BQ_REDUCE
	VMOVSS X0, (DI)
	ADDQ   $4, DI
	ADDQ   BX, SI
	DECQ   CX
	JNZ    q8_row

q8_ret:
	VZEROUPPER
	RET

// Word shuffles for the group scales. Each half widens its eight scales
// to int16 once and copies them into both 128-bit lanes (Y9); entry i then
// broadcasts scale 2i over the low lane and scale 2i+1 over the high one,
// the int16 lanes of the products of weights 32i..32i+15 and
// 32i+16..32i+31 of the half. One VPSHUFB per 32 weights, where a byte
// shuffle and a widening per 32 weights took two.
DATA k6WShuf<>+0(SB)/8, $0x0100010001000100
DATA k6WShuf<>+8(SB)/8, $0x0100010001000100
DATA k6WShuf<>+16(SB)/8, $0x0302030203020302
DATA k6WShuf<>+24(SB)/8, $0x0302030203020302
DATA k6WShuf<>+32(SB)/8, $0x0504050405040504
DATA k6WShuf<>+40(SB)/8, $0x0504050405040504
DATA k6WShuf<>+48(SB)/8, $0x0706070607060706
DATA k6WShuf<>+56(SB)/8, $0x0706070607060706
DATA k6WShuf<>+64(SB)/8, $0x0908090809080908
DATA k6WShuf<>+72(SB)/8, $0x0908090809080908
DATA k6WShuf<>+80(SB)/8, $0x0b0a0b0a0b0a0b0a
DATA k6WShuf<>+88(SB)/8, $0x0b0a0b0a0b0a0b0a
DATA k6WShuf<>+96(SB)/8, $0x0d0c0d0c0d0c0d0c
DATA k6WShuf<>+104(SB)/8, $0x0d0c0d0c0d0c0d0c
DATA k6WShuf<>+112(SB)/8, $0x0f0e0f0e0f0e0f0e
DATA k6WShuf<>+120(SB)/8, $0x0f0e0f0e0f0e0f0e
GLOBL k6WShuf<>(SB), RODATA|NOPTR, $128

// 32 codes q (0..63, unsigned) in v times the activations at xoff(R12),
// each 16 scaled by its group's scale (entry i of k6WShuf), into the int32
// sums in acc. Bounds: a VPMADDUBSW lane is at most 2·63·128 in magnitude,
// a VPMADDWD lane 2·16128·128, so nothing saturates or wraps.
#define K6_MAC(v, xoff, i, acc) \
	VPMADDUBSW xoff(R12), v, v;         \
	VPSHUFB    k6WShuf<>+32*i(SB), Y9, Y8; \
	VPMADDWD   Y8, v, v;                \
	VPADDD     v, acc, acc

// One 128-weight half h of the super-block at R10: ql at qlo, qh at qho,
// each 32 codes multiplied in by MAC.
// Quarter i takes its low four bits from ql (bytes 0..31 for i = 0, 2 and
// 32..63 for i = 1, 3; low nibbles for i < 2) and its high two from bits
// 2i, 2i+1 of qh, moved to bits 4-5. The 16-bit shifts carry bits across
// bytes, but only into positions the masks clear.
#define K6_HALF(MAC, qlo, qho, h, acc) \
	VPMOVSXBW   192+8*h(R10), X9;  \
	VINSERTI128 $1, X9, Y9, Y9;    \
	VMOVDQU qlo(R10), Y3;          \
	VMOVDQU qlo+32(R10), Y4;       \
	VMOVDQU qho(R10), Y5;          \
	VPAND   Y15, Y3, Y6;           \
	VPSLLW  $4, Y5, Y7;            \
	VPAND   Y14, Y7, Y7;           \
	VPOR    Y7, Y6, Y6;            \
	MAC(Y6, 128*h, 0, acc);        \
	VPAND   Y15, Y4, Y6;           \
	VPSLLW  $2, Y5, Y7;            \
	VPAND   Y14, Y7, Y7;           \
	VPOR    Y7, Y6, Y6;            \
	MAC(Y6, 128*h+32, 1, acc);   \
	VPSRLW  $4, Y3, Y6;            \
	VPAND   Y15, Y6, Y6;           \
	VPAND   Y14, Y5, Y7;           \
	VPOR    Y7, Y6, Y6;            \
	MAC(Y6, 128*h+64, 2, acc);   \
	VPSRLW  $4, Y4, Y6;            \
	VPAND   Y15, Y6, Y6;           \
	VPSRLW  $2, Y5, Y7;            \
	VPAND   Y14, Y7, Y7;           \
	VPOR    Y7, Y6, Y6;            \
	MAC(Y6, 128*h+96, 3, acc)

// The integer part of one super-block at R10 (activations at R12, their
// sums at R11) into acc: Σ scale·q·x minus 32·Σ scale·bsum (VPMADDWD of
// the sixteen sums and scales), in int32 lanes.
#define K6_SUPER(acc) \
	PREFETCHT0 BQ_PF(R10);       \
	PREFETCHT0 BQ_PF+64(R10);    \
	PREFETCHT0 BQ_PF+128(R10);   \
	PREFETCHT0 BQ_PF+192(R10);   \
	VPXOR      acc, acc, acc;    \
	VMOVDQU    192(R10), X12;    \
	K6_HALF(K6_MAC, 0, 128, 0, acc);     \
	K6_HALF(K6_MAC, 64, 160, 1, acc);    \
	VPMOVSXBW  X12, Y1;          \
	VPMADDWD   (R11), Y1, Y1;    \
	VPSLLD     $5, Y1, Y1;       \
	VPSUBD     Y1, acc, acc

// acc += (d·xd)·f for the super-block whose d is at doff(R10), xd at
// xoff(R13), and float32 sum in lane 0 of fx: the generic code's
// single-precision operations, in its order.
#define K6_ACC(doff, xoff, fx) \
	VPBROADCASTW doff(R10), X1; \
	VCVTPH2PS    X1, X1;        \
	VMULSS       xoff(R13), X1, X1; \
	VMULSS       fx, X1, X1;    \
	VADDSS       X1, X13, X13

// func gemvQ6KQ8KAVX2(dst *float32, data *byte, rows int, xq *int8, xd *float32, bsums *int16, nb int)
//
// rows contiguous rows of nb super-blocks. Super-blocks go in pairs whose
// two integer sums are reduced across lanes together (five operations for
// both, where one took six); then acc += (d·xd)·float32(sum) for each in
// order, with scalar single-precision operations, as in the generic code.
TEXT ·gemvQ6KQ8KAVX2(SB), NOSPLIT, $0-56
	MOVQ    dst+0(FP), DI
	MOVQ    data+8(FP), R10
	MOVQ    rows+16(FP), CX
	VMOVDQU bqLow4<>(SB), Y15
	VMOVDQU bqBits45<>(SB), Y14
	TESTQ   CX, CX
	JZ      k6_ret

k6_row:
	MOVQ   xq+24(FP), R12
	MOVQ   xd+32(FP), R13
	MOVQ   bsums+40(FP), R11
	MOVQ   nb+48(FP), DX
	VXORPS X13, X13, X13

k6_pair:
	CMPQ DX, $2
	JB   k6_single
	K6_SUPER(Y0)
	ADDQ $210, R10
	ADDQ $256, R12
	ADDQ $32, R11
	K6_SUPER(Y2)

	// [a0+a1, a2+a3, b0+b1, b2+b3 | a4+a5, a6+a7, b4+b5, b6+b7], then the
	// two halves added and the pairs: [Σa, Σb, Σa, Σb].
	VPHADDD      Y2, Y0, Y0
	VEXTRACTI128 $1, Y0, X1
	VPADDD       X1, X0, X0
	VPHADDD      X0, X0, X0
	VCVTDQ2PS    X0, X0
	VMOVSHDUP    X0, X2
	K6_ACC(-2, 0, X0)
	K6_ACC(208, 4, X2)
	ADDQ $210, R10
	ADDQ $256, R12
	ADDQ $8, R13
	ADDQ $32, R11
	SUBQ $2, DX
	JMP  k6_pair

k6_single:
	TESTQ DX, DX
	JZ    k6_store
	K6_SUPER(Y0)
	HSUM_I32
	VCVTDQ2PS X0, X0
	K6_ACC(208, 0, X0)
	ADDQ $210, R10

k6_store:
	VMOVSS X13, (DI)
	ADDQ   $4, DI
	DECQ   CX
	JNZ    k6_row

k6_ret:
	VZEROUPPER
	RET

// K6_MAC for two activation vectors, at R12 and R8, into Y0 and Y2: the
// codes in v and the shuffled scales serve both.
#define K6_MAC2(v, xoff, i, acc) \
	VPMADDUBSW xoff(R12), v, Y10;       \
	VPMADDUBSW xoff(R8), v, Y11;        \
	VPSHUFB    k6WShuf<>+32*i(SB), Y9, Y8; \
	VPMADDWD   Y8, Y10, Y10;            \
	VPMADDWD   Y8, Y11, Y11;            \
	VPADDD     Y10, Y0, Y0;             \
	VPADDD     Y11, Y2, Y2

// func gemvQ6KQ8Kx2AVX2(d0, d1 *float32, data *byte, rows int, xq0, xq1 *int8, xd0, xd1 *float32, bs0, bs1 *int16, nb int)
//
// gemvQ6KQ8KAVX2 for two activation vectors (xq0, xd0, bs0 into d0 and
// xq1, xd1, bs1 into d1), unpacking each super-block's codes once for
// both. The integer sums are exact and each float accumulates as in the
// one-vector kernel, so the results are its own bit for bit. The two
// vectors' sums of a super-block are reduced across lanes together.
TEXT ·gemvQ6KQ8Kx2AVX2(SB), NOSPLIT, $0-88
	MOVQ    d0+0(FP), DI
	MOVQ    d1+8(FP), SI
	MOVQ    data+16(FP), R10
	MOVQ    rows+24(FP), CX
	VMOVDQU bqLow4<>(SB), Y15
	VMOVDQU bqBits45<>(SB), Y14
	TESTQ   CX, CX
	JZ      k6x2_ret

k6x2_row:
	MOVQ   xq0+32(FP), R12
	MOVQ   xq1+40(FP), R8
	MOVQ   xd0+48(FP), R13
	MOVQ   xd1+56(FP), R9
	MOVQ   bs0+64(FP), R11
	MOVQ   bs1+72(FP), R14
	MOVQ   nb+80(FP), DX
	VXORPS X13, X13, X13
	VXORPS X12, X12, X12

k6x2_block:
	PREFETCHT0 BQ_PF(R10)
	PREFETCHT0 BQ_PF+64(R10)
	PREFETCHT0 BQ_PF+128(R10)
	PREFETCHT0 BQ_PF+192(R10)
	VPXOR      Y0, Y0, Y0
	VPXOR      Y2, Y2, Y2
	K6_HALF(K6_MAC2, 0, 128, 0, Y0)
	K6_HALF(K6_MAC2, 64, 160, 1, Y0)
	VPMOVSXBW  192(R10), Y1
	VPMADDWD   (R11), Y1, Y7
	VPSLLD     $5, Y7, Y7
	VPSUBD     Y7, Y0, Y0
	VPMADDWD   (R14), Y1, Y1
	VPSLLD     $5, Y1, Y1
	VPSUBD     Y1, Y2, Y2

	// As gemvQ6KQ8KAVX2's pairs: Σ0 in lane 0 of X0, Σ1 in lane 0 of X2.
	VPHADDD      Y2, Y0, Y0
	VEXTRACTI128 $1, Y0, X1
	VPADDD       X1, X0, X0
	VPHADDD      X0, X0, X0
	VCVTDQ2PS    X0, X0
	VMOVSHDUP    X0, X2

	// acc += (d·xd)·Σ for each vector, as K6_ACC.
	VPBROADCASTW 208(R10), X1
	VCVTPH2PS    X1, X1
	VMULSS       (R13), X1, X3
	VMULSS       X0, X3, X3
	VADDSS       X3, X13, X13
	VMULSS       (R9), X1, X4
	VMULSS       X2, X4, X4
	VADDSS       X4, X12, X12

	ADDQ $210, R10
	ADDQ $256, R12
	ADDQ $256, R8
	ADDQ $4, R13
	ADDQ $4, R9
	ADDQ $32, R11
	ADDQ $32, R14
	DECQ DX
	JNZ  k6x2_block

	VMOVSS X13, (DI)
	VMOVSS X12, (SI)
	ADDQ   $4, DI
	ADDQ   $4, SI
	DECQ   CX
	JNZ    k6x2_row

k6x2_ret:
	VZEROUPPER
	RET
