//go:build !noasm

#include "textflag.h"
#include "hsum_amd64.h"

// Ternary × int8 kernels on the I2_S layout (see doc.go), AVX2.
//
// Hand-written rather than avo-generated: there are four kernels, each
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
	HSUM_I32
	VMOVD        X0, AX
	MOVL         AX, ret+24(FP)
	VZEROUPPER
	RET

// The decode kernel decodes with one shift per block instead of three:
// with c the block's bytes and t = c>>4, c&3 is group 3, t&3 group 1,
// c&12 = 4·(group 2) and t&12 = 4·(group 0). That is 13 vector operations
// per row and block instead of 15 (the kernel is limited by them when the
// weights are in cache). The ×4 products go to their own int16 accumulator
// (a4), the unscaled ones to a1, and a1 is widened with VPMADDWD by 4 so that
// the int32 sum is exactly 4·Σ code·x; an arithmetic shift by 2 at the end
// restores Σ code·x. Bounds per int16 lane (codes up to 3, x in
// [-128,127]): a4 gains 2 products of at most 2·12·128 = 3072 in magnitude per
// block, so it is widened after 5 blocks (≤ 30720); a1 gains 2 of at most
// 768, widened after 20 blocks (≤ 30720). Nothing wraps or saturates.

DATA i2sMask12<>+0(SB)/8, $0x0c0c0c0c0c0c0c0c
DATA i2sMask12<>+8(SB)/8, $0x0c0c0c0c0c0c0c0c
DATA i2sMask12<>+16(SB)/8, $0x0c0c0c0c0c0c0c0c
DATA i2sMask12<>+24(SB)/8, $0x0c0c0c0c0c0c0c0c
GLOBL i2sMask12<>(SB), RODATA|NOPTR, $32

DATA i2sFours16<>+0(SB)/8, $0x0004000400040004
DATA i2sFours16<>+8(SB)/8, $0x0004000400040004
DATA i2sFours16<>+16(SB)/8, $0x0004000400040004
DATA i2sFours16<>+24(SB)/8, $0x0004000400040004
GLOBL i2sFours16<>(SB), RODATA|NOPTR, $32


// One block of one weight row: codes from src, activations at R12 (memory
// operands: the 128 bytes stay in L1 for the whole matrix).
#define GEMV_BLOCK(src, a1, a4) \
	VMOVDQU    src, Y12;          \
	VPSRLW     $4, Y12, Y13;      \
	VPAND      Y15, Y12, Y8;      \
	VPMADDUBSW 96(R12), Y8, Y8;   \
	VPADDW     Y8, a1, a1;        \
	VPAND      Y14, Y12, Y12;     \
	VPMADDUBSW 64(R12), Y12, Y12; \
	VPADDW     Y12, a4, a4;       \
	VPAND      Y15, Y13, Y9;      \
	VPMADDUBSW 32(R12), Y9, Y9;   \
	VPADDW     Y9, a1, a1;        \
	VPAND      Y14, Y13, Y13;     \
	VPMADDUBSW (R12), Y13, Y13;   \
	VPADDW     Y13, a4, a4

// One weight row of a decode pass into the int32 accumulator acc: SI
// walks the row, R14 runs pf bytes ahead of it and R12 walks the
// activations. Blocks go in pairs to two int16 accumulator pairs (Y1/Y2,
// Y3/Y4), so consecutive blocks do not wait on each other's adds. Every 10
// blocks they are widened into acc, a1 by 4 and a4 by 1: each a4 has then
// gained at most 5 blocks of 6144 (30720), and the two a1 together at most
// 10 of 1536, so they are added before widening. A row of an odd number of
// blocks ends with one single block (into the first pair, which then has
// at most 5 too). The labels are arguments so that the kernel
// can expand the macro once per row of the pass.
#define GEMV_ROW(acc, Lchunk, Lpair, Lone, Lwiden) \
	MOVQ  x+32(FP), R12;               \
	MOVQ  nb+40(FP), R11;              \
	VPXOR acc, acc, acc;               \
