//go:build !noasm

#include "textflag.h"

// Q8_0 and Q6_K rows times a float vector (the quantised lm_heads), AVX2 +
// FMA + F16C. Weights are widened to float32 (VPMOVSXBD, VCVTDQ2PS) and
// multiplied in single precision; there is no activation quantisation, so
// results stay within the float tolerance of doc.go. One row at a time, all
// in assembly, so a row's summation order never depends on its neighbours.
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

DATA bq32<>+0(SB)/8, $0x2020202020202020
DATA bq32<>+8(SB)/8, $0x2020202020202020
DATA bq32<>+16(SB)/8, $0x2020202020202020
DATA bq32<>+24(SB)/8, $0x2020202020202020
GLOBL bq32<>(SB), RODATA|NOPTR, $32

// Decode one 128-weight half of a Q6_K super-block (ql at qlo(R10), qh at
// qho(R10)) into 128 signed bytes q-32 at off(buf). Quarter i of the half
// takes its low four bits from ql (low nibbles of bytes 0..31 for i=0,
// of 32..63 for i=1, high nibbles for i=2,3) and its high two from bits
// 2i, 2i+1 of qh, moved to bits 4-5. The 16-bit shifts carry bits across
// bytes, but only into positions the masks clear.
#define Q6_DECODE(qlo, qho, buf, off) \
	VMOVDQU qlo(R10), Y3;    \
	VMOVDQU qlo+32(R10), Y4; \
	VMOVDQU qho(R10), Y5;    \
	VPAND   Y15, Y3, Y6;     \
	VPSLLW  $4, Y5, Y7;      \
	VPAND   Y14, Y7, Y7;     \
	VPOR    Y7, Y6, Y6;      \
	VPSUBB  Y13, Y6, Y6;     \
	VMOVDQU Y6, off(buf);    \
	VPAND   Y15, Y4, Y6;     \
	VPSLLW  $2, Y5, Y7;      \
	VPAND   Y14, Y7, Y7;     \
	VPOR    Y7, Y6, Y6;      \
	VPSUBB  Y13, Y6, Y6;     \
	VMOVDQU Y6, off+32(buf); \
	VPSRLW  $4, Y3, Y6;      \
	VPAND   Y15, Y6, Y6;     \
	VPAND   Y14, Y5, Y7;     \
	VPOR    Y7, Y6, Y6;      \
	VPSUBB  Y13, Y6, Y6;     \
	VMOVDQU Y6, off+64(buf); \
	VPSRLW  $4, Y4, Y6;      \
	VPAND   Y15, Y6, Y6;     \
	VPSRLW  $2, Y5, Y7;      \
	VPAND   Y14, Y7, Y7;     \
	VPOR    Y7, Y6, Y6;      \
	VPSUBB  Y13, Y6, Y6;     \
	VMOVDQU Y6, off+96(buf)

// Decode the super-block at R10 into buf: q-32 of its 256 weights at
// 0..255(buf), the sixteen d·scale floats (rounded as the generic
// d·float32(scale)) at 256..319(buf); and ask for the lines BQ_PF ahead.
#define Q6_PREP(buf) \
	PREFETCHT0   BQ_PF(R10);     \
	PREFETCHT0   BQ_PF+64(R10);  \
	PREFETCHT0   BQ_PF+128(R10); \
	PREFETCHT0   BQ_PF+192(R10); \
	VPBROADCASTW 208(R10), X2;   \
	VCVTPH2PS    X2, Y2;         \
	VPMOVSXBD    192(R10), Y3;   \
	VCVTDQ2PS    Y3, Y3;         \
	VMULPS       Y2, Y3, Y3;     \
	VMOVUPS      Y3, 256(buf);   \
	VPMOVSXBD    200(R10), Y4;   \
	VCVTDQ2PS    Y4, Y4;         \
	VMULPS       Y2, Y4, Y4;     \
	VMOVUPS      Y4, 288(buf);   \
	Q6_DECODE(0, 128, buf, 0);   \
	Q6_DECODE(64, 160, buf, 128)

// Group g (weights 16g..16g+15 of the super-block, scale g):
// acc += (d·scale)·((q0·x0) + q1·x1), lane by lane.
#define Q6_GROUP(buf, g, acc) \
	VPMOVSXBD    16*g(buf), Y6;       \
	VCVTDQ2PS    Y6, Y6;              \
	VMULPS       64*g(R12), Y6, Y6;   \
	VPMOVSXBD    16*g+8(buf), Y7;     \
	VCVTDQ2PS    Y7, Y7;              \
	VFMADD231PS  64*g+32(R12), Y7, Y6; \
	VBROADCASTSS 256+4*g(buf), Y8;    \
	VFMADD231PS  Y6, Y8, acc

// The sixteen groups; even ones go to Y0, odd ones to Y1.
#define Q6_GROUPS(buf) \
	Q6_GROUP(buf, 0, Y0);  \
	Q6_GROUP(buf, 1, Y1);  \
	Q6_GROUP(buf, 2, Y0);  \
	Q6_GROUP(buf, 3, Y1);  \
	Q6_GROUP(buf, 4, Y0);  \
	Q6_GROUP(buf, 5, Y1);  \
	Q6_GROUP(buf, 6, Y0);  \
	Q6_GROUP(buf, 7, Y1);  \
	Q6_GROUP(buf, 8, Y0);  \
	Q6_GROUP(buf, 9, Y1);  \
	Q6_GROUP(buf, 10, Y0); \
	Q6_GROUP(buf, 11, Y1); \
	Q6_GROUP(buf, 12, Y0); \
	Q6_GROUP(buf, 13, Y1); \
	Q6_GROUP(buf, 14, Y0); \
	Q6_GROUP(buf, 15, Y1)

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

// func gemvQ6KAVX2(dst *float32, data *byte, rowBytes, rows int, x *float32, nb int)
//
// The super-blocks are decoded into bytes on the stack and widened from
// there. The decode runs one super-block ahead (into the other of two
// buffers, R9, while the groups read R8), across row ends too since the
// rows are contiguous: a load right behind the 32-byte store it reads from
// waits for store-to-load forwarding, which cost a fifth of the time.
TEXT ·gemvQ6KAVX2(SB), 0, $640-48
	MOVQ    dst+0(FP), DI
	MOVQ    data+8(FP), R10
	MOVQ    rows+24(FP), CX
	VMOVDQU bqLow4<>(SB), Y15
	VMOVDQU bqBits45<>(SB), Y14
	VMOVDQU bq32<>(SB), Y13
	TESTQ   CX, CX
	JZ      q6_ret

	// R11: super-blocks still to decode after the first.
	MOVQ  nb+40(FP), R11
	IMULQ CX, R11
	DECQ  R11
	LEAQ  0(SP), R8
	LEAQ  320(SP), R9
	Q6_PREP(R8)
	ADDQ  $210, R10

q6_row:
	MOVQ   x+32(FP), R12
	MOVQ   nb+40(FP), DX
	VXORPS Y0, Y0, Y0
	VXORPS Y1, Y1, Y1

q6_block:
	TESTQ R11, R11
	JZ    q6_last
	Q6_PREP(R9)
	ADDQ  $210, R10
	DECQ  R11

q6_last:
	Q6_GROUPS(R8)
	XCHGQ R8, R9
	ADDQ  $1024, R12
	DECQ  DX
	JNZ   q6_block

	BQ_REDUCE
	VMOVSS X0, (DI)
	ADDQ   $4, DI
	DECQ   CX
	JNZ    q6_row

q6_ret:
	VZEROUPPER
	RET
