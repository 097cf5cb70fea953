package gguf

import (
	"errors"
	"strings"
	"testing"
)

func TestRowBytes(t *testing.T) {
	tests := []struct {
		typ  Type
		name string
		ne0  int
		want int
	}{
		{F32, "F32", 256, 1024},
		{F16, "F16", 256, 512},
		{BF16, "BF16", 256, 512},
		{Q8_0, "Q8_0", 256, 8 * 34},
		{Q4_0, "Q4_0", 64, 2 * 18},
		{Q4_K, "Q4_K", 512, 2 * 144},
		{Q5_K, "Q5_K", 256, 176},
		{Q6_K, "Q6_K", 256, 210},
		{TQ1_0, "TQ1_0", 512, 2 * 54},
		{TQ2_0, "TQ2_0", 256, 66},
		{I2_S, "I2_S", 2560, 640}, // 2B-4T attn_q row: K/4 bytes, trailer not per row
		{F32, "F32", 0, 0},
	}
	for _, tt := range tests {
		if got := tt.typ.String(); got != tt.name {
			t.Errorf("Type(%d).String() = %q, want %q", uint32(tt.typ), got, tt.name)
		}
		got, err := tt.typ.RowBytes(tt.ne0)
		if err != nil || got != tt.want {
			t.Errorf("%v.RowBytes(%d) = %d, %v; want %d", tt.typ, tt.ne0, got, err, tt.want)
		}
	}
}

func TestRowBytesErrors(t *testing.T) {
	tests := []struct {
		typ     Type
		ne0     int
		wantErr error
		substr  string
	}{
		{Q8_0, 33, ErrFormat, "not a multiple of its block size 32"},
		{I2_S, 64, ErrFormat, "block size 128"},
		{Type(100), 32, ErrUnsupportedType, "unknown tensor type id 100"},
		{TL2, 256, ErrUnsupportedType, "MXFP4"},
		{TL1, 256, ErrUnsupportedType, "TL1"},
		{I8_S, 256, ErrUnsupportedType, "I8_S"},
		{Type(31), 256, ErrUnsupportedType, "Q4_0_4_4"},
		{F32, -1, nil, "negative"},
	}
	for _, tt := range tests {
		_, err := tt.typ.RowBytes(tt.ne0)
		if err == nil || !strings.Contains(err.Error(), tt.substr) || (tt.wantErr != nil && !errors.Is(err, tt.wantErr)) {
			t.Errorf("%v.RowBytes(%d) error = %v, want %v containing %q", tt.typ, tt.ne0, err, tt.wantErr, tt.substr)
		}
	}
}

func TestTensorBytes(t *testing.T) {
	tests := []struct {
		typ  Type
		dims []uint64
		want uint64
	}{
		{I2_S, []uint64{256, 128}, 256*128/4 + 32},
		{I2_S, []uint64{2560, 6912}, 2560*6912/4 + 32},
		{Q6_K, []uint64{256, 4096}, 4096 * 210},
		{TQ2_0, []uint64{768, 256}, 3 * 256 * 66},
		{F32, nil, 4}, // a 0-dim tensor is a scalar, as in ggml
		{F16, []uint64{8, 0}, 0},
		{F32, []uint64{2, 3, 4, 5}, 480},
	}
	for _, tt := range tests {
		got, err := TensorBytes(tt.typ, tt.dims)
		if err != nil || got != tt.want {
			t.Errorf("TensorBytes(%v, %v) = %d, %v; want %d", tt.typ, tt.dims, got, err, tt.want)
		}
	}
	for _, dims := range [][]uint64{{1 << 62, 1 << 62}, {1, 1, 1, 1, 1}, {1 << 63}} {
		if _, err := TensorBytes(F32, dims); err == nil {
			t.Errorf("TensorBytes(F32, %v) succeeded", dims)
		}
	}
}

func TestTypeNames(t *testing.T) {
	for typ, want := range map[Type]string{I2_S: "I2_S", TL1: "TL1", TL2: "TL2", Q2_K: "Q2_K", Q8_K: "Q8_K",
		IQ4_XS: "IQ4_XS", I8: "I8", F64: "F64", Type(77): "type(77)"} {
		if got := typ.String(); got != want {
			t.Errorf("%d: %q, want %q", uint32(typ), got, want)
		}
	}
	if TL2.Known() || !I2_S.Known() || Q6_K.BlockSize() != 256 || Q6_K.BlockBytes() != 210 {
		t.Error("Known/BlockSize/BlockBytes disagree with the type table")
	}
}