Lchunk:                                \
	MOVQ    $10, DX;                   \
	CMPQ    R11, DX;                   \
	CMOVQLT R11, DX;                   \
	SUBQ    DX, R11;                   \
	VPXOR   Y1, Y1, Y1;                \
	VPXOR   Y2, Y2, Y2;                \
	VPXOR   Y3, Y3, Y3;                \
	VPXOR   Y4, Y4, Y4;                \
	CMPQ    DX, $2;                    \
	JB      Lone;                      \
Lpair:                                 \
	PREFETCHT0 (R14);                  \
	PREFETCHT0 32(R14);                \
	GEMV_BLOCK((SI), Y1, Y2);          \
	ADDQ       $128, R12;              \
	GEMV_BLOCK(32(SI), Y3, Y4);        \
	ADDQ       $64, SI;                \
	ADDQ       $64, R14;               \
	ADDQ       $128, R12;              \
	SUBQ       $2, DX;                 \
	CMPQ       DX, $2;                 \
	JAE        Lpair;                  \
Lone:                                  \
	TESTQ DX, DX;                      \
	JZ    Lwiden;                      \
	GEMV_BLOCK((SI), Y1, Y2);          \
	ADDQ  $32, SI;                     \
	ADDQ  $32, R14;                    \
	ADDQ  $128, R12;                   \
Lwiden:                                \
	VPADDW   Y3, Y1, Y1;               \
	VPMADDWD i2sFours16<>(SB), Y1, Y1; \
	VPMADDWD i2sOnes16<>(SB), Y2, Y2;  \
	VPMADDWD i2sOnes16<>(SB), Y4, Y4;  \
	VPADDD   Y1, acc, acc;             \
	VPADDD   Y2, acc, acc;             \
	VPADDD   Y4, acc, acc;             \
	TESTQ    R11, R11;                 \
	JNZ      Lchunk

// Point SI at row r (0..3) of the pass at R13 and R14 pf bytes past it.
#define GEMV_START(r) \
	MOVQ  BX, SI;            \
	IMULQ $r, SI;            \
	ADDQ  R13, SI;           \
	MOVQ  pf+64(FP), R14;    \
	ADDQ  SI, R14

// func gemvI2S4AVX2(dst *float32, w *byte, stride, quads int, x *int8, nb int, sum, scale, wscale float32, pf int)
//
// Decode path (one activation row), four weight rows per pass, each row
// read to its end before the next, so the weights are read in address
// order, one linear stream. Decode reads each weight once from memory, and
// what limits it there is how many cache lines one core keeps in flight:
// the 13 vector operations per block fill the out-of-order window long
// before the loads do, so the hardware prefetcher alone reached about half
// of a streaming sum. R14 runs pf bytes ahead and prefetches each line
// twice, once per block: a single prefetch per line was slower (0.74–0.76
// of the sum against 0.89; the core seems to drop prefetches when its miss
// buffers are full). Prefetches past the end of the matrix are harmless:
// they never fault. The four rows share one epilogue.
//
// An earlier kernel read the four rows side by side, four short streams
// that jumped every pass: 0.84–0.87 of the sum, against 0.93–0.99 for this
// one (two threads, same process, taking turns, 520 MB of 2560-wide rows).
// A one-row-at-a-time kernel read as well as this one but computed 30 %
// slower, its loop and epilogue costs shared by one row instead of four.
TEXT ·gemvI2S4AVX2(SB), NOSPLIT, $0-72
	MOVQ    dst+0(FP), DI
	MOVQ    w+8(FP), R13
	MOVQ    stride+16(FP), BX
	MOVQ    quads+24(FP), CX
	VMOVDQU i2sMask<>(SB), Y15
	VMOVDQU i2sMask12<>(SB), Y14
	TESTQ   CX, CX
	JZ      gemv_ret

	// The loop prefetches pf bytes ahead; ask for the first pf bytes here.
	MOVQ R13, AX
	MOVQ pf+64(FP), R10
	ADDQ R13, R10

