//go:build !noasm

#include "textflag.h"
#include "neon_arm64.h"

// Quantised lm_head rows times int8 activations (see blockq_generic.go),
// arm64 NEON, with and without the dot-product extension: Q6_K × Q8_K and,
// at the end of the file, Q8_0 × Q8.
//
// Per 128-weight half of a super-block the 6-bit codes are rebuilt 16 at a
// time from ql (low nibbles, or high nibbles for quarters 2 and 3) and two
// bits of qh moved to bits 4-5, and 32 is subtracted, so each byte holds
// q-32 in [-32, 31]. Each 16 codes are one scale group: their dot product
// with the activations goes to its own int32 vector (V8+g), pairwise adds
// fold the eight groups into [G0..G3] and [G4..G7], and those are
// multiplied by the sign-extended scales into the block's int32 sum V18.
// Bounds: |G| ≤ 16·32·127, times a scale ≤ 128, times 16 groups < 2³¹.
// Without SDOT, a product is at most 32·127, so two summed in an int16
// lane (SMULL, SMLAL2) cannot wrap before SADDLP widens them.
//
// The block's float epilogue is the generic one, operation for operation:
// s = float32(d·D[b]), acc += float32(s·float32(sum)), in block order.
//
// Registers: V0-V3 ql, V4-V5 qh, V6 codes, V7 qh bits, V8-V15 groups,
// V16-V17 activations, V18 block sum, V19 int16 products, V24-V28
// reductions and scales, V29 = 32, V30 = 0x30, V31 = 0x0f.

// Codes q-32 of quarters 0 and 1 (low nibbles) into V6; qh bits shifted
// left by sh.
#define Q6_LO(ql, qh, sh) \
	VAND  V31.B16, ql, V6.B16;     \
	VSHL  sh, qh, V7.B16;          \
	VAND  V30.B16, V7.B16, V7.B16; \
	VORR  V7.B16, V6.B16, V6.B16;  \
	VSUB  V29.B16, V6.B16, V6.B16

// Quarter 2: high nibbles, qh bits 4-5 in place.
#define Q6_HI(ql, qh) \
	VUSHR $4, ql, V6.B16;          \
	VAND  V30.B16, qh, V7.B16;     \
	VORR  V7.B16, V6.B16, V6.B16;  \
	VSUB  V29.B16, V6.B16, V6.B16

// Quarter 3: high nibbles, qh bits 6-7 moved to 4-5.
#define Q6_HI2(ql, qh) \
	VUSHR $4, ql, V6.B16;          \
	VUSHR $2, qh, V7.B16;          \
	VAND  V30.B16, V7.B16, V7.B16; \
	VORR  V7.B16, V6.B16, V6.B16;  \
	VSUB  V29.B16, V6.B16, V6.B16

// Group dot products of the codes in V6 with activations x into int32
// vector g: SDOT into a cleared vector, or SMULL/SMLAL2 and SADDLP.
#define GDOT_SDOT(g, gv, x) \
	VEOR gv, gv, gv; \
	SDOT(g, 6, x)

#define GDOT_NODOT(g, gv, x) \
	SMULL(19, 6, x);  \
	SMLAL2(19, 6, x); \
	SADDLP_S_H(g, 19)

// The eight group-dot vectors of a half, V8-V15, added pairwise into one
// vector of four sums for V8-V11 (a) and one for V12-V15 (b); V24 and V25
// are scratch.
#define Q6_SUMS(a, b)     \
	ADDP_S(24, 8, 9);   \
	ADDP_S(25, 10, 11); \
	ADDP_S(a, 24, 25);  \
	ADDP_S(24, 12, 13); \
	ADDP_S(25, 14, 15); \
	ADDP_S(b, 24, 25)

// A half's eight scales at sco(R1), widened to int32: the first four in
// V24, the rest in V25.
#define Q6_SCALES(sco)      \
	FMOVD sco(R1), F28; \
	SXTL_H_B(28, 28);   \
	SXTL_S_H(24, 28);   \
	SXTL2_S_H(25, 28)

