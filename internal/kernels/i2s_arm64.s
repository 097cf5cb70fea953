//go:build !noasm

#include "textflag.h"
#include "neon_arm64.h"

// Ternary × int8 kernels on the I2_S layout (see doc.go), arm64 NEON.
//
// A 32-byte block is loaded as two 16-byte halves: the low half (bytes
// 0..15) pairs with x[32g..32g+15] and the high half with x[32g+16..32g+31]
// for group g. NEON shifts bytes individually, so group g is just
// (raw >> (6-2g)) & 3, and group 0 needs no mask.

// Group of one block's two 16-byte halves (V0, V1) at shift sh, masked
// with V31 = 3, into V2, V3.
#define DECODE2(sh) \
	VUSHR sh, V0.B16, V2.B16;      \
	VUSHR sh, V1.B16, V3.B16;      \
	VAND  V31.B16, V2.B16, V2.B16; \
	VAND  V31.B16, V3.B16, V3.B16

// func dotI2SSDOT(w *byte, x *int8, nb int) int32
// SDOT multiplies signed bytes; codes 0..3 are non-negative either way, so
// Σ code·x is formed directly in int32 lanes and cannot overflow.
TEXT ·dotI2SSDOT(SB), NOSPLIT, $0-28
	MOVD  w+0(FP), R0
	MOVD  x+8(FP), R1
	MOVD  nb+16(FP), R2
	VMOVI $3, V31.B16
	VEOR  V16.B16, V16.B16, V16.B16
	VEOR  V17.B16, V17.B16, V17.B16
	CBZ   R2, sdot_done

sdot_loop:
	VLD1.P 32(R0), [V0.B16, V1.B16]
	VLD1.P 64(R1), [V4.B16, V5.B16, V6.B16, V7.B16]
	VLD1.P 64(R1), [V8.B16, V9.B16, V10.B16, V11.B16]
	VUSHR  $6, V0.B16, V2.B16
	VUSHR  $6, V1.B16, V3.B16
	SDOT(16, 2, 4)
	SDOT(17, 3, 5)
	DECODE2($4)
	SDOT(16, 2, 6)
	SDOT(17, 3, 7)
	DECODE2($2)
	SDOT(16, 2, 8)
	SDOT(17, 3, 9)
	VAND   V31.B16, V0.B16, V2.B16
	VAND   V31.B16, V1.B16, V3.B16
	SDOT(16, 2, 10)
	SDOT(17, 3, 11)
	SUBS   $1, R2, R2
	BNE    sdot_loop

sdot_done:
	VADD  V17.S4, V16.S4, V16.S4
	VADDV V16.S4, V16
	VMOV  V16.S[0], R3
	MOVW  R3, ret+24(FP)
	RET

// func dotI2SNEON(w *byte, x *int8, nb int) int32
// Without SDOT: widening multiplies into int16 lanes (SMULL/SMLAL), then
// SADALP folds them into int32 once per block. One int16 lane collects 8
// products of at most 3·128 in magnitude per block, so it never wraps.
TEXT ·dotI2SNEON(SB), NOSPLIT, $0-28
	MOVD  w+0(FP), R0
	MOVD  x+8(FP), R1
	MOVD  nb+16(FP), R2
	VMOVI $3, V31.B16
	VEOR  V16.B16, V16.B16, V16.B16
	VEOR  V17.B16, V17.B16, V17.B16
	CBZ   R2, nd_done

nd_loop:
	VLD1.P 32(R0), [V0.B16, V1.B16]
	VLD1.P 64(R1), [V4.B16, V5.B16, V6.B16, V7.B16]
	VLD1.P 64(R1), [V8.B16, V9.B16, V10.B16, V11.B16]
	VUSHR  $6, V0.B16, V2.B16
	VUSHR  $6, V1.B16, V3.B16
	SMULL(12, 2, 4)
	SMULL2(13, 2, 4)
	SMLAL(12, 3, 5)
	SMLAL2(13, 3, 5)
	DECODE2($4)
	SMLAL(12, 2, 6)
	SMLAL2(13, 2, 6)
	SMLAL(12, 3, 7)
	SMLAL2(13, 3, 7)
	DECODE2($2)
	SMLAL(12, 2, 8)
	SMLAL2(13, 2, 8)
	SMLAL(12, 3, 9)
	SMLAL2(13, 3, 9)
	VAND   V31.B16, V0.B16, V2.B16
	VAND   V31.B16, V1.B16, V3.B16
	SMLAL(12, 2, 10)
	SMLAL2(13, 2, 10)
	SMLAL(12, 3, 11)
	SMLAL2(13, 3, 11)
	SADALP_S_H(16, 12)
	SADALP_S_H(17, 13)
	SUBS   $1, R2, R2
	BNE    nd_loop

nd_done:
	VADD  V17.S4, V16.S4, V16.S4
	VADDV V16.S4, V16
	VMOV  V16.S[0], R3
	MOVW  R3, ret+24(FP)
	RET

// One (group, half) step of the 4×4 tile for weight row raw: decode into
// V13 (shift sh, then the mask unless sh is 6) and multiply with the four
// activation vectors V9..V12 into accumulators a..a+3.
#define TILE_ROW(sh, raw, a) \
	VUSHR $sh, raw.B16, V13.B16; \
	VAND  V0.B16, V13.B16, V13.B16; \
	SDOT((a), 13, 9); \
	SDOT((a)+1, 13, 10); \
	SDOT((a)+2, 13, 11); \
	SDOT((a)+3, 13, 12)

