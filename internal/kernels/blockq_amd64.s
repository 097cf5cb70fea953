//go:build !noasm

#include "textflag.h"
#include "hsum_amd64.h"

// The quantised lm_heads, AVX2 + FMA + F16C, one row at a time, all in
// assembly, so a row's result never depends on its neighbours. Q8_0 rows
// times a float vector: weights are widened to float32 (VPMOVSXBD,
// VCVTDQ2PS) and multiplied in single precision, within the float
// tolerance of doc.go. Q6_K rows times Q8K activations: integer products
// (VPMADDUBSW, VPMADDWD), an exact int32 sum per super-block, and the
// generic float epilogue.
//
// The rows are one linear stream; each loop asks for the lines BQ_PF bytes
// ahead. Prefetching past the end of the caller's rows is harmless (the
// next rows are usually the caller's next call).

#define BQ_PF 4096

// One Q8_0 block at off(R10) with x at xoff(R12): acc += d·s, where the
// block sum s = (q0·x0 + q1·x1) + (q2·x2 + q3·x3) over four 8-value
// vectors, lane by lane.
#define Q8_BLOCK(off, xoff, acc) \
	VPBROADCASTW off(R10), X2;           \
	VCVTPH2PS    X2, Y2;                 \
	VPMOVSXBD    off+2(R10), Y3;         \
	VCVTDQ2PS    Y3, Y3;                 \
	VMULPS       xoff(R12), Y3, Y3;      \
	VPMOVSXBD    off+10(R10), Y4;        \
	VCVTDQ2PS    Y4, Y4;                 \
	VFMADD231PS  xoff+32(R12), Y4, Y3;   \
	VPMOVSXBD    off+18(R10), Y5;        \
	VCVTDQ2PS    Y5, Y5;                 \
	VMULPS       xoff+64(R12), Y5, Y5;   \
	VPMOVSXBD    off+26(R10), Y6;        \
	VCVTDQ2PS    Y6, Y6;                 \
	VFMADD231PS  xoff+96(R12), Y6, Y5;   \
	VADDPS       Y5, Y3, Y3;             \
	VFMADD231PS  Y3, Y2, acc

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

// func gemvQ8_0AVX2(dst *float32, data *byte, rowBytes, rows int, x *float32, nb int)
// Block b of a row goes to accumulator b%2, so that consecutive blocks do
// not wait on each other's fused multiply-add.
TEXT ·gemvQ8_0AVX2(SB), NOSPLIT, $0-48
	MOVQ  dst+0(FP), DI
	MOVQ  data+8(FP), SI
	MOVQ  rowBytes+16(FP), BX
	MOVQ  rows+24(FP), CX
	TESTQ CX, CX
	JZ    q8_ret

q8_row:
	MOVQ   SI, R10
	MOVQ   x+32(FP), R12
	MOVQ   nb+40(FP), DX
	VXORPS Y0, Y0, Y0
	VXORPS Y1, Y1, Y1
	SUBQ   $2, DX
	JLT    q8_tail
	PCALIGN $32

q8_pair:
	PREFETCHT0 BQ_PF(R10)
	PREFETCHT0 BQ_PF+64(R10)
	Q8_BLOCK(0, 0, Y0)
	Q8_BLOCK(34, 128, Y1)
	ADDQ $68, R10
	ADDQ $256, R12
	SUBQ $2, DX
	JGE  q8_pair

q8_tail:
	ADDQ $2, DX
	JZ   q8_reduce
	Q8_BLOCK(0, 0, Y0)

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

// Shuffles for the group scales: entry k puts scale 2k in bytes 0-7 and
// scale 2k+1 in bytes 8-15, which VPMOVSXBW widens to the int16 lanes of
// the products of weights 32k..32k+15 and 32k+16..32k+31.
DATA k6Shuf<>+0(SB)/8, $0x0000000000000000
DATA k6Shuf<>+8(SB)/8, $0x0101010101010101
DATA k6Shuf<>+16(SB)/8, $0x0202020202020202
DATA k6Shuf<>+24(SB)/8, $0x0303030303030303
DATA k6Shuf<>+32(SB)/8, $0x0404040404040404
DATA k6Shuf<>+40(SB)/8, $0x0505050505050505
DATA k6Shuf<>+48(SB)/8, $0x0606060606060606
DATA k6Shuf<>+56(SB)/8, $0x0707070707070707
DATA k6Shuf<>+64(SB)/8, $0x0808080808080808
DATA k6Shuf<>+72(SB)/8, $0x0909090909090909
DATA k6Shuf<>+80(SB)/8, $0x0a0a0a0a0a0a0a0a
DATA k6Shuf<>+88(SB)/8, $0x0b0b0b0b0b0b0b0b
DATA k6Shuf<>+96(SB)/8, $0x0c0c0c0c0c0c0c0c
DATA k6Shuf<>+104(SB)/8, $0x0d0d0d0d0d0d0d0d
DATA k6Shuf<>+112(SB)/8, $0x0e0e0e0e0e0e0e0e
DATA k6Shuf<>+120(SB)/8, $0x0f0f0f0f0f0f0f0f
GLOBL k6Shuf<>(SB), RODATA|NOPTR, $128

