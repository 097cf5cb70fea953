package gguf

import (
	"bytes"
	"encoding/binary"
	"errors"
	"strings"
	"testing"
)

// baseFile is a small valid file: two KVs, two F32 [8] tensors at 0 and 32.
func baseFile() rawFile {
	return rawFile{
		kvs: [][]byte{rawStrKV("general.architecture", "bitnet"), rawU32KV("bitnet.block_count", 1)},
		tensors: []rawTensor{
			{name: "a.weight", dims: []uint64{8}, typ: uint32(F32), off: 0},
			{name: "b.weight", dims: []uint64{8}, typ: uint32(F32), off: 32},
		},
		data: pattern(64, 1),
	}
}

func with(mod func(*rawFile)) []byte {
	r := baseFile()
	mod(&r)
	return r.bytes()
}

func u32b(v uint32) []byte { return binary.LittleEndian.AppendUint32(nil, v) }
func u64b(v uint64) []byte { return binary.LittleEndian.AppendUint64(nil, v) }

func cat(parts ...[]byte) []byte { return bytes.Join(parts, nil) }

func TestParseBase(t *testing.T) {
	for _, v := range []uint32{2, 3} {
		f, err := Parse(with(func(r *rawFile) { r.version = v }), "base.gguf")
		if err != nil {
			t.Fatalf("v%d: %v", v, err)
		}
		if f.Version != v || f.Arch() != "bitnet" || len(f.Tensors) != 2 || !bytes.Equal(f.Data(f.Tensors[1]), pattern(64, 1)[32:]) {
			t.Errorf("v%d: %+v", v, f)
		}
	}
}

// TestParseAccepts covers valid but unusual layouts.
func TestParseAccepts(t *testing.T) {
	tests := map[string][]byte{
		"empty tensor sharing an offset, listed last": with(func(r *rawFile) {
			r.tensors = append(r.tensors, rawTensor{name: "e", dims: []uint64{0, 5}, off: 32})
		}),
		"tensors out of offset order": with(func(r *rawFile) { r.tensors[0].off, r.tensors[1].off = 32, 0 }),
		"gap between tensors":         with(func(r *rawFile) { r.tensors[1].off = 64; r.data = append(r.data, make([]byte, 32)...) }),
		"no tensors, no padding":      rawFile{kvs: [][]byte{rawU32KV("k", 1)}, align: 1}.bytes(),
		"alignment 1": with(func(r *rawFile) {
			r.kvs = append(r.kvs, rawU32KV(KeyAlignment, 1))
			r.align = 1
			r.tensors[1].off = 33
			r.data = append(r.data, 0)
		}),
	}
	for name, data := range tests {
		if _, err := Parse(data, name); err != nil {
			t.Errorf("%s: %v", name, err)
		}
	}
}

