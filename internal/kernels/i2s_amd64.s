//go:build !noasm

#include "textflag.h"

// Ternary × int8 kernels on the I2_S layout (see doc.go), AVX2.
//
// Hand-written rather than avo-generated: there are three kernels, each
// needs a specific register plan (accumulator tiles that fill the 16 YMM
// registers), and the arm64 half has to be written by hand anyway, so a
// generator would add a module and an up-to-date check for little gain.
//
// Decoding: a block is 32 bytes; group g (weights 32g..32g+31) is
// (byte >> (6-2g)) & 3. VPSRLW shifts 16-bit lanes, which drags bits of the
// neighbouring byte in, but the mask removes them.
//
// Products: VPMADDUBSW(code u8, x s8) gives int16 pair sums. These are
// summed in int16 lanes for at most 8 blocks, then widened with
// VPMADDWD(·, 1) into int32. Bound: one lane gets 8 products per block, each
// in [-3·128, 3·127] even for the unused code 3, so 8 blocks stay within
// [-24576, 24384] and nothing wraps or saturates: results equal the generic
// int32 loop for every input.

DATA i2sMask<>+0(SB)/8, $0x0303030303030303
DATA i2sMask<>+8(SB)/8, $0x0303030303030303
DATA i2sMask<>+16(SB)/8, $0x0303030303030303
DATA i2sMask<>+24(SB)/8, $0x0303030303030303
GLOBL i2sMask<>(SB), RODATA|NOPTR, $32

DATA i2sOnes16<>+0(SB)/8, $0x0001000100010001
DATA i2sOnes16<>+8(SB)/8, $0x0001000100010001
DATA i2sOnes16<>+16(SB)/8, $0x0001000100010001
DATA i2sOnes16<>+24(SB)/8, $0x0001000100010001
GLOBL i2sOnes16<>(SB), RODATA|NOPTR, $32

// Blocks summed in int16 before widening; see the bound above.
#define I2S_CHUNK $8

// func dotI2SAVX2(w *byte, x *int8, nb int) int32
TEXT ·dotI2SAVX2(SB), NOSPLIT, $0-28
	MOVQ w+0(FP), SI
	MOVQ x+8(FP), DI
	MOVQ nb+16(FP), CX
	VMOVDQU i2sMask<>(SB), Y15
	VPXOR   Y0, Y0, Y0
	VPXOR   Y1, Y1, Y1

dot_chunk:
	TESTQ   CX, CX
	JZ      dot_done
	MOVQ    I2S_CHUNK, DX
	CMPQ    CX, DX
	CMOVQLT CX, DX
	SUBQ    DX, CX

	// Two int16 accumulators so consecutive VPADDWs do not wait on each other.
	VPXOR Y2, Y2, Y2
	VPXOR Y3, Y3, Y3

dot_block:
	VMOVDQU    (SI), Y4
	VPSRLW     $6, Y4, Y5
	VPAND      Y15, Y5, Y5
	VPMADDUBSW (DI), Y5, Y5
	VPSRLW     $4, Y4, Y6
	VPAND      Y15, Y6, Y6
	VPMADDUBSW 32(DI), Y6, Y6
	VPSRLW     $2, Y4, Y7
	VPAND      Y15, Y7, Y7
	VPMADDUBSW 64(DI), Y7, Y7
	VPAND      Y15, Y4, Y4
	VPMADDUBSW 96(DI), Y4, Y4
	VPADDW     Y5, Y2, Y2
	VPADDW     Y6, Y3, Y3
	VPADDW     Y7, Y2, Y2
	VPADDW     Y4, Y3, Y3
	ADDQ       $32, SI
	ADDQ       $128, DI
	DECQ       DX
	JNZ        dot_block

	VPMADDWD i2sOnes16<>(SB), Y2, Y2
	VPMADDWD i2sOnes16<>(SB), Y3, Y3
	VPADDD   Y2, Y0, Y0
	VPADDD   Y3, Y1, Y1
	JMP      dot_chunk

dot_done:
	VPADDD       Y1, Y0, Y0
	VEXTRACTI128 $1, Y0, X1
	VPADDD       X1, X0, X0
	VPSHUFD      $0x4e, X0, X1
	VPADDD       X1, X0, X0
	VPSHUFD      $0xb1, X0, X1
	VPADDD       X1, X0, X0
	VMOVD        X0, AX
	MOVL         AX, ret+24(FP)
	VZEROUPPER
	RET

