//go:build !noasm

#include "textflag.h"

// func sumU64AVX2(p *uint64, n int) uint64
// n is a multiple of 16. Four independent accumulators over 32-byte loads
// keep the loop limited by memory, which is what the bandwidth test measures.
TEXT ·sumU64AVX2(SB), NOSPLIT, $0-24
	MOVQ   p+0(FP), SI
	MOVQ   n+8(FP), CX
	SHRQ   $4, CX
	VPXOR  Y0, Y0, Y0
	VPXOR  Y1, Y1, Y1
	VPXOR  Y2, Y2, Y2
	VPXOR  Y3, Y3, Y3
	TESTQ  CX, CX
	JZ     sum_reduce

sum_loop:
	VPADDQ (SI), Y0, Y0
	VPADDQ 32(SI), Y1, Y1
	VPADDQ 64(SI), Y2, Y2
	VPADDQ 96(SI), Y3, Y3
	ADDQ   $128, SI
	DECQ   CX
	JNZ    sum_loop

sum_reduce:
	VPADDQ       Y1, Y0, Y0
	VPADDQ       Y3, Y2, Y2
	VPADDQ       Y2, Y0, Y0
	VEXTRACTI128 $1, Y0, X1
	VPADDQ       X1, X0, X0
	VPSHUFD      $0x4e, X0, X1
	VPADDQ       X1, X0, X0
	VMOVQ        X0, AX
	MOVQ         AX, ret+16(FP)
	VZEROUPPER
	RET

// func sumU64PFAVX2(p *uint64, n int) uint64
// sumU64AVX2 with the lines 4 KiB ahead prefetched, as the matrix kernels
// do (prefetching past the end of the buffer is harmless).
TEXT ·sumU64PFAVX2(SB), NOSPLIT, $0-24
	MOVQ  p+0(FP), SI
	MOVQ  n+8(FP), CX
	SHRQ  $4, CX
	VPXOR Y0, Y0, Y0
	VPXOR Y1, Y1, Y1
	VPXOR Y2, Y2, Y2
	VPXOR Y3, Y3, Y3
	TESTQ CX, CX
	JZ    pf_reduce

pf_loop:
	PREFETCHT0 4096(SI)
	PREFETCHT0 4160(SI)
	VPADDQ     (SI), Y0, Y0
	VPADDQ     32(SI), Y1, Y1
	VPADDQ     64(SI), Y2, Y2
	VPADDQ     96(SI), Y3, Y3
	ADDQ       $128, SI
	DECQ       CX
	JNZ        pf_loop

pf_reduce:
	VPADDQ       Y1, Y0, Y0
	VPADDQ       Y3, Y2, Y2
	VPADDQ       Y2, Y0, Y0
	VEXTRACTI128 $1, Y0, X1
	VPADDQ       X1, X0, X0
	VPSHUFD      $0x4e, X0, X1
	VPADDQ       X1, X0, X0
	VMOVQ        X0, AX
	MOVQ         AX, ret+16(FP)
	VZEROUPPER
	RET