func TestParseErrors(t *testing.T) {
	base := baseFile().bytes()
	tests := []struct {
		name   string
		data   []byte
		is     error
		substr string
	}{
		{"empty", nil, ErrNotGGUF, "not a GGUF file"},
		{"wrong magic", append([]byte("GGML"), base[4:]...), ErrNotGGUF, "not a GGUF file"},
		{"safetensors", []byte(`{"__metadata__":{}}`), ErrNotGGUF, ""},
		{"version 1", with(func(r *rawFile) { r.version = 1 }), ErrVersion, "1 (want 2 or 3)"},
		{"version 4", with(func(r *rawFile) { r.version = 4 }), ErrVersion, "4"},
		{"big endian", with(func(r *rawFile) { r.version = 3 << 24 }), ErrVersion, "big-endian"},
		{"truncated magic", []byte("GGU"), ErrNotGGUF, ""},
		{"truncated version", base[:6], ErrTruncated, "version"},
		{"truncated header", base[:12], ErrTruncated, "tensor count"},
		{"truncated kv count", base[:20], ErrTruncated, "KV count"},
		{"truncated in kv", with(func(r *rawFile) {
			r.kvs, r.tensors, r.data = r.kvs[:1], nil, nil
		})[:54], ErrTruncated, `KV #0 "general.architecture": truncated: value type`},
		{"kv count past end", with(func(r *rawFile) { r.nKV = u64p(1 << 62) }), ErrTruncated, "KV count 4611686018427387904"},
		{"kv count one too many", with(func(r *rawFile) { r.nKV = u64p(3); r.tensors = nil; r.data = nil; r.align = 1 }), ErrTruncated, "KV #2"},
		{"empty key", with(func(r *rawFile) { r.kvs = append(r.kvs, rawU32KV("", 1)) }), ErrFormat, "KV #2: malformed GGUF: empty key"},
		{"empty tensor name", with(func(r *rawFile) { r.tensors[1].name = "" }), ErrFormat, "tensor #1: malformed GGUF: empty tensor name"},
		{"tensor count past end", with(func(r *rawFile) { r.nTensors = u64p(1 << 60) }), ErrTruncated, "tensor count"},
		{"key length past end", with(func(r *rawFile) { r.kvs = [][]byte{u64b(1 << 40)} }), ErrFormat, "key length 1099511627776 exceeds"},
		{"string length past end", with(func(r *rawFile) {
			r.kvs = append(r.kvs, rawKV("s", ValueString, u64b(1<<40)))
		}), ErrTruncated, `KV #2 "s": truncated: string value`},
		{"string length max", with(func(r *rawFile) {
			r.kvs = append(r.kvs, rawKV("s", ValueString, u64b(^uint64(0))))
		}), ErrTruncated, "string value"},
		{"array length past end", with(func(r *rawFile) {
			r.kvs = append(r.kvs, rawKV("a", ValueArray, cat(u32b(uint32(ValueUint32)), u64b(1<<60))))
		}), ErrTruncated, "uint32 array of 1152921504606846976 elements"},
		{"array length overflow", with(func(r *rawFile) {
			r.kvs = append(r.kvs, rawKV("a", ValueArray, cat(u32b(uint32(ValueFloat64)), u64b(1<<61+1))))
		}), ErrTruncated, "float64 array"},
		{"string array length past end", with(func(r *rawFile) {
			r.kvs = append(r.kvs, rawKV("tokenizer.ggml.tokens", ValueArray, cat(u32b(uint32(ValueString)), u64b(1<<62))))
		}), ErrTruncated, `"tokenizer.ggml.tokens": truncated: string array`},
		{"string array element past end", with(func(r *rawFile) {
			r.kvs = append(r.kvs, rawKV("t", ValueArray, cat(u32b(uint32(ValueString)), u64b(2), rawStr(nil, "ok"), u64b(1<<50))))
		}), ErrTruncated, "element 1"},
		{"unknown value type", with(func(r *rawFile) { r.kvs = append(r.kvs, rawKV("x", 13, u32b(0))) }), ErrFormat, "unknown value type 13"},
		{"unknown array type", with(func(r *rawFile) {
			r.kvs = append(r.kvs, rawKV("x", ValueArray, cat(u32b(99), u64b(0))))
		}), ErrFormat, "unknown array element type 99"},
		{"nested array", with(func(r *rawFile) {
			r.kvs = append(r.kvs, rawKV("x", ValueArray, cat(u32b(uint32(ValueArray)), u64b(0))))
		}), ErrFormat, "arrays of arrays"},
		{"bool 2", with(func(r *rawFile) { r.kvs = append(r.kvs, rawKV("x", ValueBool, []byte{2})) }), ErrFormat, "bool byte 2"},
		{"bool array 7", with(func(r *rawFile) {
			r.kvs = append(r.kvs, rawKV("x", ValueArray, cat(u32b(uint32(ValueBool)), u64b(2), []byte{1, 7})))
		}), ErrFormat, "element 1"},
		{"duplicate key", with(func(r *rawFile) { r.kvs = append(r.kvs, rawU32KV("bitnet.block_count", 2)) }), ErrFormat,
			`duplicate key "bitnet.block_count"`},
		{"alignment 48", with(func(r *rawFile) { r.kvs = append(r.kvs, rawU32KV(KeyAlignment, 48)) }), ErrFormat, "48 is not a power of two"},
		{"alignment 0", with(func(r *rawFile) { r.kvs = append(r.kvs, rawU32KV(KeyAlignment, 0)) }), ErrFormat, "not a power of two"},
		{"alignment uint64", with(func(r *rawFile) {
			r.kvs = append(r.kvs, rawKV(KeyAlignment, ValueUint64, u64b(32)))
		}), ErrFormat, "must be uint32"},
		{"tensor name past end", with(func(r *rawFile) { r.tensors[1].name = ""; r.data = nil }), nil, ""}, // placeholder, replaced below
		{"five dims", with(func(r *rawFile) { r.tensors[0].dims = []uint64{8, 1, 1, 1, 1} }), ErrFormat, `tensor #0 "a.weight": malformed GGUF: 5 dims`},
		{"element overflow", with(func(r *rawFile) { r.tensors[0].dims = []uint64{1 << 32, 1 << 32} }), ErrFormat, "element count"},
		{"element count over int64", with(func(r *rawFile) { r.tensors[0].dims = []uint64{1 << 63} }), ErrFormat, "element count"},
		{"size overflow", with(func(r *rawFile) { r.tensors[0].dims = []uint64{1 << 62} }), ErrFormat, `"a.weight"`},
		{"unknown tensor type", with(func(r *rawFile) { r.tensors[1].typ = 100 }), ErrUnsupportedType, `tensor "b.weight" ([8]): unsupported tensor type: unknown tensor type id 100`},
		{"removed Q4_0_4_4", with(func(r *rawFile) { r.tensors[1].typ = 31 }), ErrUnsupportedType, "Q4_0_4_4"},
		{"I8_S", with(func(r *rawFile) { r.tensors[1].typ = 37 }), ErrUnsupportedType, "I8_S"},
		{"TL1", with(func(r *rawFile) { r.tensors[1].typ = 38 }), ErrUnsupportedType, "TL1"},
		{"TL2 or MXFP4", with(func(r *rawFile) { r.tensors[1].typ = 39 }), ErrUnsupportedType, "TL2 in bitnet.cpp, MXFP4 in upstream"},
		{"ambiguous 36", with(func(r *rawFile) {
			// IQ4_NL_4_4 sizes: 256·4/32·18 = 576 bytes, not 256·4/4+32 = 288.
			r.tensors = []rawTensor{{name: "w", dims: []uint64{256, 4}, typ: 36}}
			r.data = make([]byte, 576)
		}), ErrUnsupportedType, `tensor "w" ([256 4]): unsupported tensor type: type id 36 is ambiguous`},
		{"ambiguous 36 not last", with(func(r *rawFile) {
			r.tensors = []rawTensor{{name: "w", dims: []uint64{256, 4}, typ: 36}, {name: "n", dims: []uint64{8}, typ: 0, off: 320}}
			r.data = make([]byte, 352)
		}), ErrUnsupportedType, "ambiguous"},
		{"I2_S truncated", with(func(r *rawFile) {
			r.tensors = []rawTensor{{name: "w", dims: []uint64{256, 4}, typ: 36}}
			r.data = make([]byte, 287)
		}), ErrTruncated, `tensor "w": truncated`},
		{"block size", with(func(r *rawFile) { r.tensors[0].typ = uint32(Q8_0) }), ErrFormat, "row length 8 of Q8_0 is not a multiple of its block size 32"},
		{"I2_S block size", with(func(r *rawFile) {
			r.kvs = append(r.kvs, rawU32KV(KeyFileType, FileTypeI2_S))
			r.tensors[0].typ = uint32(I2_S)
		}), ErrFormat, "block size 128"},
		{"offset not aligned", with(func(r *rawFile) { r.tensors[1].off = 36; r.data = append(r.data, make([]byte, 8)...) }), ErrFormat,
			`tensor "b.weight": malformed GGUF: offset 36 is not a multiple of the alignment 32`},
		{"offset not aligned 64", with(func(r *rawFile) {
			r.kvs = append(r.kvs, rawU32KV(KeyAlignment, 64))
			r.align = 64
		}), ErrFormat, "offset 32 is not a multiple of the alignment 64"},
		{"data past end", with(func(r *rawFile) { r.data = r.data[:40] }), ErrTruncated, `tensor "b.weight": truncated: data [32, +32) runs past the end`},
		{"offset past end", with(func(r *rawFile) { r.tensors[1].off = 1 << 63 }), ErrTruncated, "runs past the end"},
		{"offset overflow", with(func(r *rawFile) { r.tensors[1].off = ^uint64(31) }), ErrTruncated, "runs past the end"},
		{"no data section", with(func(r *rawFile) { r.data = nil }), ErrTruncated, "runs past the end"},
		{"data start past end", base[:len(base)-64-1], ErrTruncated, "data would start at offset"},
		{"truncated tensor info", base[:len(base)-64-20], ErrTruncated, `tensor #1 "b.weight"`},
		{"overlap", with(func(r *rawFile) { r.tensors[1].off = 0 }), ErrFormat, `tensors "a.weight" [0, +32) and "b.weight" [0, +32) overlap`},
		{"overlap partial", with(func(r *rawFile) {
			r.tensors[0].dims = []uint64{16}
			r.data = append(r.data, make([]byte, 32)...)
		}), ErrFormat, "overlap"},
		{"duplicate tensor", with(func(r *rawFile) { r.tensors[1].name = "a.weight" }), ErrFormat, `duplicate tensor name "a.weight"`},
		{"tensor name too long", with(func(r *rawFile) { r.tensors[1].name = strings.Repeat("n", 1<<16) }), ErrFormat, "tensor name length 65536 exceeds"},
	}
	// The placeholder above keeps the table readable; a name whose length
	// runs past the end is built by hand.
	for i := range tests {
		if tests[i].name == "tensor name past end" {
			b := with(func(r *rawFile) { r.tensors = r.tensors[:1]; r.nTensors = u64p(2); r.data = nil; r.align = 1 })
			tests[i].data = append(b, u64b(1000)...)
			tests[i].is, tests[i].substr = ErrTruncated, "tensor #1: truncated: tensor name"
		}
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f, err := Parse(tt.data, "bad.gguf")
			if err == nil {
				t.Fatalf("Parse succeeded: %d KVs, %d tensors", len(f.KVs), len(f.Tensors))
			}
			if !errors.Is(err, tt.is) {
				t.Errorf("error %q is not %v", err, tt.is)
			}
			if !strings.HasPrefix(err.Error(), "gguf: bad.gguf: ") || !strings.Contains(err.Error(), tt.substr) {
				t.Errorf("error %q, want the file name and %q", err, tt.substr)
			}
		})
	}
}