gemv_ramp:
	PREFETCHT0 (AX)
	ADDQ       $64, AX
	CMPQ       AX, R10
	JB         gemv_ramp

gemv_quad:
	GEMV_START(0)
	GEMV_ROW(Y0, gemv_c0, gemv_p0, gemv_o0, gemv_w0)
	GEMV_START(1)
	GEMV_ROW(Y5, gemv_c1, gemv_p1, gemv_o1, gemv_w1)
	GEMV_START(2)
	GEMV_ROW(Y6, gemv_c2, gemv_p2, gemv_o2, gemv_w2)
	GEMV_START(3)
	GEMV_ROW(Y7, gemv_c3, gemv_p3, gemv_o3, gemv_w3)

	// [4·Σrow0, 4·Σrow1, 4·Σrow2, 4·Σrow3] in X0, then Σ exactly.
	VPHADDD      Y5, Y0, Y0
	VPHADDD      Y7, Y6, Y6
	VPHADDD      Y6, Y0, Y0
	VEXTRACTI128 $1, Y0, X1
	VPADDD       X1, X0, X0
	VPSRAD       $2, X0, X0

	// Same single-precision operations, in the same order, as the generic
	// (float32(acc) - sum) / scale * wscale, so the floats match exactly.
	VCVTDQ2PS    X0, X0
	VBROADCASTSS sum+48(FP), X1
	VSUBPS       X1, X0, X0
	VBROADCASTSS scale+52(FP), X1
	VDIVPS       X1, X0, X0
	VBROADCASTSS wscale+56(FP), X1
	VMULPS       X1, X0, X0
	VMOVUPS      X0, (DI)

	ADDQ $16, DI
	LEAQ (R13)(BX*4), R13
	DECQ CX
	JNZ  gemv_quad

gemv_ret:
	VZEROUPPER
	RET

// How far ahead of its loads each row stream of a prefill tile prefetches.
// When a few sequences decode together, a tile reads its weights from
// memory once, and the hardware prefetcher alone follows the tiles that
// read rows side by side badly: on a 42 MB matrix (one thread, Zen 3) the
// 2×4 tile ran at 42–45 GMAC/s for four activation rows, against 81–91
// with these prefetches, and the 4×3 tile for three at 30–35 against
// 39–52. The 1×8 tile, one linear stream, ran the same with and without
// them (84–92 GMAC/s), as did the prefill of 128 rows from L2.
#define TILE_PF 1024

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
	PREFETCHT0 TILE_PF(SI)
	PREFETCHT0 TILE_PF(SI)(BX*1)
	PREFETCHT0 TILE_PF(R10)
	PREFETCHT0 TILE_PF(R10)(BX*1)
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

// One group of one weight row against eight activation rows
// (gemmI2S1x8AVX2): code from the raw bytes in Y14, activation a at
// xoff from P0 = R12 (a = 0, 1, 2), P1 = R10 (3, 4, 5) or P2 = R11 (6, 7).
#define T8_MAC(x, acc) \
	VPMADDUBSW x, Y13, Y12; \
	VPADDW     Y12, acc, acc

#define T8_GRP(shift, xoff) \
	VPSRLW $shift, Y14, Y13;           \
	VPAND  Y15, Y13, Y13;              \
	T8_MAC(xoff(R12), Y0);             \
	T8_MAC(xoff(R12)(R9*1), Y1);       \
	T8_MAC(xoff(R12)(R9*2), Y2);       \
	T8_MAC(xoff(R10), Y3);             \
	T8_MAC(xoff(R10)(R9*1), Y4);       \
	T8_MAC(xoff(R10)(R9*2), Y5);       \
	T8_MAC(xoff(R11), Y6);             \
	T8_MAC(xoff(R11)(R9*1), Y7)

#define T8_WIDEN(acc, off) \
	VPMADDWD i2sOnes16<>(SB), acc, acc; \
	VPADDD   off(SP), acc, acc;         \
	VMOVDQU  acc, off(SP)