// One half: ql at qlo(R1), qh at qho(R1), scales at sco(R1), activations
// at R6 (advanced by 128); MULOP is MUL_S for the first half, which
// starts the block sum V18, and MLA_S for the second.
#define Q6_HALF(GDOT, qlo, qho, sco, MULOP) \
	ADD    $qlo, R1, R9;                                 \
	VLD1   (R9), [V0.B16, V1.B16, V2.B16, V3.B16];       \
	ADD    $qho, R1, R9;                                 \
	VLD1   (R9), [V4.B16, V5.B16];                       \
	VLD1.P 32(R6), [V16.B16, V17.B16];                   \
	Q6_LO(V0.B16, V4.B16, $4);                           \
	GDOT(8, V8.B16, 16);                                 \
	Q6_LO(V1.B16, V5.B16, $4);                           \
	GDOT(9, V9.B16, 17);                                 \
	VLD1.P 32(R6), [V16.B16, V17.B16];                   \
	Q6_LO(V2.B16, V4.B16, $2);                           \
	GDOT(10, V10.B16, 16);                               \
	Q6_LO(V3.B16, V5.B16, $2);                           \
	GDOT(11, V11.B16, 17);                               \
	VLD1.P 32(R6), [V16.B16, V17.B16];                   \
	Q6_HI(V0.B16, V4.B16);                               \
	GDOT(12, V12.B16, 16);                               \
	Q6_HI(V1.B16, V5.B16);                               \
	GDOT(13, V13.B16, 17);                               \
	VLD1.P 32(R6), [V16.B16, V17.B16];                   \
	Q6_HI2(V2.B16, V4.B16);                              \
	GDOT(14, V14.B16, 16);                               \
	Q6_HI2(V3.B16, V5.B16);                              \
	GDOT(15, V15.B16, 17);                               \
	Q6_SUMS(26, 27);                                     \
	Q6_SCALES(sco);                                      \
	MULOP(18, 26, 24);                                   \
	MLA_S(18, 27, 25)

// Arguments into R0-R5 and the constants. The kernels subtract 32 from
// the codes instead of using the activation sums, so bsums is not read.
#define Q6_PROLOGUE \
	MOVD  dst+0(FP), R0;  \
	MOVD  data+8(FP), R1; \
	MOVD  rows+16(FP), R2; \
	MOVD  xq+24(FP), R3;  \
	MOVD  xd+32(FP), R4;  \
	MOVD  nb+48(FP), R5;  \
	VMOVI $32, V29.B16;   \
	VMOVI $0x30, V30.B16; \
	VMOVI $15, V31.B16

// A row's pointers and its float sum F20.
#define Q6_ROW_START \
	MOVD R3, R6; \
	MOVD R4, R7; \
	MOVD R5, R8; \
	VEOR V20.B16, V20.B16, V20.B16

// A block's int32 sum, the four lanes of v, as float32 in f (r scratch).
#define Q6_ISUM(v, r, f)     \
	VADDV   v.S4, v;     \
	VMOV    v.S[0], r;   \
	SCVTFWS r, f

// The block's scale d, from float16 into F1.
#define Q6_D \
	MOVHU 208(R1), R10; \
	VMOV  R10, V1.H[0]; \
	FCVTL_S(1, 1)

// acc += (d·xd)·f, the generic operations in the generic order, with xd
// at xda and t scratch.
#define Q6_ACC(xda, t, f, acc) \
	FMOVS xda, t;        \
	FMULS t, F1, t;      \
	FMULS f, t, t;       \
	FADDS t, acc, acc

// The generic float epilogue of one block (sum in V18), then the next
// block's pointers.
#define Q6_BLOCK_END \
	Q6_ISUM(V18, R10, F3);      \
	Q6_D;                       \
	Q6_ACC((R7), F2, F3, F20);  \
	ADD     $210, R1;           \
	ADD     $4, R7

