package gguf

import (
	"fmt"
	"math/bits"
)

// Type is a ggml tensor type id as stored in a GGUF tensor info.
//
// The ids follow upstream ggml except where bitnet.cpp's fork reused ids
// that upstream later gave other meanings (36–39, see I2_S and TL2).
type Type uint32

// ggml tensor types. The underscore names match ggml's so that they can be
// grepped for across projects.
const (
	F32     Type = 0
	F16     Type = 1
	Q4_0    Type = 2
	Q4_1    Type = 3
	Q5_0    Type = 6
	Q5_1    Type = 7
	Q8_0    Type = 8
	Q8_1    Type = 9
	Q2_K    Type = 10
	Q3_K    Type = 11
	Q4_K    Type = 12
	Q5_K    Type = 13
	Q6_K    Type = 14
	Q8_K    Type = 15
	IQ2_XXS Type = 16
	IQ2_XS  Type = 17
	IQ3_XXS Type = 18
	IQ1_S   Type = 19
	IQ4_NL  Type = 20
	IQ3_S   Type = 21
	IQ2_S   Type = 22
	IQ4_XS  Type = 23
	I8      Type = 24
	I16     Type = 25
	I32     Type = 26
	I64     Type = 27
	F64     Type = 28
	IQ1_M   Type = 29
	BF16    Type = 30
	TQ1_0   Type = 34
	TQ2_0   Type = 35

	// I2_S is bitnet.cpp's per-tensor ternary format. Upstream ggml used 36
	// for IQ4_NL_4_4 (since removed), so a file's 36 is only trusted as
	// I2_S with corroboration; see Parse.
	I2_S Type = 36
	// I8_S is bitnet.cpp's activation-only type; it never appears in files.
	I8_S Type = 37
	// TL1 and TL2 are bitnet.cpp's shape-specialised LUT formats. They are
	// named only so that errors can say what a file contains; upstream
	// ggml uses 39 for MXFP4.
	TL1 Type = 38
	TL2 Type = 39
)

// traits gives the block geometry of a type: blockSize elements are stored
// in typeSize bytes.
type traits struct {
	name      string
	blockSize uint64
	typeSize  uint64
}

// typeTable only lists types whose byte size we can compute; a name alone
// (no sizes) marks an id that is known but cannot be loaded.
var typeTable = map[Type]traits{
	F32:     {"F32", 1, 4},
	F16:     {"F16", 1, 2},
	Q4_0:    {"Q4_0", 32, 18},
	Q4_1:    {"Q4_1", 32, 20},
	Q5_0:    {"Q5_0", 32, 22},
	Q5_1:    {"Q5_1", 32, 24},
	Q8_0:    {"Q8_0", 32, 34},
	Q8_1:    {"Q8_1", 32, 36},
	Q2_K:    {"Q2_K", 256, 84},
	Q3_K:    {"Q3_K", 256, 110},
	Q4_K:    {"Q4_K", 256, 144},
	Q5_K:    {"Q5_K", 256, 176},
	Q6_K:    {"Q6_K", 256, 210},
	Q8_K:    {"Q8_K", 256, 292},
	IQ2_XXS: {"IQ2_XXS", 256, 66},
	IQ2_XS:  {"IQ2_XS", 256, 74},
	IQ3_XXS: {"IQ3_XXS", 256, 98},
	IQ1_S:   {"IQ1_S", 256, 50},
	IQ4_NL:  {"IQ4_NL", 32, 18},
	IQ3_S:   {"IQ3_S", 256, 110},
	IQ2_S:   {"IQ2_S", 256, 82},
	IQ4_XS:  {"IQ4_XS", 256, 136},
	I8:      {"I8", 1, 1},
	I16:     {"I16", 1, 2},
	I32:     {"I32", 1, 4},
	I64:     {"I64", 1, 8},
	F64:     {"F64", 1, 8},
	IQ1_M:   {"IQ1_M", 256, 56},
	BF16:    {"BF16", 1, 2},
	TQ1_0:   {"TQ1_0", 256, 54},
	TQ2_0:   {"TQ2_0", 256, 66},
	// bitnet.cpp declares I2_S with 1/1 traits and fixes sizes up by hand.
	// We use the real packing instead: 128 weights in 32 bytes, rows never
	// straddle a block, plus a 32-byte trailer per tensor (i2sTrailer).
	I2_S: {"I2_S", 128, 32},
}

// i2sTrailer is the float32 scale plus padding that follows the codes of an
// I2_S tensor.
const i2sTrailer = 32

// String returns ggml's name for t, or "type(N)" for ids it does not know.
func (t Type) String() string {
	if tr, ok := typeTable[t]; ok {
		return tr.name
	}
	switch t {
	case 31, 32, 33:
		return [...]string{"Q4_0_4_4", "Q4_0_4_8", "Q4_0_8_8"}[t-31]
	case I8_S:
		return "I8_S"
	case TL1:
		return "TL1"
	case TL2:
		return "TL2"
	}
	return fmt.Sprintf("type(%d)", uint32(t))
}