// One group of one weight row against the single activation row of
// gemvI2S4AVX2: codes from raw, times x group xg, into acc16.
#define GEMV_GRP(shift, raw, xg, acc16, tmp) \
	VPSRLW     $shift, raw, tmp; \
	VPAND      Y15, tmp, tmp;    \
	VPMADDUBSW xg, tmp, tmp;     \
	VPADDW     tmp, acc16, acc16

// func gemvI2S4AVX2(dst *float32, w *byte, stride, quads int, x *int8, nb int, sum, scale, wscale float32)
//
// Decode path (one activation row): four weight rows per pass share each
// activation load and give four independent dependency chains; the four
// results leave as one 16-byte store after the exact float epilogue
// (acc-sum)/scale*wscale.
TEXT ·gemvI2S4AVX2(SB), NOSPLIT, $0-60
	MOVQ    dst+0(FP), DI
	MOVQ    w+8(FP), R13
	MOVQ    stride+16(FP), BX
	MOVQ    quads+24(FP), CX
	MOVQ    x+32(FP), R8
	VMOVDQU i2sMask<>(SB), Y15
	TESTQ   CX, CX
	JZ      gemv_ret

gemv_quad:
	MOVQ  R13, SI
	LEAQ  (SI)(BX*2), R10
	LEAQ  (SI)(BX*4), R14
	LEAQ  (R10)(BX*4), R9
	MOVQ  R8, R12
	MOVQ  nb+40(FP), R11
	VPXOR Y8, Y8, Y8
	VPXOR Y9, Y9, Y9
	VPXOR Y10, Y10, Y10
	VPXOR Y11, Y11, Y11

gemv_chunk:
	MOVQ    I2S_CHUNK, DX
	CMPQ    R11, DX
	CMOVQLT R11, DX
	SUBQ    DX, R11
	VPXOR   Y4, Y4, Y4
	VPXOR   Y5, Y5, Y5
	VPXOR   Y6, Y6, Y6
	VPXOR   Y7, Y7, Y7

gemv_block:
	// The weights are streamed once from memory: ask for the lines a few
	// blocks ahead on all four rows, which the hardware prefetcher would
	// otherwise discover one stream at a time.
	PREFETCHT0 (R14)
	PREFETCHT0 (R14)(BX*1)
	PREFETCHT0 (R9)
	PREFETCHT0 (R9)(BX*1)
	VMOVDQU    (SI), Y0
	VMOVDQU    (SI)(BX*1), Y1
	VMOVDQU    (R10), Y2
	VMOVDQU    (R10)(BX*1), Y3

	VMOVDQU (R12), Y12
	GEMV_GRP(6, Y0, Y12, Y4, Y13)
	GEMV_GRP(6, Y1, Y12, Y5, Y14)
	GEMV_GRP(6, Y2, Y12, Y6, Y13)
	GEMV_GRP(6, Y3, Y12, Y7, Y14)
	VMOVDQU 32(R12), Y12
	GEMV_GRP(4, Y0, Y12, Y4, Y13)
	GEMV_GRP(4, Y1, Y12, Y5, Y14)
	GEMV_GRP(4, Y2, Y12, Y6, Y13)
	GEMV_GRP(4, Y3, Y12, Y7, Y14)
	VMOVDQU 64(R12), Y12
	GEMV_GRP(2, Y0, Y12, Y4, Y13)
	GEMV_GRP(2, Y1, Y12, Y5, Y14)
	GEMV_GRP(2, Y2, Y12, Y6, Y13)
	GEMV_GRP(2, Y3, Y12, Y7, Y14)

	// Group 3 needs no shift; the raw registers are dead afterwards.
	VMOVDQU    96(R12), Y12
	VPAND      Y15, Y0, Y0
	VPMADDUBSW Y12, Y0, Y0
	VPADDW     Y0, Y4, Y4
	VPAND      Y15, Y1, Y1
	VPMADDUBSW Y12, Y1, Y1
	VPADDW     Y1, Y5, Y5
	VPAND      Y15, Y2, Y2
	VPMADDUBSW Y12, Y2, Y2
	VPADDW     Y2, Y6, Y6
	VPAND      Y15, Y3, Y3
	VPMADDUBSW Y12, Y3, Y3
	VPADDW     Y3, Y7, Y7

	ADDQ $32, SI
	ADDQ $32, R10
	ADDQ $32, R14
	ADDQ $32, R9
	ADDQ $128, R12
	DECQ DX
	JNZ  gemv_block

	VPMADDWD i2sOnes16<>(SB), Y4, Y4
	VPMADDWD i2sOnes16<>(SB), Y5, Y5
	VPMADDWD i2sOnes16<>(SB), Y6, Y6
	VPMADDWD i2sOnes16<>(SB), Y7, Y7
	VPADDD   Y4, Y8, Y8
	VPADDD   Y5, Y9, Y9
	VPADDD   Y6, Y10, Y10
	VPADDD   Y7, Y11, Y11
	TESTQ    R11, R11
	JNZ      gemv_chunk

	// [Σrow0, Σrow1, Σrow2, Σrow3] in X8.
	VPHADDD      Y9, Y8, Y8
	VPHADDD      Y11, Y10, Y10
	VPHADDD      Y10, Y8, Y8
	VEXTRACTI128 $1, Y8, X9
	VPADDD       X9, X8, X8

	// Same single-precision operations, in the same order, as the generic
	// (float32(acc) - sum) / scale * wscale, so the floats match exactly.
	VCVTDQ2PS    X8, X8
	VBROADCASTSS sum+48(FP), X9
	VSUBPS       X9, X8, X8
	VBROADCASTSS scale+52(FP), X9
	VDIVPS       X9, X8, X8
	VBROADCASTSS wscale+56(FP), X9
	VMULPS       X9, X8, X8
	VMOVUPS      X8, (DI)

	ADDQ $16, DI
	LEAQ (R13)(BX*4), R13
	DECQ CX
	JNZ  gemv_quad