func TestOpenErrors(t *testing.T) {
	if _, err := Open(t.TempDir()); err == nil {
		t.Error("Open(directory) succeeded")
	}
	if _, err := Open("/nonexistent/x.gguf"); err == nil {
		t.Error("Open(missing) succeeded")
	}
}

func TestI2SDetection(t *testing.T) {
	tests := []struct {
		name string
		r    rawFile
	}{
		{"file_type 40 with a gap after the tensor", rawFile{
			kvs:     [][]byte{rawU32KV(KeyFileType, FileTypeI2_S)},
			tensors: []rawTensor{{name: "w", dims: []uint64{256, 4}, typ: 36}, {name: "n", dims: []uint64{8}, off: 1024}},
			data:    make([]byte, 1056),
		}},
		{"exact extent to the end of the file", rawFile{
			tensors: []rawTensor{{name: "w", dims: []uint64{256, 4}, typ: 36}},
			data:    i2sBytes(1024),
		}},
		{"exact extent before the next tensor, other file_type", rawFile{
			kvs:     [][]byte{rawU32KV(KeyFileType, 1)},
			tensors: []rawTensor{{name: "n", dims: []uint64{8}, off: 288}, {name: "w", dims: []uint64{256, 4}, typ: 36}},
			data:    append(i2sBytes(1024), make([]byte, 32)...),
		}},
		{"padded extent, alignment 64", rawFile{
			kvs:   [][]byte{rawU32KV(KeyAlignment, 64)},
			align: 64,
			tensors: []rawTensor{
				{name: "w", dims: []uint64{128, 2}, typ: 36}, // 96 bytes, padded to 128
				{name: "n", dims: []uint64{8}, off: 128},
			},
			data: make([]byte, 160),
		}},
	}
	for _, tt := range tests {
		f, err := Parse(tt.r.bytes(), tt.name)
		if err != nil {
			t.Errorf("%s: %v", tt.name, err)
			continue
		}
		w, _ := f.Tensor("w")
		if w.Type != I2_S || w.Size != w.NumElements()/4+32 {
			t.Errorf("%s: %+v", tt.name, w)
		}
	}

	// The official file with general.file_type rewritten: every I2_S tensor
	// must then be recognised by its extent alone.
	orig, err := Parse(repoFile(t, "golden-tiny.i2_s.gguf"), "i2_s")
	if err != nil {
		t.Fatal(err)
	}
	for _, drop := range []bool{false, true} {
		w := NewWriter()
		for _, kv := range orig.KVs {
			switch {
			case kv.Key != KeyFileType:
				w.AddKV(kv.Key, kv.Value)
			case !drop:
				w.AddKV(kv.Key, uint32(1))
			}
		}
		for _, ti := range orig.Tensors {
			if err := w.AddTensor(ti.Name, ti.Type, ti.Dims, orig.Data(ti)); err != nil {
				t.Fatal(err)
			}
		}
		f, err := Parse(writeBytes(t, w), "rewritten")
		if err != nil {
			t.Fatalf("drop=%v: %v", drop, err)
		}
		n := 0
		for _, ti := range f.Tensors {
			if ti.Type == I2_S {
				n++
			}
		}
		if n != 14 {
			t.Errorf("drop=%v: %d I2_S tensors, want 14", drop, n)
		}
	}
}