// The whole kernel for one way of forming the group dot products. Labels
// are local to each TEXT, so both kernels can expand it.
#define Q6_GEMV(GDOT) \
	Q6_PROLOGUE;                         \
	CBZ   R2, done;                      \
	CBZ   R5, done;                      \
row:                                     \
	Q6_ROW_START;                        \
block:                                   \
	Q6_HALF(GDOT, 0, 128, 192, MUL_S);   \
	Q6_HALF(GDOT, 64, 160, 200, MLA_S);  \
	Q6_BLOCK_END;                        \
	SUBS  $1, R8, R8;                    \
	BNE   block;                         \
	FMOVS F20, (R0);                     \
	ADD   $4, R0;                        \
	SUBS  $1, R2, R2;                    \
	BNE   row;                           \
done:                                    \
	RET

// Q8_0 × Q8. Per 32-weight block: the codes in V0-V1, the activations in
// V2-V3, int32 lane l of V4 (V5) the products of codes 4l..4l+3 (16+4l..):
// SDOT into cleared vectors, or SMULL/SMULL2 (one product per int16 lane,
// at most 128·128), SADDLP into pairs and ADDP into fours. Then the
// generic float operations: lanes to float, times s = float32(d·D), added
// to accumulator b%2 (V20-V21, V22-V23); at the end of a row, their sum
// reduced as ((v0+v1)+(v2+v3)) + ((v4+v5)+(v6+v7)).
#define Q8_INT_SDOT \
	VEOR V4.B16, V4.B16, V4.B16; \
	VEOR V5.B16, V5.B16, V5.B16; \
	SDOT(4, 0, 2);               \
	SDOT(5, 1, 3)

#define Q8_INT_NODOT \
	SMULL(6, 0, 2);   \
	SMULL2(7, 0, 2);  \
	SADDLP_S_H(6, 6); \
	SADDLP_S_H(7, 7); \
	ADDP_S(4, 6, 7);  \
	SMULL(6, 1, 3);   \
	SMULL2(7, 1, 3);  \
	SADDLP_S_H(6, 6); \
	SADDLP_S_H(7, 7); \
	ADDP_S(5, 6, 7)

// One block at R1 (activations at R6, scale at R7, both advanced) into
// accumulators a0, a1.
#define Q8_BLOCK(INT, a0, a1) \
	ADD    $2, R1, R9;               \
	VLD1   (R9), [V0.B16, V1.B16];   \
	VLD1.P 32(R6), [V2.B16, V3.B16]; \
	INT;                             \
	SCVTF_S(4, 4);                   \
	SCVTF_S(5, 5);                   \
	MOVHU  (R1), R10;                \
	VMOV   R10, V16.H[0];            \
	FCVTL_S(16, 16);                 \
	FMOVS  (R7), F17;                \
	FMULS  F17, F16, F16;            \
	VDUP   V16.S[0], V16.S4;         \
	FMUL_S(4, 4, 16);                \
	FMUL_S(5, 5, 16);                \
	FADD_S(a0, a0, 4);               \
	FADD_S(a1, a1, 5);               \
	ADD    $34, R1;                  \
	ADD    $4, R7

#define Q8_GEMV(INT) \
	MOVD dst+0(FP), R0;                 \
	MOVD data+8(FP), R1;                \
	MOVD rows+24(FP), R2;               \
	MOVD xq+32(FP), R3;                 \
	MOVD xd+40(FP), R4;                 \
	MOVD nb+48(FP), R5;                 \
	CBZ  R2, done;                      \
row:                                    \
	MOVD R3, R6;                        \
	MOVD R4, R7;                        \
	MOVD R5, R8;                        \
	VEOR V20.B16, V20.B16, V20.B16;     \
	VEOR V21.B16, V21.B16, V21.B16;     \
	VEOR V22.B16, V22.B16, V22.B16;     \
	VEOR V23.B16, V23.B16, V23.B16;     \
