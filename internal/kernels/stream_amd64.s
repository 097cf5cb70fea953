//go:build !noasm

#include "textflag.h"

// The streaming sums of the bandwidth test: n (a multiple of 16) words at p
// in four independent accumulators over 32-byte loads, so the loop is
// limited by memory. pf is either nothing or the prefetch of the two lines
// 4 KiB ahead (prefetching past the end of the buffer is harmless).
#define SUM_U64(pf, loop, reduce) \
	MOVQ         p+0(FP), SI;      \
	MOVQ         n+8(FP), CX;      \
	SHRQ         $4, CX;           \
	VPXOR        Y0, Y0, Y0;       \
	VPXOR        Y1, Y1, Y1;       \
	VPXOR        Y2, Y2, Y2;       \
	VPXOR        Y3, Y3, Y3;       \
	TESTQ        CX, CX;           \
	JZ           reduce;           \
loop:                              \
	pf;                            \
	VPADDQ       (SI), Y0, Y0;     \
	VPADDQ       32(SI), Y1, Y1;   \
	VPADDQ       64(SI), Y2, Y2;   \
	VPADDQ       96(SI), Y3, Y3;   \
	ADDQ         $128, SI;         \
	DECQ         CX;               \
	JNZ          loop;             \
reduce:                            \
	VPADDQ       Y1, Y0, Y0;       \
	VPADDQ       Y3, Y2, Y2;       \
	VPADDQ       Y2, Y0, Y0;       \
	VEXTRACTI128 $1, Y0, X1;       \
	VPADDQ       X1, X0, X0;       \
	VPSHUFD      $0x4e, X0, X1;    \
	VPADDQ       X1, X0, X0;       \
	VMOVQ        X0, AX;           \
	MOVQ         AX, ret+16(FP);   \
	VZEROUPPER;                    \
	RET

#define NO_PREFETCH
#define PREFETCH_4K PREFETCHT0 4096(SI); PREFETCHT0 4160(SI)

// func sumU64AVX2(p *uint64, n int) uint64
TEXT ·sumU64AVX2(SB), NOSPLIT, $0-24
	SUM_U64(NO_PREFETCH, sum_loop, sum_reduce)

// func sumU64PFAVX2(p *uint64, n int) uint64
TEXT ·sumU64PFAVX2(SB), NOSPLIT, $0-24
	SUM_U64(PREFETCH_4K, pf_loop, pf_reduce)

// func prefetch(p *uint16, n int)
TEXT ·prefetch(SB), NOSPLIT, $0-16
	MOVQ p+0(FP), SI
	MOVQ n+8(FP), CX
	ADDQ SI, CX

prefetch_line:
	CMPQ       SI, CX
	JAE        prefetch_done
	PREFETCHT0 (SI)
	ADDQ       $64, SI
	JMP        prefetch_line

prefetch_done:
	RET
