// Package kernels holds the numeric inner loops of the engine: ternary×int8
// dot products on the I2_S weight layout, per-token activation quantisation,
// F16/BF16 conversion and dot products, and the small float ops of a
// transformer block (RMSNorm, RoPE, softmax).
//
// Every kernel has a plain-Go reference in a *_generic.go file. Assembly
// versions live beside it and are chosen once, at start, from the CPU
// features; SetLevel lowers the level so that one machine can test every path.
//
// Weight layout ("I2S rows"): a ternary matrix of R rows (outputs) and K
// columns (inputs) is stored row by row. Each row is padded to Kp, the next
// multiple of 128, and takes Kp/4 bytes. A row is a sequence of 128-weight
// blocks of 32 bytes; weight j of a block lives in byte j%32 at bit shift
// 6-2*(j/32) (group 0 in the high bits), with codes 0,1,2 meaning -1,0,+1.
// Padding weights have code 1 (zero). When K is a multiple of 128 this is
// byte for byte the layout of bitnet.cpp's I2_S tensors, so GGUF I2_S data is
// used in place without a copy.
//
// The kernels know nothing of models: they take slices and sizes.
package kernels
