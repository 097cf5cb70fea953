package gguf

import (
	"bytes"
	"errors"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// allKVs has one value of every supported type, including empty arrays,
// whose element type must survive the round trip too.
var allKVs = []KV{
	{"general.architecture", "bitnet-b1.58"},
	{"u8", uint8(200)}, {"i8", int8(-100)}, {"u16", uint16(60000)}, {"i16", int16(-30000)},
	{"u32", uint32(4000000000)}, {"i32", int32(-2000000000)}, {"f32", float32(1e-5)},
	{"bool", true}, {"empty string", ""}, {"u64", uint64(1 << 63)}, {"i64", int64(-1 << 62)},
	{"f64", 0.1},
	{"a.u8", []uint8{1, 2, 3}}, {"a.i8", []int8{-1, 2}}, {"a.u16", []uint16{1, 65535}},
	{"a.i16", []int16{-5}}, {"a.u32", []uint32{7, 8}}, {"a.i32", []int32{-1, 1, 3}},
	{"a.f32", []float32{0.5, -2}}, {"a.bool", []bool{true, false, true}},
	{"a.str", []string{"Ā", "", "h e"}}, {"a.u64", []uint64{1 << 40}}, {"a.i64", []int64{-1 << 40}},
	{"a.f64", []float64{1.5}}, {"a.empty", []string{}}, {"a.empty32", []float32{}},
}

type synthTensor struct {
	name string
	typ  Type
	dims []uint64
	data []byte
}

func synthTensors() []synthTensor {
	return []synthTensor{
		{"token_embd.weight", F16, []uint64{256, 3}, pattern(256*3*2, 1)},
		{"odd.weight", F32, []uint64{3}, pattern(12, 2)}, // 12 bytes: forces padding
		{"blk.0.attn_q.weight", I2_S, []uint64{256, 8}, i2sBytes(256 * 8)},
		{"q8", Q8_0, []uint64{64, 2}, pattern(4*34, 3)},
		{"tq2", TQ2_0, []uint64{256, 1}, pattern(66, 4)},
		{"empty", F32, []uint64{0}, nil},
		{"scalar", F32, nil, pattern(4, 5)},
		{"i2s.last", I2_S, []uint64{128, 1}, i2sBytes(128)},
	}
}

func buildSynth(t testing.TB, align uint32, kvs []KV) *Writer {
	w := NewWriter()
	if align != 0 {
		if err := w.AddKV(KeyAlignment, align); err != nil {
			t.Fatal(err)
		}
	}
	for _, kv := range kvs {
		if err := w.AddKV(kv.Key, kv.Value); err != nil {
			t.Fatal(err)
		}
	}
	for _, st := range synthTensors() {
		if err := w.AddTensor(st.name, st.typ, st.dims, st.data); err != nil {
			t.Fatal(err)
		}
	}
	return w
}

func TestWriterRoundTrip(t *testing.T) {
	for _, align := range []uint32{0, 1, 64, 4096} {
		w := buildSynth(t, align, allKVs)
		var calls [][2]int64
		w.SetProgress(func(done, total int64) { calls = append(calls, [2]int64{done, total}) })
		data := writeBytes(t, w)
		f, err := Parse(data, "synth")
		if err != nil {
			t.Fatalf("align %d: %v", align, err)
		}
		wantAlign := uint64(align)
		wantKVs := allKVs
		if align == 0 {
			wantAlign = DefaultAlignment
		} else {
			wantKVs = append([]KV{{KeyAlignment, align}}, allKVs...)
		}
		if f.Alignment != wantAlign || f.DataOffset%wantAlign != 0 {
			t.Errorf("align %d: Alignment %d DataOffset %d", align, f.Alignment, f.DataOffset)
		}
		if d := cmp.Diff(wantKVs, f.KVs); d != "" {
			t.Errorf("align %d: KVs (-want +got):\n%s", align, d)
		}
		sts := synthTensors()
		if len(f.Tensors) != len(sts) {
			t.Fatalf("%d tensors", len(f.Tensors))
		}
		// No general.file_type here: the I2_S tensors are recognised by
		// their extents, including the last one (extent = rest of file).
		for i, st := range sts {
			ti := f.Tensors[i]
			if ti.Name != st.name || ti.Type != st.typ || !slices.Equal(ti.Dims, st.dims) {
				t.Errorf("tensor %d: %+v, want %s %v %v", i, ti, st.name, st.typ, st.dims)
			}
			if ti.Offset%wantAlign != 0 {
				t.Errorf("%s: offset %d not aligned to %d", ti.Name, ti.Offset, wantAlign)
			}
			if !bytes.Equal(f.Data(ti), st.data) {
				t.Errorf("%s: data differs", ti.Name)
			}
		}
		last := f.Tensors[len(f.Tensors)-1]
		wantSize, _ := alignUp(f.DataOffset+last.Offset+last.Size, wantAlign)
		if uint64(len(data)) != wantSize {
			t.Errorf("align %d: file size %d, want %d (last tensor padded)", align, len(data), wantSize)
		}
		if len(calls) == 0 || calls[len(calls)-1] != [2]int64{int64(len(data)), int64(len(data))} {
			t.Errorf("align %d: progress calls %v, want the last to be done == total == %d", align, calls, len(data))
		}
	}
}

func TestWriterPaddingIsZero(t *testing.T) {
	w := NewWriter()
	w.AddKV("k", "v")
	w.AddTensor("a", F32, []uint64{1}, []byte{1, 2, 3, 4})
	w.AddTensor("b", F32, []uint64{1}, []byte{5, 6, 7, 8})
	data := writeBytes(t, w)
	f, err := Parse(data, "pad")
	if err != nil {
		t.Fatal(err)
	}
	a, b := f.Tensors[0], f.Tensors[1]
	if a.Offset != 0 || b.Offset != 32 || len(data) != int(f.DataOffset)+64 {
		t.Fatalf("offsets %d %d, size %d, data at %d", a.Offset, b.Offset, len(data), f.DataOffset)
	}
	want := make([]byte, 64)
	copy(want, []byte{1, 2, 3, 4})
	copy(want[32:], []byte{5, 6, 7, 8})
	if !bytes.Equal(data[f.DataOffset:], want) {
		t.Errorf("data section %x", data[f.DataOffset:])
	}
}

func TestWriterNoTensors(t *testing.T) {
	w := NewWriter()
	w.AddKV("general.architecture", "x")
	data := writeBytes(t, w)
	if len(data)%32 != 0 {
		t.Errorf("header of %d bytes not padded", len(data))
	}
	f, err := Parse(data, "kvonly")
	if err != nil || f.Arch() != "x" || len(f.Tensors) != 0 {
		t.Fatalf("%v %+v", err, f)
	}
	// Files that end right after the KVs (no padding) are accepted too.
	raw := rawFile{kvs: [][]byte{rawStrKV("general.architecture", "x")}, align: 1}.bytes()
	if len(raw)%32 == 0 {
		t.Fatal("test file happens to be padded")
	}
	if _, err := Parse(raw, "unpadded"); err != nil {
		t.Errorf("unpadded tensor-less file: %v", err)
	}
}

func TestWriterSetKV(t *testing.T) {
	w := NewWriter()
	w.AddKV("a", uint32(1))
	w.AddKV("b", uint32(2))
	if err := w.SetKV("a", "x"); err != nil {
		t.Fatal(err)
	}
	w.SetKV("c", true)
	f, err := Parse(writeBytes(t, w), "set")
	if err != nil {
		t.Fatal(err)
	}
	want := []KV{{"a", "x"}, {"b", uint32(2)}, {"c", true}}
	if d := cmp.Diff(want, f.KVs); d != "" {
		t.Errorf("(-want +got):\n%s", d)
	}
}

func TestWriterErrors(t *testing.T) {
	w := NewWriter()
	w.AddKV("dup", "x")
	w.AddTensor("t", F32, []uint64{1}, make([]byte, 4))
	tests := []struct {
		name string
		err  error
		want string
	}{
		{"duplicate key", w.AddKV("dup", "y"), "duplicate key"},
		{"int", w.AddKV("n", 5), "unsupported value type int"},
		{"nested", w.AddKV("n", [][]string{}), "unsupported value type"},
		{"alignment type", w.AddKV(KeyAlignment, uint64(32)), "uint32 power of two"},
		{"alignment value", w.AddKV(KeyAlignment, uint32(48)), "uint32 power of two"},
		{"long key", w.AddKV(strings.Repeat("k", 1<<16), "x"), "exceeds"},
		{"duplicate tensor", w.AddTensor("t", F32, []uint64{1}, make([]byte, 4)), "duplicate tensor"},
		{"size", w.AddTensor("u", F16, []uint64{4}, make([]byte, 4)), "needs 8"},
		{"block", w.AddTensor("u", Q8_0, []uint64{16}, make([]byte, 34)), "block size"},
		{"type", w.AddTensor("u", TL2, []uint64{256}, nil), "MXFP4"},
		{"dims", w.AddTensor("u", F32, []uint64{1, 1, 1, 1, 1}, make([]byte, 4)), "dims"},
		{"overflow", w.AddTensor("u", F32, []uint64{1 << 32, 1 << 32}, nil), "overflows"},
		{"nil func", w.AddTensorFunc("u", F32, []uint64{1}, nil), "nil write"},
		{"empty key", w.AddKV("", "x"), "empty key"},
		{"empty name", w.AddTensor("", F32, []uint64{1}, make([]byte, 4)), "empty tensor name"},
	}
	for _, tt := range tests {
		if tt.err == nil || !strings.Contains(tt.err.Error(), tt.want) {
			t.Errorf("%s: error %v, want one containing %q", tt.name, tt.err, tt.want)
		}
	}
}

func TestWriterTensorFunc(t *testing.T) {
	data := pattern(40, 9)
	for _, tt := range []struct {
		name  string
		write func(io.Writer) error
		want  string
	}{
		{"exact", func(w io.Writer) error { _, err := w.Write(data); return err }, ""},
		{"chunks", func(w io.Writer) error {
			for i := 0; i < len(data); i += 7 {
				if _, err := w.Write(data[i:min(i+7, len(data))]); err != nil {
					return err
				}
			}
			return nil
		}, ""},
		{"short", func(w io.Writer) error { _, err := w.Write(data[:39]); return err }, "wrote 39 of 40"},
		{"long", func(w io.Writer) error { _, err := w.Write(append(data, 0)); return err }, "more than the tensor size"},
		{"fails", func(io.Writer) error { return errors.New("boom") }, "boom"},
	} {
		w := NewWriter()
		if err := w.AddTensorFunc("t", F32, []uint64{10}, tt.write); err != nil {
			t.Fatal(err)
		}
		var buf bytes.Buffer
		_, err := w.WriteTo(&buf)
		if tt.want != "" {
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("%s: error %v, want %q", tt.name, err, tt.want)
			}
			continue
		}
		if err != nil {
			t.Fatalf("%s: %v", tt.name, err)
		}
		f, err := Parse(buf.Bytes(), tt.name)
		if err != nil || !bytes.Equal(f.Data(f.Tensors[0]), data) {
			t.Errorf("%s: %v", tt.name, err)
		}
	}
}