pair:                                   \
	CMP  $2, R8;                        \
	BLT  single;                        \
	Q8_BLOCK(INT, 20, 21);              \
	Q8_BLOCK(INT, 22, 23);              \
	SUB  $2, R8;                        \
	B    pair;                          \
single:                                 \
	CBZ  R8, reduce;                    \
	Q8_BLOCK(INT, 20, 21);              \
reduce:                                 \
	FADD_S(20, 20, 22);                 \
	FADD_S(21, 21, 23);                 \
	FADDP_S(24, 20, 21);                \
	FADDP_S(24, 24, 24);                \
	FADDP_SCALAR(24, 24);               \
	FMOVS F24, (R0);                    \
	ADD   $4, R0;                       \
	SUBS  $1, R2, R2;                   \
	BNE   row;                          \
done:                                   \
	RET

// Q6_HALF for two activation vectors, at R6 (V16-V17) and R13 (V24-V25):
// each 16 codes in V6 go to both. The four groups of each quarter pair
// are folded into [G0..G3] (V26 and V23) before the next pair reuses
// V8-V15 (vector 0 in V8-V11, vector 1 in V12-V15), and the next pair's
// into V8 and V12; vector 1's block sum is V22. The integer sums are
// exact, so folding in another order changes nothing.
#define Q6X2_QUARTERS(GDOT, CODES_A, CODES_B, qa, qb) \
	VLD1.P 32(R6), [V16.B16, V17.B16];  \
	VLD1.P 32(R13), [V24.B16, V25.B16]; \
	CODES_A(V0.B16, V4.B16, qa);        \
	GDOT(8, V8.B16, 16);                \
	GDOT(12, V12.B16, 24);              \
	CODES_A(V1.B16, V5.B16, qa);        \
	GDOT(9, V9.B16, 17);                \
	GDOT(13, V13.B16, 25);              \
	VLD1.P 32(R6), [V16.B16, V17.B16];  \
	VLD1.P 32(R13), [V24.B16, V25.B16]; \
	CODES_B(V2.B16, V4.B16, qb);        \
	GDOT(10, V10.B16, 16);              \
	GDOT(14, V14.B16, 24);              \
	CODES_B(V3.B16, V5.B16, qb);        \
	GDOT(11, V11.B16, 17);              \
	GDOT(15, V15.B16, 25)

// Q6_HI and Q6_HI2 with the shift argument of Q6_LO, unused.
#define Q6_HI_(ql, qh, sh) Q6_HI(ql, qh)
#define Q6_HI2_(ql, qh, sh) Q6_HI2(ql, qh)

#define Q6X2_HALF(GDOT, qlo, qho, sco, MULOP) \
	ADD    $qlo, R1, R9;                                 \
	VLD1   (R9), [V0.B16, V1.B16, V2.B16, V3.B16];       \
	ADD    $qho, R1, R9;                                 \
	VLD1   (R9), [V4.B16, V5.B16];                       \
	Q6X2_QUARTERS(GDOT, Q6_LO, Q6_LO, $4, $2);           \
	Q6_SUMS(26, 23);                                     \
	Q6X2_QUARTERS(GDOT, Q6_HI_, Q6_HI2_, $0, $0);        \
	Q6_SUMS(8, 12);                                      \
	Q6_SCALES(sco);                                      \
	MULOP(18, 26, 24);                                   \
	MLA_S(18, 8, 25);                                    \
	MULOP(22, 23, 24);                                   \
	MLA_S(22, 12, 25)

// Q6_BLOCK_END for both vectors: float sums F20 (xd at R7) and F21 (xd at
// R12), each with the generic operations in the generic order.
#define Q6X2_BLOCK_END \
	Q6_ISUM(V18, R10, F3);      \
	Q6_ISUM(V22, R11, F7);      \
	Q6_D;                       \
	Q6_ACC((R7), F2, F3, F20);  \
	Q6_ACC((R12), F4, F7, F21); \
	ADD     $210, R1;           \
	ADD     $4, R7;             \
	ADD     $4, R12

