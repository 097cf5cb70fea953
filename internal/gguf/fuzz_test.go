package gguf

import (
	"bytes"
	"flag"
	"reflect"
	"testing"
)

func fuzzing() bool {
	fl := flag.Lookup("test.fuzz")
	return fl != nil && fl.Value.String() != ""
}

// miniature rewrites a real file with the same keys, value types, tensor
// names and types, but arrays cut to 8 elements and every tensor shrunk to
// one block, so that the fuzzer mutates realistic structure at a size it
// can iterate on quickly.
func miniature(tb testing.TB, f *File) []byte {
	w := NewWriter()
	for _, kv := range f.KVs {
		v := reflect.ValueOf(kv.Value)
		if v.Kind() == reflect.Slice && v.Len() > 8 {
			v = v.Slice(0, 8)
		}
		if err := w.AddKV(kv.Key, v.Interface()); err != nil {
			tb.Fatal(err)
		}
	}
	for _, ti := range f.Tensors {
		dims := []uint64{uint64(ti.Type.BlockSize())}
		if len(ti.Dims) > 1 {
			dims = append(dims, 1)
		}
		size, err := TensorBytes(ti.Type, dims)
		if err != nil {
			tb.Fatal(err)
		}
		if err := w.AddTensor(ti.Name, ti.Type, dims, pattern(int(size), byte(len(ti.Name)))); err != nil {
			tb.Fatal(err)
		}
	}
	return writeBytes(tb, w)
}

func FuzzParse(f *testing.F) {
	f.Add(baseFile().bytes())
	f.Add(writeBytes(f, buildSynth(f, 0, allKVs)))
	f.Add(writeBytes(f, buildSynth(f, 64, allKVs[:3])))
	for _, name := range repoFiles {
		data := repoFile(f, name)
		real, err := Parse(data, name)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(miniature(f, real))
		if !fuzzing() {
			// The fuzzer spends up to a minute minimising each new input
			// found from a multi-MB seed, so the whole files only run as
			// plain seeds under go test.
			f.Add(data)
			f.Add(data[:real.DataOffset]) // header only: fails at the tensor data
		}
	}

	f.Fuzz(func(t *testing.T, data []byte) {
		g, err := Parse(data, "fuzz")
		if err != nil {
			return
		}
		for _, ti := range g.Tensors {
			d := g.Data(ti)
			if uint64(len(d)) != ti.Size || ti.Offset%g.Alignment != 0 {
				t.Fatalf("%s: %d data bytes, Size %d, offset %d, alignment %d", ti.Name, len(d), ti.Size, ti.Offset, g.Alignment)
			}
		}
		// Rewriting a file the reader accepted must work, and rewriting the
		// rewrite must give the same bytes. Huge alignments are skipped only
		// because their padding would make each iteration slow.
		if g.Alignment*uint64(len(g.Tensors)+1) > 1<<20 {
			return
		}
		out1 := rewrite(t, g)
		g2, err := Parse(out1, "rewrite")
		if err != nil {
			t.Fatalf("rewritten file does not parse: %v", err)
		}
		if len(g2.KVs) != len(g.KVs) || len(g2.Tensors) != len(g.Tensors) {
			t.Fatalf("rewrite has %d KVs, %d tensors; want %d, %d", len(g2.KVs), len(g2.Tensors), len(g.KVs), len(g.Tensors))
		}
		for i, ti := range g.Tensors {
			t2 := g2.Tensors[i]
			if t2.Name != ti.Name || t2.Type != ti.Type || !bytes.Equal(g2.Data(t2), g.Data(ti)) {
				t.Fatalf("tensor %d: %+v became %+v", i, ti, t2)
			}
		}
		if out2 := rewrite(t, g2); !bytes.Equal(out1, out2) {
			t.Fatal("rewriting is not idempotent")
		}
	})
}

func rewrite(t *testing.T, g *File) []byte {
	w := NewWriter()
	for _, kv := range g.KVs {
		if err := w.AddKV(kv.Key, kv.Value); err != nil {
			t.Fatalf("AddKV(%q): %v", kv.Key, err)
		}
	}
	for _, ti := range g.Tensors {
		if err := w.AddTensor(ti.Name, ti.Type, ti.Dims, g.Data(ti)); err != nil {
			t.Fatalf("AddTensor(%q): %v", ti.Name, err)
		}
	}
	return writeBytes(t, w)
}
