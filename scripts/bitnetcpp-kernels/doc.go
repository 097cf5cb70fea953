// Package bitnetcppkernels times bitnet.cpp's I2_S kernels, and the ggml
// kernels it runs for Q6_K and F16 lm_heads, against this engine's on the
// same weights and activations, in one process, taking turns, so that both
// see the same load on a shared host.
//
// It is a measuring tool, not part of the engine: its other files build
// only with the bitnetcpp tag, need cgo and a C compiler, and include a
// header with bitnet.cpp's kernels, which this repository does not ship.
// README.md says how to make it and how to run the comparison.
package bitnetcppkernels