gemv_ret:
	VZEROUPPER
	RET

// One group of one weight row against three activation rows (gemmI2S4x3AVX2):
// decode once, multiply three times. Activation rows are R12, R12+R9, R12+2·R9.
#define TILE_GRP(row, shift, xoff, a0, a1, a2) \
	VMOVDQU    row, Y12;               \
	VPSRLW     $shift, Y12, Y12;       \
	VPAND      Y15, Y12, Y12;          \
	VPMADDUBSW xoff(R12), Y12, Y13;    \
	VPADDW     Y13, a0, a0;            \
	VPMADDUBSW xoff(R12)(R9*1), Y12, Y14; \
	VPADDW     Y14, a1, a1;            \
	VPMADDUBSW xoff(R12)(R9*2), Y12, Y13; \
	VPADDW     Y13, a2, a2

#define TILE_GRP3(row, a0, a1, a2) \
	VMOVDQU    row, Y12;               \
	VPAND      Y15, Y12, Y12;          \
	VPMADDUBSW 96(R12), Y12, Y13;      \
	VPADDW     Y13, a0, a0;            \
	VPMADDUBSW 96(R12)(R9*1), Y12, Y14; \
	VPADDW     Y14, a1, a1;            \
	VPMADDUBSW 96(R12)(R9*2), Y12, Y13; \
	VPADDW     Y13, a2, a2

// Widen an int16 accumulator into the int32 one kept on the stack at off.
#define TILE_WIDEN(acc, off) \
	VPMADDWD i2sOnes16<>(SB), acc, acc; \
	VPADDD   off(SP), acc, acc;         \
	VMOVDQU  acc, off(SP)

// Epilogue for activation row i: reduce the four row accumulators at
// o0..o3, apply (acc - sums[i]) / scales[i] * wscale and store four floats
// at dst + i*ldd.
#define TILE_OUT(o0, o1, o2, o3, soff, coff, dsti) \
	VMOVDQU      o0(SP), Y0;        \
	VMOVDQU      o1(SP), Y1;        \
	VMOVDQU      o2(SP), Y2;        \
	VMOVDQU      o3(SP), Y3;        \
	VPHADDD      Y1, Y0, Y0;        \
	VPHADDD      Y3, Y2, Y2;        \
	VPHADDD      Y2, Y0, Y0;        \
	VEXTRACTI128 $1, Y0, X1;        \
	VPADDD       X1, X0, X0;        \
	VCVTDQ2PS    X0, X0;            \
	VBROADCASTSS soff(AX), X1;      \
	VSUBPS       X1, X0, X0;        \
	VBROADCASTSS coff(AX), X1;      \
	VDIVPS       X1, X0, X0;        \
	VMULPS       X4, X0, X0;        \
	VMOVUPS      X0, dsti

// func gemmI2S4x3AVX2(dst *float32, ldd int, w *byte, stride, quads int, x *int8, ldx, nb int, post *[6]float32, wscale float32)
//
// Prefill path: a 4-row × 3-activation tile. Each weight group is decoded
// once and used for three activation rows; the twelve int16 accumulators,
// the code register, two product temporaries and the mask fill all sixteen
// YMM registers, so the int32 sums live on the stack (row r, activation i
// at (4i+r)*32). post holds float32(sums[0..2]) then scales[0..2].
TEXT ·gemmI2S4x3AVX2(SB), 0, $384-76
	MOVQ    w+16(FP), R13
	MOVQ    stride+24(FP), BX
	MOVQ    x+40(FP), R8
	MOVQ    ldx+48(FP), R9
	MOVQ    dst+0(FP), DI
	VMOVDQU i2sMask<>(SB), Y15
	MOVQ    quads+32(FP), CX
	TESTQ   CX, CX
	JZ      tile_ret