// gemvQ6KQ8KSDOT/NoDot for two activation vectors (xq0, xd0 into d0 and
// xq1, xd1 into d1), decoding each row's codes once for both; the results
// are the one-vector kernel's bit for bit.
#define Q6X2_GEMV(GDOT) \
	MOVD  d0+0(FP), R0;                  \
	MOVD  d1+8(FP), R19;                 \
	MOVD  data+16(FP), R1;               \
	MOVD  rows+24(FP), R2;               \
	MOVD  xq0+32(FP), R3;                \
	MOVD  xq1+40(FP), R20;               \
	MOVD  xd0+48(FP), R4;                \
	MOVD  xd1+56(FP), R21;               \
	MOVD  nb+80(FP), R5;                 \
	VMOVI $32, V29.B16;                  \
	VMOVI $0x30, V30.B16;                \
	VMOVI $15, V31.B16;                  \
	CBZ   R2, done;                      \
	CBZ   R5, done;                      \
row:                                     \
	MOVD  R3, R6;                        \
	MOVD  R20, R13;                      \
	MOVD  R4, R7;                        \
	MOVD  R21, R12;                      \
	MOVD  R5, R8;                        \
	VEOR  V20.B16, V20.B16, V20.B16;     \
	VEOR  V21.B16, V21.B16, V21.B16;     \
block:                                   \
	Q6X2_HALF(GDOT, 0, 128, 192, MUL_S);  \
	Q6X2_HALF(GDOT, 64, 160, 200, MLA_S); \
	Q6X2_BLOCK_END;                      \
	SUBS  $1, R8, R8;                    \
	BNE   block;                         \
	FMOVS F20, (R0);                     \
	FMOVS F21, (R19);                    \
	ADD   $4, R0;                        \
	ADD   $4, R19;                       \
	SUBS  $1, R2, R2;                    \
	BNE   row;                           \
done:                                    \
	RET

// func gemvQ6KQ8Kx2SDOT(d0, d1 *float32, data *byte, rows int, xq0, xq1 *int8, xd0, xd1 *float32, bs0, bs1 *int16, nb int)
TEXT ·gemvQ6KQ8Kx2SDOT(SB), NOSPLIT, $0-88
	Q6X2_GEMV(GDOT_SDOT)

// func gemvQ6KQ8Kx2NoDot(d0, d1 *float32, data *byte, rows int, xq0, xq1 *int8, xd0, xd1 *float32, bs0, bs1 *int16, nb int)
TEXT ·gemvQ6KQ8Kx2NoDot(SB), NOSPLIT, $0-88
	Q6X2_GEMV(GDOT_NODOT)

// func gemvQ6KQ8KSDOT(dst *float32, data *byte, rows int, xq *int8, xd *float32, bsums *int16, nb int)
TEXT ·gemvQ6KQ8KSDOT(SB), NOSPLIT, $0-56
	Q6_GEMV(GDOT_SDOT)

// func gemvQ6KQ8KNoDot(dst *float32, data *byte, rows int, xq *int8, xd *float32, bsums *int16, nb int)
TEXT ·gemvQ6KQ8KNoDot(SB), NOSPLIT, $0-56
	Q6_GEMV(GDOT_NODOT)

// func gemvQ8_0Q8SDOT(dst *float32, data *byte, rowBytes, rows int, xq *int8, xd *float32, nb int)
TEXT ·gemvQ8_0Q8SDOT(SB), NOSPLIT, $0-56
	Q8_GEMV(Q8_INT_SDOT)

// func gemvQ8_0Q8NoDot(dst *float32, data *byte, rowBytes, rows int, xq *int8, xd *float32, nb int)
TEXT ·gemvQ8_0Q8NoDot(SB), NOSPLIT, $0-56
	Q8_GEMV(Q8_INT_NODOT)