// Eight int32 sums on the stack (0..224(SP)) fed by eight int16
// accumulators Y0-Y7: zero the sums; start a chunk of at most I2S_CHUNK
// blocks (blocks left in BX, this chunk's count to DX) with zeroed
// accumulators; widen the accumulators into the sums.
#define T8_ZERO_SUMS \
	VPXOR   Y0, Y0, Y0;   \
	VMOVDQU Y0, 0(SP);    \
	VMOVDQU Y0, 32(SP);   \
	VMOVDQU Y0, 64(SP);   \
	VMOVDQU Y0, 96(SP);   \
	VMOVDQU Y0, 128(SP);  \
	VMOVDQU Y0, 160(SP);  \
	VMOVDQU Y0, 192(SP);  \
	VMOVDQU Y0, 224(SP)

#define T8_CHUNK \
	MOVQ    I2S_CHUNK, DX; \
	CMPQ    BX, DX;        \
	CMOVQLT BX, DX;        \
	SUBQ    DX, BX;        \
	VPXOR   Y0, Y0, Y0;    \
	VPXOR   Y1, Y1, Y1;    \
	VPXOR   Y2, Y2, Y2;    \
	VPXOR   Y3, Y3, Y3;    \
	VPXOR   Y4, Y4, Y4;    \
	VPXOR   Y5, Y5, Y5;    \
	VPXOR   Y6, Y6, Y6;    \
	VPXOR   Y7, Y7, Y7

#define T8_WIDEN8 \
	T8_WIDEN(Y0, 0);   \
	T8_WIDEN(Y1, 32);  \
	T8_WIDEN(Y2, 64);  \
	T8_WIDEN(Y3, 96);  \
	T8_WIDEN(Y4, 128); \
	T8_WIDEN(Y5, 160); \
	T8_WIDEN(Y6, 192); \
	T8_WIDEN(Y7, 224)

// The eight int32 vectors at 0..224(SP) to their eight sums in Y8, vector
// v in lane v: pairwise adds within each 128-bit half, then the halves.
#define T8_SUM8 \
	VMOVDQU    0(SP), Y0;       \
	VMOVDQU    32(SP), Y1;      \
	VMOVDQU    64(SP), Y2;      \
	VMOVDQU    96(SP), Y3;      \
	VMOVDQU    128(SP), Y4;     \
	VMOVDQU    160(SP), Y5;     \
	VMOVDQU    192(SP), Y6;     \
	VMOVDQU    224(SP), Y7;     \
	VPHADDD    Y1, Y0, Y0;      \
	VPHADDD    Y3, Y2, Y2;      \
	VPHADDD    Y2, Y0, Y0;      \
	VPHADDD    Y5, Y4, Y4;      \
	VPHADDD    Y7, Y6, Y6;      \
	VPHADDD    Y6, Y4, Y4;      \
	VPERM2I128 $0x20, Y4, Y0, Y8; \
	VPERM2I128 $0x31, Y4, Y0, Y9; \
	VPADDD     Y9, Y8, Y8

// func gemmI2S1x8AVX2(dst *float32, ldd int, w *byte, stride, rows int, x *int8, ldx, nb int, sums *int32, scales *float32, wscale float32)
//
// Prefill path: one weight row against eight activation rows. Each block
// is loaded once and decoded once per group (shift, mask) for eight
// VPMADDUBSW/VPADDW pairs, so 71 vector operations do 1024 multiply-adds
// (the 4×3 tile needs 31 for 384). The eight int16 accumulators are widened
// every 8 blocks (the bound in the header) into int32 sums on the stack
// (activation a at 32a). The eight activation rows, 8·ldx bytes, should
// stay in L1 while the caller runs this over the rows of a block.
TEXT ·gemmI2S1x8AVX2(SB), 0, $256-84
	MOVQ    w+16(FP), SI
	MOVQ    ldx+48(FP), R9
	MOVQ    dst+0(FP), DI
	VMOVDQU i2sMask<>(SB), Y15
	MOVQ    rows+32(FP), CX
	TESTQ   CX, CX
	JZ      t8_ret

