//go:build !noasm

#include "textflag.h"

// Ternary × int8 kernels on the I2_S layout with AVX-512 (F, BW, VL) and
// VNNI. VPDPBUSD multiplies four unsigned codes by four signed activations
// and adds them to an int32 lane in one instruction, so there are no int16
// accumulators to widen and nothing can overflow: these kernels return the
// exact integer sums Σ code·x, and the Go side applies the float epilogue
// with the same operations as the generic code.
//
// Decoding: a 32-byte block holds four 32-weight groups at shifts 6, 4, 2
// and 0. VBROADCASTI64X4 puts the block in both halves of a ZMM register;
// VPSRLVW by [6…6 | 4…4] and by [2…2 | 0…0] and the mask give groups 0,1
// and groups 2,3, which line up with the block's 128 activations as two
// 64-byte loads. Per row and block: one load, two shifts, two ands and two
// VPDPBUSD for 128 multiply-adds.

DATA vnniShiftA<>+0(SB)/8, $0x0006000600060006
DATA vnniShiftA<>+8(SB)/8, $0x0006000600060006
DATA vnniShiftA<>+16(SB)/8, $0x0006000600060006
DATA vnniShiftA<>+24(SB)/8, $0x0006000600060006
DATA vnniShiftA<>+32(SB)/8, $0x0004000400040004
DATA vnniShiftA<>+40(SB)/8, $0x0004000400040004
DATA vnniShiftA<>+48(SB)/8, $0x0004000400040004
DATA vnniShiftA<>+56(SB)/8, $0x0004000400040004
GLOBL vnniShiftA<>(SB), RODATA|NOPTR, $64

DATA vnniShiftB<>+0(SB)/8, $0x0002000200020002
DATA vnniShiftB<>+8(SB)/8, $0x0002000200020002
DATA vnniShiftB<>+16(SB)/8, $0x0002000200020002
DATA vnniShiftB<>+24(SB)/8, $0x0002000200020002
DATA vnniShiftB<>+32(SB)/8, $0
DATA vnniShiftB<>+40(SB)/8, $0
DATA vnniShiftB<>+48(SB)/8, $0
DATA vnniShiftB<>+56(SB)/8, $0
GLOBL vnniShiftB<>(SB), RODATA|NOPTR, $64

DATA vnniMask<>+0(SB)/8, $0x0303030303030303
DATA vnniMask<>+8(SB)/8, $0x0303030303030303
DATA vnniMask<>+16(SB)/8, $0x0303030303030303
DATA vnniMask<>+24(SB)/8, $0x0303030303030303
DATA vnniMask<>+32(SB)/8, $0x0303030303030303
DATA vnniMask<>+40(SB)/8, $0x0303030303030303
DATA vnniMask<>+48(SB)/8, $0x0303030303030303
DATA vnniMask<>+56(SB)/8, $0x0303030303030303
GLOBL vnniMask<>(SB), RODATA|NOPTR, $64

#define VNNI_CONSTS \
	VMOVDQU64 vnniShiftA<>(SB), Z29; \
	VMOVDQU64 vnniShiftB<>(SB), Z30; \
	VMOVDQU64 vnniMask<>(SB), Z31

// Decode one block of codes at src into lo (groups 0,1) and hi (2,3).
#define VNNI_DECODE(src, tmp, lo, hi) \
	VBROADCASTI64X4 src, tmp;  \
	VPSRLVW         Z29, tmp, lo; \
	VPSRLVW         Z30, tmp, hi; \
	VPANDD          Z31, lo, lo;  \
	VPANDD          Z31, hi, hi