tile_quad:
	MOVQ  R13, SI
	LEAQ  (SI)(BX*2), R10
	MOVQ  R8, R12
	MOVQ  nb+56(FP), R11
	VPXOR Y0, Y0, Y0
	VMOVDQU Y0, 0(SP)
	VMOVDQU Y0, 32(SP)
	VMOVDQU Y0, 64(SP)
	VMOVDQU Y0, 96(SP)
	VMOVDQU Y0, 128(SP)
	VMOVDQU Y0, 160(SP)
	VMOVDQU Y0, 192(SP)
	VMOVDQU Y0, 224(SP)
	VMOVDQU Y0, 256(SP)
	VMOVDQU Y0, 288(SP)
	VMOVDQU Y0, 320(SP)
	VMOVDQU Y0, 352(SP)

tile_chunk:
	MOVQ    I2S_CHUNK, DX
	CMPQ    R11, DX
	CMOVQLT R11, DX
	SUBQ    DX, R11
	// Y0..Y11: accumulator of row r, activation i is Y(3r+i).
	VPXOR Y0, Y0, Y0
	VPXOR Y1, Y1, Y1
	VPXOR Y2, Y2, Y2
	VPXOR Y3, Y3, Y3
	VPXOR Y4, Y4, Y4
	VPXOR Y5, Y5, Y5
	VPXOR Y6, Y6, Y6
	VPXOR Y7, Y7, Y7
	VPXOR Y8, Y8, Y8
	VPXOR Y9, Y9, Y9
	VPXOR Y10, Y10, Y10
	VPXOR Y11, Y11, Y11

tile_block:
	TILE_GRP((SI), 6, 0, Y0, Y1, Y2)
	TILE_GRP((SI)(BX*1), 6, 0, Y3, Y4, Y5)
	TILE_GRP((R10), 6, 0, Y6, Y7, Y8)
	TILE_GRP((R10)(BX*1), 6, 0, Y9, Y10, Y11)
	TILE_GRP((SI), 4, 32, Y0, Y1, Y2)
	TILE_GRP((SI)(BX*1), 4, 32, Y3, Y4, Y5)
	TILE_GRP((R10), 4, 32, Y6, Y7, Y8)
	TILE_GRP((R10)(BX*1), 4, 32, Y9, Y10, Y11)
	TILE_GRP((SI), 2, 64, Y0, Y1, Y2)
	TILE_GRP((SI)(BX*1), 2, 64, Y3, Y4, Y5)
	TILE_GRP((R10), 2, 64, Y6, Y7, Y8)
	TILE_GRP((R10)(BX*1), 2, 64, Y9, Y10, Y11)
	TILE_GRP3((SI), Y0, Y1, Y2)
	TILE_GRP3((SI)(BX*1), Y3, Y4, Y5)
	TILE_GRP3((R10), Y6, Y7, Y8)
	TILE_GRP3((R10)(BX*1), Y9, Y10, Y11)
	ADDQ $32, SI
	ADDQ $32, R10
	ADDQ $128, R12
	DECQ DX
	JNZ  tile_block

	// Stack slot of (row r, act i) is (4i+r)*32.
	TILE_WIDEN(Y0, 0)
	TILE_WIDEN(Y1, 128)
	TILE_WIDEN(Y2, 256)
	TILE_WIDEN(Y3, 32)
	TILE_WIDEN(Y4, 160)
	TILE_WIDEN(Y5, 288)
	TILE_WIDEN(Y6, 64)
	TILE_WIDEN(Y7, 192)
	TILE_WIDEN(Y8, 320)
	TILE_WIDEN(Y9, 96)
	TILE_WIDEN(Y10, 224)
	TILE_WIDEN(Y11, 352)
	TESTQ R11, R11
	JNZ   tile_chunk

	MOVQ         post+64(FP), AX
	MOVQ         ldd+8(FP), DX
	VBROADCASTSS wscale+72(FP), X4
	TILE_OUT(0, 32, 64, 96, 0, 12, (DI))
	TILE_OUT(128, 160, 192, 224, 4, 16, (DI)(DX*4))
	TILE_OUT(256, 288, 320, 352, 8, 20, (DI)(DX*8))

	ADDQ $16, DI
	LEAQ (R13)(BX*4), R13
	DECQ CX
	JNZ  tile_quad

tile_ret:
	VZEROUPPER
	RET