// TestWriteFileAtomic checks that a failed write leaves neither a partial
// file nor a temporary file behind, and keeps an existing file intact.
func TestWriteFileAtomic(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "model.gguf")
	good := buildSynth(t, 0, allKVs)
	if err := good.WriteFile(path); err != nil {
		t.Fatal(err)
	}
	before, _ := os.ReadFile(path)
	if f, err := Open(path); err != nil {
		t.Fatal(err)
	} else {
		f.Close()
	}

	bad := NewWriter()
	bad.AddKV("k", "v")
	bad.AddTensor("a", F32, []uint64{1 << 20}, make([]byte, 4<<20))
	bad.AddTensorFunc("b", F32, []uint64{4}, func(w io.Writer) error {
		w.Write(make([]byte, 8))
		return errors.New("interrupted")
	})
	if err := bad.WriteFile(path); err == nil || !strings.Contains(err.Error(), "interrupted") {
		t.Fatalf("WriteFile error %v", err)
	}
	after, _ := os.ReadFile(path)
	if !bytes.Equal(before, after) {
		t.Error("failed write changed the existing file")
	}
	if err := bad.WriteFile(filepath.Join(dir, "new.gguf")); err == nil {
		t.Fatal("want error")
	}
	entries, _ := os.ReadDir(dir)
	if len(entries) != 1 || entries[0].Name() != "model.gguf" {
		var names []string
		for _, e := range entries {
			names = append(names, e.Name())
		}
		t.Errorf("directory holds %v, want only model.gguf", names)
	}
	if err := good.WriteFile(filepath.Join(dir, "missing", "x.gguf")); err == nil {
		t.Error("writing into a missing directory succeeded")
	}
}