// Four int32 vectors z0..z3 (scratch y0..y3 are their low halves, all in
// Y0-Y15) to [Σz0, Σz1, Σz2, Σz3] stored at dst.
#define VNNI_REDUCE4(z0, z1, z2, z3, y0, y1, y2, y3, x0, x1, dst) \
	VEXTRACTI64X4 $1, z0, Y16; \
	VPADDD        Y16, y0, y0;  \
	VEXTRACTI64X4 $1, z1, Y17; \
	VPADDD        Y17, y1, y1;  \
	VEXTRACTI64X4 $1, z2, Y18; \
	VPADDD        Y18, y2, y2;  \
	VEXTRACTI64X4 $1, z3, Y19; \
	VPADDD        Y19, y3, y3;  \
	VPHADDD       y1, y0, y0;   \
	VPHADDD       y3, y2, y2;   \
	VPHADDD       y2, y0, y0;   \
	VEXTRACTI128  $1, y0, x1;   \
	VPADDD        x1, x0, x0;   \
	VMOVDQU       x0, dst

// func gemvI2S4VNNI(acc *int32, w *byte, stride, quads int, x *int8, nb int, pf int)
//
// Decode path: acc[r] = Σ code·x for quads groups of four consecutive rows
// (stride bytes apart) and one activation row, read as one linear stream
// with software prefetch pf bytes ahead, like the AVX2 kernel.
TEXT ·gemvI2S4VNNI(SB), NOSPLIT, $0-56
	MOVQ  acc+0(FP), DI
	MOVQ  w+8(FP), R13
	MOVQ  stride+16(FP), BX
	MOVQ  quads+24(FP), CX
	MOVQ  x+32(FP), R8
	VNNI_CONSTS
	TESTQ CX, CX
	JZ    vg_ret
	MOVQ  CX, R9
	IMULQ BX, R9
	SHLQ  $2, R9
	ADDQ  R13, R9

vg_quad:
	MOVQ   R13, SI
	LEAQ   (SI)(BX*2), R10
	MOVQ   pf+48(FP), R14
	ADDQ   R13, R14
	MOVQ   R8, R12
	MOVQ   nb+40(FP), DX
	VPXORD Z0, Z0, Z0
	VPXORD Z1, Z1, Z1
	VPXORD Z2, Z2, Z2
	VPXORD Z3, Z3, Z3
	VPXORD Z4, Z4, Z4
	VPXORD Z5, Z5, Z5
	VPXORD Z6, Z6, Z6
	VPXORD Z7, Z7, Z7

vg_block:
	CMPQ       R14, R9
	JAE        vg_nopf
	PREFETCHT0 (R14)
	PREFETCHT0 64(R14)

vg_nopf:
	VMOVDQU64 (R12), Z8
	VMOVDQU64 64(R12), Z9
	VNNI_DECODE((SI), Z10, Z11, Z12)
	VPDPBUSD  Z8, Z11, Z0
	VPDPBUSD  Z9, Z12, Z4
	VNNI_DECODE((SI)(BX*1), Z13, Z14, Z15)
	VPDPBUSD  Z8, Z14, Z1
	VPDPBUSD  Z9, Z15, Z5
	VNNI_DECODE((R10), Z16, Z17, Z18)
	VPDPBUSD  Z8, Z17, Z2
	VPDPBUSD  Z9, Z18, Z6
	VNNI_DECODE((R10)(BX*1), Z19, Z20, Z21)
	VPDPBUSD  Z8, Z20, Z3
	VPDPBUSD  Z9, Z21, Z7
	ADDQ      $32, SI
	ADDQ      $32, R10
	ADDQ      $128, R12
	ADDQ      $128, R14
	DECQ      DX
	JNZ       vg_block

	VPADDD Z4, Z0, Z0
	VPADDD Z5, Z1, Z1
	VPADDD Z6, Z2, Z2
	VPADDD Z7, Z3, Z3
	VNNI_REDUCE4(Z0, Z1, Z2, Z3, Y0, Y1, Y2, Y3, X0, X1, (DI))
	ADDQ   $16, DI
	LEAQ   (R13)(BX*4), R13
	DECQ   CX
	JNZ    vg_quad

vg_ret:
	VZEROUPPER
	RET

// One activation row t (base register and index) against the four decoded
// rows in Z16-Z23, into accumulators a0..a3.
#define VNNI_TOKEN(xaddr, xaddr64, a0, a1, a2, a3) \
	VMOVDQU64 xaddr, Z24;   \
	VMOVDQU64 xaddr64, Z25; \
	VPDPBUSD  Z24, Z16, a0; \
	VPDPBUSD  Z25, Z17, a0; \
	VPDPBUSD  Z24, Z18, a1; \
	VPDPBUSD  Z25, Z19, a1; \
	VPDPBUSD  Z24, Z20, a2; \
	VPDPBUSD  Z25, Z21, a2; \
	VPDPBUSD  Z24, Z22, a3; \
	VPDPBUSD  Z25, Z23, a3