func TestGetters(t *testing.T) {
	w := NewWriter()
	for _, kv := range []KV{
		{"neg", int32(-1)}, {"small", int8(5)}, {"big", uint64(1 << 63)}, {"f32", float32(0.5)},
		{"u8s", []uint8{1, 255}}, {"i64s", []int64{-1, 1 << 31}}, {"u32s", []uint32{1 << 31}},
		{"i16s", []int16{-7, 7}}, {"i32s", []int32{3}}, {"s", "x"}, {"b", false}, {"ss", []string{"a"}},
		{"f32s", []float32{1}},
	} {
		if err := w.AddKV(kv.Key, kv.Value); err != nil {
			t.Fatal(err)
		}
	}
	f, err := Parse(writeBytes(t, w), "getters")
	if err != nil {
		t.Fatal(err)
	}
	check := func(what string, got, want any, ok, wantOK bool) {
		t.Helper()
		if ok != wantOK || (wantOK && !equalAny(got, want)) {
			t.Errorf("%s = %v, %v; want %v, %v", what, got, ok, want, wantOK)
		}
	}
	u, ok := f.Uint("neg")
	check("Uint(neg)", u, uint64(0), ok, false)
	u, ok = f.Uint("small")
	check("Uint(small)", u, uint64(5), ok, true)
	i, ok := f.Int("big")
	check("Int(big)", i, int64(0), ok, false)
	i, ok = f.Int("neg")
	check("Int(neg)", i, int64(-1), ok, true)
	u, ok = f.Uint("big")
	check("Uint(big)", u, uint64(1<<63), ok, true)
	fl, ok := f.Float("f32")
	check("Float(f32)", fl, 0.5, ok, true)
	_, ok = f.Float("small")
	check("Float(small)", nil, nil, ok, false)
	is, ok := f.Int32s("u8s")
	check("Int32s(u8s)", is, []int32{1, 255}, ok, true)
	is, ok = f.Int32s("i16s")
	check("Int32s(i16s)", is, []int32{-7, 7}, ok, true)
	is, ok = f.Int32s("i32s")
	check("Int32s(i32s)", is, []int32{3}, ok, true)
	_, ok = f.Int32s("i64s")
	check("Int32s(i64s)", nil, nil, ok, false)
	_, ok = f.Int32s("u32s")
	check("Int32s(u32s)", nil, nil, ok, false)
	_, ok = f.Int32s("f32s")
	check("Int32s(f32s)", nil, nil, ok, false)
	s, ok := f.String("s")
	check("String(s)", s, "x", ok, true)
	_, ok = f.String("small")
	check("String(small)", nil, nil, ok, false)
	b, ok := f.Bool("b")
	check("Bool(b)", b, false, ok, true)
	ss, ok := f.Strings("ss")
	check("Strings(ss)", ss, []string{"a"}, ok, true)
	fs, ok := f.Float32s("f32s")
	check("Float32s(f32s)", fs, []float32{1}, ok, true)
	_, ok = f.Get("missing")
	check("Get(missing)", nil, nil, ok, false)
	_, ok = f.Uint("missing")
	check("Uint(missing)", nil, nil, ok, false)
	if f.Arch() != "" {
		t.Errorf("Arch() = %q without general.architecture", f.Arch())
	}
	if typ, elem := f.KVs[4].Type(); typ != ValueArray || elem != ValueUint8 {
		t.Errorf("KV.Type() = %v, %v", typ, elem)
	}
}