#define TILE_ROW0(raw, a) \
	VUSHR $6, raw.B16, V13.B16; \
	SDOT((a), 13, 9); \
	SDOT((a)+1, 13, 10); \
	SDOT((a)+2, 13, 11); \
	SDOT((a)+3, 13, 12)

#define TILE_ROW3(raw, a) \
	VAND V0.B16, raw.B16, V13.B16; \
	SDOT((a), 13, 9); \
	SDOT((a)+1, 13, 10); \
	SDOT((a)+2, 13, 11); \
	SDOT((a)+3, 13, 12)

// Next 16 activation bytes of each of the four rows.
#define TILE_X \
	VLD1.P 16(R4), [V9.B16]; \
	VLD1.P 16(R5), [V10.B16]; \
	VLD1.P 16(R6), [V11.B16]; \
	VLD1.P 16(R7), [V12.B16]

// func i2sTile4x4SDOT(w *byte, stride int, x *int8, ldx, nb int, out *[16]int32)
// Four weight rows × four activation rows: each decoded code vector feeds
// four SDOTs. Accumulator of row r, activation i is V(16+4r+i); raw halves
// of row r are V(1+2r) (low) and V(2+2r) (high). The groups are visited in
// activation order (g, then half) so that each activation row is read
// sequentially. out[4i+r] receives Σ code·x of row r, activation i.
TEXT ·i2sTile4x4SDOT(SB), NOSPLIT, $0-48
	MOVD  w+0(FP), R0
	MOVD  stride+8(FP), R10
	ADD   R10, R0, R1
	ADD   R10, R1, R2
	ADD   R10, R2, R3
	MOVD  x+16(FP), R4
	MOVD  ldx+24(FP), R11
	ADD   R11, R4, R5
	ADD   R11, R5, R6
	ADD   R11, R6, R7
	MOVD  nb+32(FP), R8
	MOVD  out+40(FP), R9
	VMOVI $3, V0.B16
	VEOR  V16.B16, V16.B16, V16.B16
	VEOR  V17.B16, V17.B16, V17.B16
	VEOR  V18.B16, V18.B16, V18.B16
	VEOR  V19.B16, V19.B16, V19.B16
	VEOR  V20.B16, V20.B16, V20.B16
	VEOR  V21.B16, V21.B16, V21.B16
	VEOR  V22.B16, V22.B16, V22.B16
	VEOR  V23.B16, V23.B16, V23.B16
	VEOR  V24.B16, V24.B16, V24.B16
	VEOR  V25.B16, V25.B16, V25.B16
	VEOR  V26.B16, V26.B16, V26.B16
	VEOR  V27.B16, V27.B16, V27.B16
	VEOR  V28.B16, V28.B16, V28.B16
	VEOR  V29.B16, V29.B16, V29.B16
	VEOR  V30.B16, V30.B16, V30.B16
	VEOR  V31.B16, V31.B16, V31.B16
	CBZ   R8, tile_store

tile_loop:
	VLD1.P 32(R0), [V1.B16, V2.B16]
	VLD1.P 32(R1), [V3.B16, V4.B16]
	VLD1.P 32(R2), [V5.B16, V6.B16]
	VLD1.P 32(R3), [V7.B16, V8.B16]

	TILE_X
	TILE_ROW0(V1, 16)
	TILE_ROW0(V3, 20)
	TILE_ROW0(V5, 24)
	TILE_ROW0(V7, 28)
	TILE_X
	TILE_ROW0(V2, 16)
	TILE_ROW0(V4, 20)
	TILE_ROW0(V6, 24)
	TILE_ROW0(V8, 28)

	TILE_X
	TILE_ROW(4, V1, 16)
	TILE_ROW(4, V3, 20)
	TILE_ROW(4, V5, 24)
	TILE_ROW(4, V7, 28)
	TILE_X
	TILE_ROW(4, V2, 16)
	TILE_ROW(4, V4, 20)
	TILE_ROW(4, V6, 24)
	TILE_ROW(4, V8, 28)

	TILE_X
	TILE_ROW(2, V1, 16)
	TILE_ROW(2, V3, 20)
	TILE_ROW(2, V5, 24)
	TILE_ROW(2, V7, 28)
	TILE_X
	TILE_ROW(2, V2, 16)
	TILE_ROW(2, V4, 20)
	TILE_ROW(2, V6, 24)
	TILE_ROW(2, V8, 28)

	TILE_X
	TILE_ROW3(V1, 16)
	TILE_ROW3(V3, 20)
	TILE_ROW3(V5, 24)
	TILE_ROW3(V7, 28)
	TILE_X
	TILE_ROW3(V2, 16)
	TILE_ROW3(V4, 20)
	TILE_ROW3(V6, 24)
	TILE_ROW3(V8, 28)

	SUBS $1, R8, R8
	BNE  tile_loop

tile_store:
	// For activation i: ADDP(ADDP(row0,row1), ADDP(row2,row3)) gives
	// [Σrow0, Σrow1, Σrow2, Σrow3].
	ADDP_S(1, 16, 20)
	ADDP_S(5, 24, 28)
	ADDP_S(1, 1, 5)
	ADDP_S(2, 17, 21)
	ADDP_S(5, 25, 29)
	ADDP_S(2, 2, 5)
	ADDP_S(3, 18, 22)
	ADDP_S(5, 26, 30)
	ADDP_S(3, 3, 5)
	ADDP_S(4, 19, 23)
	ADDP_S(5, 27, 31)
	ADDP_S(4, 4, 5)
	VST1   [V1.S4, V2.S4, V3.S4, V4.S4], (R9)
	RET