t8_row:
	MOVQ    x+40(FP), R12
	LEAQ    (R12)(R9*2), R10
	ADDQ    R9, R10
	LEAQ    (R10)(R9*2), R11
	ADDQ    R9, R11
	MOVQ    nb+56(FP), BX
	T8_ZERO_SUMS

t8_chunk:
	T8_CHUNK
	PCALIGN $32

t8_block:
	PREFETCHT0 TILE_PF(SI)
	VMOVDQU (SI), Y14
	T8_GRP(6, 0)
	T8_GRP(4, 32)
	T8_GRP(2, 64)
	T8_GRP(0, 96)
	ADDQ    $32, SI
	ADDQ    $128, R12
	ADDQ    $128, R10
	ADDQ    $128, R11
	DECQ    DX
	JNZ     t8_block

	T8_WIDEN8
	TESTQ   BX, BX
	JNZ     t8_chunk

	// Σ of activation a in lane a of Y8.
	T8_SUM8

	// Same single-precision operations, in the same order, as the generic
	// (float32(acc) - float32(sums[i])) / scales[i] * wscale.
	MOVQ         sums+64(FP), AX
	VCVTDQ2PS    Y8, Y8
	VCVTDQ2PS    (AX), Y9
	VSUBPS       Y9, Y8, Y8
	MOVQ         scales+72(FP), AX
	VDIVPS       (AX), Y8, Y8
	VBROADCASTSS wscale+80(FP), Y9
	VMULPS       Y9, Y8, Y8

	// Activation a's result goes to dst + 4·(a·ldd + row).
	MOVQ         ldd+8(FP), DX
	SHLQ         $2, DX
	LEAQ         (DI)(DX*2), AX
	ADDQ         DX, AX
	LEAQ         (AX)(DX*2), R8
	ADDQ         DX, R8
	VEXTRACTF128 $1, Y8, X9
	VMOVSS       X8, (DI)
	VEXTRACTPS   $1, X8, (DI)(DX*1)
	VEXTRACTPS   $2, X8, (DI)(DX*2)
	VEXTRACTPS   $3, X8, (AX)
	VMOVSS       X9, (AX)(DX*1)
	VEXTRACTPS   $1, X9, (AX)(DX*2)
	VEXTRACTPS   $2, X9, (R8)
	VEXTRACTPS   $3, X9, (R8)(DX*1)

	ADDQ $4, DI
	DECQ CX
	JNZ  t8_row

t8_ret:
	VZEROUPPER
	RET

// Prefill tile of two weight rows × four activation rows. The previous
// tiles used their activations as memory operands of VPMADDUBSW, one load
// per product; on Zen 3 those loads (32 distinct bytes each) issue about
// once a cycle, which made them the limit (33 cycles per 1024
// multiply-adds). Here each activation vector is loaded into a register
// once and used for both rows, so a block needs 18 loads for 32 products
// and the loop is limited by the products themselves (about 21 cycles).
//
// Registers: Y0-Y3 row 0 × activations 0-3, Y4-Y7 row 1; Y8/Y9 the raw
// codes of the two rows, Y10/Y11 one decoded group of each, Y12 the
// activation vector, Y13/Y14 products, Y15 the mask. The int32 sums live
// on the stack (row r, activation a at 32·(4r+a)).

#define T24_MAC(xaddr, a0, a1) \
	VMOVDQU    xaddr, Y12;      \
	VPMADDUBSW Y12, Y10, Y13;   \
	VPADDW     Y13, a0, a0;     \
	VPMADDUBSW Y12, Y11, Y14;   \
	VPADDW     Y14, a1, a1

#define T24_MACS(xoff) \
	T24_MAC(xoff(R12), Y0, Y4);       \
	T24_MAC(xoff(R12)(R9*1), Y1, Y5); \
	T24_MAC(xoff(R10), Y2, Y6);       \
	T24_MAC(xoff(R10)(R9*1), Y3, Y7)