// Known reports whether sizes can be computed for t.
func (t Type) Known() bool {
	_, ok := typeTable[t]
	return ok
}

// BlockSize returns the number of elements per block, or 0 for an unknown
// type. For I2_S it is the 128-weight packing group, which ne0 must be a
// multiple of (the per-tensor trailer is outside the blocks).
func (t Type) BlockSize() int { return int(typeTable[t].blockSize) }

// BlockBytes returns the bytes per block, or 0 for an unknown type.
func (t Type) BlockBytes() int { return int(typeTable[t].typeSize) }

// RowBytes returns the bytes used by a row of ne0 elements. Rows must hold
// whole blocks, as in ggml. For I2_S it is ne0/4: the per-tensor trailer is
// not part of any row.
func (t Type) RowBytes(ne0 int) (int, error) {
	if ne0 < 0 {
		return 0, fmt.Errorf("gguf: negative row length %d", ne0)
	}
	n, err := rowBytes(t, uint64(ne0))
	if err != nil {
		return 0, fmt.Errorf("gguf: %w", err)
	}
	if n > uint64(maxInt) {
		return 0, fmt.Errorf("gguf: %v row of %d elements overflows int", t, ne0)
	}
	return int(n), nil
}

const maxInt = int(^uint(0) >> 1)

func rowBytes(t Type, ne0 uint64) (uint64, error) {
	tr, ok := typeTable[t]
	if !ok {
		return 0, unsupportedType(t)
	}
	if ne0%tr.blockSize != 0 {
		return 0, fmt.Errorf("%w: row length %d of %v is not a multiple of its block size %d",
			ErrFormat, ne0, t, tr.blockSize)
	}
	hi, lo := bits.Mul64(ne0/tr.blockSize, tr.typeSize)
	if hi != 0 {
		return 0, fmt.Errorf("%w: %v row of %d elements overflows", ErrFormat, t, ne0)
	}
	return lo, nil
}

// TensorBytes returns the stored size of a tensor of type t with the given
// dims (ne0 first). It checks block divisibility and overflow, so it is safe
// on untrusted dims.
func TensorBytes(t Type, dims []uint64) (uint64, error) {
	n, err := tensorBytes(t, dims)
	if err != nil {
		return 0, fmt.Errorf("gguf: %w", err)
	}
	return n, nil
}

func tensorBytes(t Type, dims []uint64) (uint64, error) {
	if len(dims) > MaxDims {
		return 0, fmt.Errorf("%w: %d dims (max %d)", ErrFormat, len(dims), MaxDims)
	}
	// A tensor without dims is a scalar: one row of one element.
	ne0, rest := uint64(1), dims
	if len(dims) > 0 {
		ne0, rest = dims[0], dims[1:]
	}
	size, err := rowBytes(t, ne0)
	if err != nil {
		return 0, err
	}
	for _, d := range rest {
		hi, lo := bits.Mul64(size, d)
		if hi != 0 {
			return 0, fmt.Errorf("%w: tensor size of %v%v overflows", ErrFormat, t, dims)
		}
		size = lo
	}
	if t == I2_S {
		if size > ^uint64(0)-i2sTrailer {
			return 0, fmt.Errorf("%w: tensor size of %v%v overflows", ErrFormat, t, dims)
		}
		size += i2sTrailer
	}
	return size, nil
}

// unsupportedType explains why an id cannot be loaded; the fork/upstream
// clashes get their own wording because "unknown type 36" would send users
// hunting for a newer ggml that does not help.
func unsupportedType(t Type) error {
	switch t {
	case I2_S:
		return fmt.Errorf("%w: type id 36 is ambiguous: I2_S in bitnet.cpp, IQ4_NL_4_4 (removed) in upstream ggml, "+
			"and neither general.file_type=40 nor the tensor's size confirms I2_S", ErrUnsupportedType)
	case I8_S:
		return fmt.Errorf("%w: type id 37 (I8_S in bitnet.cpp, removed IQ4_NL_4_8 upstream) is not a weight type", ErrUnsupportedType)
	case TL1:
		return fmt.Errorf("%w: type id 38 (TL1 in bitnet.cpp, removed IQ4_NL_8_8 upstream) is not supported; "+
			"reconvert the model to I2_S", ErrUnsupportedType)
	case TL2:
		return fmt.Errorf("%w: type id 39 is ambiguous: TL2 in bitnet.cpp, MXFP4 in upstream ggml; neither is supported", ErrUnsupportedType)
	case 31, 32, 33:
		return fmt.Errorf("%w: type %v (id %d) was removed from ggml; requantize the model", ErrUnsupportedType, t, uint32(t))
	}
	return fmt.Errorf("%w: unknown tensor type id %d", ErrUnsupportedType, uint32(t))
}