func equalAny(a, b any) bool {
	switch x := a.(type) {
	case []int32:
		y, _ := b.([]int32)
		return len(x) == len(y) && string(binaryOf(x)) == string(binaryOf(y))
	case []string:
		y, _ := b.([]string)
		return strings.Join(x, "\x00") == strings.Join(y, "\x00") && len(x) == len(y)
	case []float32:
		y, _ := b.([]float32)
		return len(x) == len(y) && (len(x) == 0 || x[0] == y[0])
	}
	return a == b
}

func binaryOf(v []int32) []byte {
	var b []byte
	for _, x := range v {
		b = binary.LittleEndian.AppendUint32(b, uint32(x))
	}
	return b
}

func TestDataAfterClose(t *testing.T) {
	f, err := Open(repoFilePath(t, "golden-tiny.tq2_0.gguf"))
	if err != nil {
		t.Fatal(err)
	}
	ti := f.Tensors[0]
	if f.Data(ti) == nil {
		t.Fatal("nil data before Close")
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	if f.Data(ti) != nil {
		t.Error("Data after Close is not nil")
	}
	if err := f.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}
	g, _ := Parse(baseFile().bytes(), "x")
	for _, bad := range []*TensorInfo{{Offset: 1 << 63, Size: 1 << 63}, {Offset: 0, Size: 1 << 20}} {
		if g.Data(bad) != nil {
			t.Errorf("Data(%+v) is not nil", bad)
		}
	}
}

// TestTruncationSweep parses every prefix and a one-byte corruption at every
// header position of a file that uses every KV type: none may panic, and
// every prefix that cuts into the last tensor's data must fail.
func TestTruncationSweep(t *testing.T) {
	data := writeBytes(t, buildSynth(t, 0, allKVs))
	f, err := Parse(data, "full")
	if err != nil {
		t.Fatal(err)
	}
	last := f.Tensors[len(f.Tensors)-1]
	minLen := int(f.DataOffset + last.Offset + last.Size)
	for n := range len(data) {
		_, err := Parse(data[:n], "prefix")
		if n < minLen && err == nil {
			t.Fatalf("prefix of %d bytes (data ends at %d) parsed", n, minLen)
		}
	}
	buf := make([]byte, len(data))
	for i := range int(f.DataOffset) {
		for _, v := range []byte{0xff, 0x00, 0x80, data[i] + 1} {
			copy(buf, data)
			buf[i] = v
			Parse(buf, "corrupt")
		}
	}
}
