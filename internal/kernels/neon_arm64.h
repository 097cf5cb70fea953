// NEON instructions the Go assembler lacks, as WORDs, for more than one file. The
// operands are register numbers. Each base opcode was checked against GNU
// as (and the kernels that use them against their Go references under
// QEMU, with and without the dot-product extension).

// SDOT Vd.4S, Vn.16B, Vm.16B (ARMv8.2 dot product)
#define SDOT(d, n, m) WORD $(0x4E809400 | ((m)<<16) | ((n)<<5) | (d))
// SMULL Vd.8H, Vn.8B, Vm.8B and the high-half / accumulating forms
#define SMULL(d, n, m) WORD $(0x0E20C000 | ((m)<<16) | ((n)<<5) | (d))
#define SMULL2(d, n, m) WORD $(0x4E20C000 | ((m)<<16) | ((n)<<5) | (d))
#define SMLAL(d, n, m) WORD $(0x0E208000 | ((m)<<16) | ((n)<<5) | (d))
#define SMLAL2(d, n, m) WORD $(0x4E208000 | ((m)<<16) | ((n)<<5) | (d))
// SADDLP Vd.8H, Vn.16B and SADALP Vd.4S, Vn.8H
#define SADDLP_H_B(d, n) WORD $(0x4E202800 | ((n)<<5) | (d))
#define SADALP_S_H(d, n) WORD $(0x4E606800 | ((n)<<5) | (d))
// ADDP Vd.4S, Vn.4S, Vm.4S: [n0+n1, n2+n3, m0+m1, m2+m3]
#define ADDP_S(d, n, m) WORD $(0x4EA0BC00 | ((m)<<16) | ((n)<<5) | (d))
// SADDLP Vd.4S, Vn.8H (pairwise add long, no accumulate)
#define SADDLP_S_H(d, n) WORD $(0x4E602800 | ((n)<<5) | (d))
// SXTL Vd.8H, Vn.8B; SXTL Vd.4S, Vn.4H; SXTL2 Vd.4S, Vn.8H (SSHLL #0)
#define SXTL_H_B(d, n) WORD $(0x0F08A400 | ((n)<<5) | (d))
#define SXTL_S_H(d, n) WORD $(0x0F10A400 | ((n)<<5) | (d))
#define SXTL2_S_H(d, n) WORD $(0x4F10A400 | ((n)<<5) | (d))
// MUL Vd.4S, Vn.4S, Vm.4S and MLA Vd.4S, Vn.4S, Vm.4S (d += n·m)
#define MUL_S(d, n, m) WORD $(0x4EA09C00 | ((m)<<16) | ((n)<<5) | (d))
#define MLA_S(d, n, m) WORD $(0x4EA09400 | ((m)<<16) | ((n)<<5) | (d))
// FCVTL Vd.4S, Vn.4H and FCVTL2 Vd.4S, Vn.8H
#define FCVTL_S(d, n) WORD $(0x0E217800 | ((n)<<5) | (d))
#define FCVTL2_S(d, n) WORD $(0x4E217800 | ((n)<<5) | (d))
// FMUL, FADD Vd.4S, Vn.4S, Vm.4S; FADDP Vd.4S, Vn.4S, Vm.4S and the scalar
// FADDP Sd, Vn.2S; SCVTF Vd.4S, Vn.4S (int32 to float)
#define FMUL_S(d, n, m) WORD $(0x6E20DC00 | ((m)<<16) | ((n)<<5) | (d))
#define FADD_S(d, n, m) WORD $(0x4E20D400 | ((m)<<16) | ((n)<<5) | (d))
#define FADDP_S(d, n, m) WORD $(0x6E20D400 | ((m)<<16) | ((n)<<5) | (d))
#define FADDP_SCALAR(d, n) WORD $(0x7E30D800 | ((n)<<5) | (d))
#define SCVTF_S(d, n) WORD $(0x4E21D800 | ((n)<<5) | (d))