// 32 codes q (0..63, unsigned) in v times the activations at xoff(R12),
// each 16 scaled by its group's scale (soff: the k6Shuf entry of the
// vector), into
// the int32 sums in Y0. Bounds: a VPMADDUBSW lane is at most 2·63·128 in
// magnitude, a VPMADDWD lane 2·16128·128, so nothing saturates or wraps.
#define K6_MAC(v, xoff, soff) \
	VPMADDUBSW xoff(R12), v, v;         \
	VPSHUFB    k6Shuf<>+soff(SB), X12, X8; \
	VPMOVSXBW  X8, Y8;                  \
	VPMADDWD   Y8, v, v;                \
	VPADDD     v, Y0, Y0

// One 128-weight half h of the super-block at R10: ql at qlo, qh at qho.
// Quarter i takes its low four bits from ql (bytes 0..31 for i = 0, 2 and
// 32..63 for i = 1, 3; low nibbles for i < 2) and its high two from bits
// 2i, 2i+1 of qh, moved to bits 4-5. The 16-bit shifts carry bits across
// bytes, but only into positions the masks clear.
#define K6_HALF(qlo, qho, h) \
	VMOVDQU qlo(R10), Y3;          \
	VMOVDQU qlo+32(R10), Y4;       \
	VMOVDQU qho(R10), Y5;          \
	VPAND   Y15, Y3, Y6;           \
	VPSLLW  $4, Y5, Y7;            \
	VPAND   Y14, Y7, Y7;           \
	VPOR    Y7, Y6, Y6;            \
	K6_MAC(Y6, 128*h, 64*h);        \
	VPAND   Y15, Y4, Y6;           \
	VPSLLW  $2, Y5, Y7;            \
	VPAND   Y14, Y7, Y7;           \
	VPOR    Y7, Y6, Y6;            \
	K6_MAC(Y6, 128*h+32, 64*h+16);   \
	VPSRLW  $4, Y3, Y6;            \
	VPAND   Y15, Y6, Y6;           \
	VPAND   Y14, Y5, Y7;           \
	VPOR    Y7, Y6, Y6;            \
	K6_MAC(Y6, 128*h+64, 64*h+32);   \
	VPSRLW  $4, Y4, Y6;            \
	VPAND   Y15, Y6, Y6;           \
	VPSRLW  $2, Y5, Y7;            \
	VPAND   Y14, Y7, Y7;           \
	VPOR    Y7, Y6, Y6;            \
	K6_MAC(Y6, 128*h+96, 64*h+48)

// func gemvQ6KQ8KAVX2(dst *float32, data *byte, rows int, xq *int8, xd *float32, bsums *int16, nb int)
//
// rows contiguous rows of nb super-blocks. Per super-block: Σ scale·q·x in
// int32 lanes, minus 32·Σ scale·bsum (VPMADDWD of the sixteen sums and
// scales), summed across lanes; then acc += (d·xd)·float32(sum) with
// scalar single-precision operations, as in the generic code.
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

k6_block:
	PREFETCHT0 BQ_PF(R10)
	PREFETCHT0 BQ_PF+64(R10)
	PREFETCHT0 BQ_PF+128(R10)
	PREFETCHT0 BQ_PF+192(R10)
	VPXOR      Y0, Y0, Y0
	VMOVDQU    192(R10), X12
	K6_HALF(0, 128, 0)
	K6_HALF(64, 160, 1)
	VPMOVSXBW  X12, Y1
	VPMADDWD   (R11), Y1, Y1
	VPSLLD     $5, Y1, Y1
	VPSUBD     Y1, Y0, Y0
	HSUM_I32
	VCVTDQ2PS  X0, X0
	VPBROADCASTW 208(R10), X1
	VCVTPH2PS  X1, X1
	VMULSS     (R13), X1, X1
	VMULSS     X0, X1, X1
	VADDSS     X1, X13, X13
	ADDQ       $210, R10
	ADDQ       $256, R12
	ADDQ       $4, R13
	ADDQ       $32, R11
	DECQ       DX
	JNZ        k6_block

	VMOVSS X13, (DI)
	ADDQ   $4, DI
	DECQ   CX
	JNZ    k6_row

k6_ret:
	VZEROUPPER
	RET