#define T24_GRP(shift, xoff) \
	VPSRLW $shift, Y8, Y10; \
	VPAND  Y15, Y10, Y10;   \
	VPSRLW $shift, Y9, Y11; \
	VPAND  Y15, Y11, Y11;   \
	T24_MACS(xoff)

// func gemmI2S2x4AVX2(dst *float32, ldd int, w *byte, stride, pairs int, x *int8, ldx, nb int, sums *int32, scales *float32, wscale float32)
//
// For pairs pairs of weight rows (stride bytes apart, consecutive) and four
// activation rows (ldx apart) writes dst[a*ldd + r] for row r of the pairs
// and activation a, with the epilogue of the other kernels.
TEXT ·gemmI2S2x4AVX2(SB), 0, $256-84
	MOVQ    w+16(FP), R13
	MOVQ    stride+24(FP), R11
	MOVQ    ldx+48(FP), R9
	MOVQ    dst+0(FP), R8
	VMOVDQU i2sMask<>(SB), Y15
	MOVQ    pairs+32(FP), CX
	TESTQ   CX, CX
	JZ      t24_ret

t24_pair:
	MOVQ    R13, SI
	LEAQ    (SI)(R11*1), DI
	MOVQ    x+40(FP), R12
	LEAQ    (R12)(R9*2), R10
	MOVQ    nb+56(FP), BX
	T8_ZERO_SUMS

t24_chunk:
	T8_CHUNK
	PCALIGN $32

t24_block:
	PREFETCHT0 TILE_PF(SI)
	PREFETCHT0 TILE_PF(DI)
	VMOVDQU (SI), Y8
	VMOVDQU (DI), Y9
	T24_GRP(6, 0)
	T24_GRP(4, 32)
	T24_GRP(2, 64)
	VPAND   Y15, Y8, Y10
	VPAND   Y15, Y9, Y11
	T24_MACS(96)
	ADDQ    $32, SI
	ADDQ    $32, DI
	ADDQ    $128, R12
	ADDQ    $128, R10
	DECQ    DX
	JNZ     t24_block

	T8_WIDEN8
	TESTQ   BX, BX
	JNZ     t24_chunk

	// [r0a0 r0a1 r0a2 r0a3 r1a0 r1a1 r1a2 r1a3] in Y8.
	T8_SUM8

	// The epilogue of gemmI2S1x8AVX2, with sums and scales of the four
	// activations in both halves.
	MOVQ           sums+64(FP), AX
	VCVTDQ2PS      Y8, Y8
	VBROADCASTI128 (AX), Y9
	VCVTDQ2PS      Y9, Y9
	VSUBPS         Y9, Y8, Y8
	MOVQ           scales+72(FP), AX
	VBROADCASTF128 (AX), Y9
	VDIVPS         Y9, Y8, Y8
	VBROADCASTSS   wscale+80(FP), Y9
	VMULPS         Y9, Y8, Y8

	// Activation a's pair goes to dst + 4·(a·ldd + row), row 1 lane 4 + a.
	MOVQ         ldd+8(FP), DX
	SHLQ         $2, DX
	LEAQ         (R8)(DX*2), AX
	ADDQ         DX, AX
	VEXTRACTF128 $1, Y8, X9
	VMOVSS       X8, (R8)
	VMOVSS       X9, 4(R8)
	VEXTRACTPS   $1, X8, (R8)(DX*1)
	VEXTRACTPS   $1, X9, 4(R8)(DX*1)
	VEXTRACTPS   $2, X8, (R8)(DX*2)
	VEXTRACTPS   $2, X9, 4(R8)(DX*2)
	VEXTRACTPS   $3, X8, (AX)
	VEXTRACTPS   $3, X9, 4(AX)

	ADDQ $8, R8
	LEAQ (R13)(R11*2), R13
	DECQ CX
	JNZ  t24_pair

t24_ret:
	VZEROUPPER
	RET