// func gemmI2S4x4VNNI(acc *int32, lda int, w *byte, stride, quads int, x *int8, ldx, nb int)
//
// Prefill path: quads groups of four consecutive weight rows against four
// activation rows (ldx apart). acc[t*lda + r] = Σ code·x for row r of the
// groups and activation t. Each block is decoded once per row for four
// activation rows, and each activation vector is loaded once for four
// rows; the sixteen accumulators are Z0-Z15 (activation t, row r at 4t+r).
TEXT ·gemmI2S4x4VNNI(SB), NOSPLIT, $0-64
	MOVQ  acc+0(FP), DI
	MOVQ  lda+8(FP), AX
	SHLQ  $2, AX
	MOVQ  w+16(FP), R13
	MOVQ  stride+24(FP), BX
	MOVQ  quads+32(FP), CX
	MOVQ  ldx+48(FP), R9
	VNNI_CONSTS
	TESTQ CX, CX
	JZ    v44_ret

v44_quad:
	MOVQ   R13, SI
	LEAQ   (SI)(BX*2), R11
	MOVQ   x+40(FP), R12
	LEAQ   (R12)(R9*2), R10
	MOVQ   nb+56(FP), DX
	VPXORD Z0, Z0, Z0
	VPXORD Z1, Z1, Z1
	VPXORD Z2, Z2, Z2
	VPXORD Z3, Z3, Z3
	VPXORD Z4, Z4, Z4
	VPXORD Z5, Z5, Z5
	VPXORD Z6, Z6, Z6
	VPXORD Z7, Z7, Z7
	VPXORD Z8, Z8, Z8
	VPXORD Z9, Z9, Z9
	VPXORD Z10, Z10, Z10
	VPXORD Z11, Z11, Z11
	VPXORD Z12, Z12, Z12
	VPXORD Z13, Z13, Z13
	VPXORD Z14, Z14, Z14
	VPXORD Z15, Z15, Z15

v44_block:
	VNNI_DECODE((SI), Z26, Z16, Z17)
	VNNI_DECODE((SI)(BX*1), Z27, Z18, Z19)
	VNNI_DECODE((R11), Z28, Z20, Z21)
	VNNI_DECODE((R11)(BX*1), Z26, Z22, Z23)
	VNNI_TOKEN((R12), 64(R12), Z0, Z1, Z2, Z3)
	VNNI_TOKEN((R12)(R9*1), 64(R12)(R9*1), Z4, Z5, Z6, Z7)
	VNNI_TOKEN((R10), 64(R10), Z8, Z9, Z10, Z11)
	VNNI_TOKEN((R10)(R9*1), 64(R10)(R9*1), Z12, Z13, Z14, Z15)
	ADDQ $32, SI
	ADDQ $32, R11
	ADDQ $128, R12
	ADDQ $128, R10
	DECQ DX
	JNZ  v44_block

	MOVQ DI, R8
	VNNI_REDUCE4(Z0, Z1, Z2, Z3, Y0, Y1, Y2, Y3, X0, X1, (R8))
	ADDQ AX, R8
	VNNI_REDUCE4(Z4, Z5, Z6, Z7, Y4, Y5, Y6, Y7, X4, X5, (R8))
	ADDQ AX, R8
	VNNI_REDUCE4(Z8, Z9, Z10, Z11, Y8, Y9, Y10, Y11, X8, X9, (R8))
	ADDQ AX, R8
	VNNI_REDUCE4(Z12, Z13, Z14, Z15, Y12, Y13, Y14, Y15, X12, X13, (R8))
	ADDQ $16, DI
	LEAQ (R13)(BX*4), R13
	DECQ CX
	JNZ  v44_quad

v44_ret:
	VZEROUPPER
	RET
