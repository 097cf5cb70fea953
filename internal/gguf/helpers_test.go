package gguf

import (
	"bytes"
	"compress/bzip2"
	"encoding/binary"
	"io"
	"os"
	"path/filepath"
	"sync"
	"testing"
)

// repoFiles are the bzip2 copies in testdata/gguf; they make the real-file
// tests independent of the shared folder.
var repoFiles = []string{"golden-tiny.i2_s.gguf", "golden-tiny.tq2_0.gguf"}

var (
	repoMu    sync.Mutex
	repoCache = map[string][]byte{}
)

// repoFile returns the decompressed bytes of testdata/gguf/<name>.bz2.
// Decompression is cached because several tests and the fuzz seeds use the
// same files.
func repoFile(tb testing.TB, name string) []byte {
	tb.Helper()
	repoMu.Lock()
	defer repoMu.Unlock()
	if b, ok := repoCache[name]; ok {
		return b
	}
	f, err := os.Open(filepath.Join("..", "..", "testdata", "gguf", name+".bz2"))
	if err != nil {
		tb.Fatal(err)
	}
	defer f.Close()
	b, err := io.ReadAll(bzip2.NewReader(f))
	if err != nil {
		tb.Fatalf("%s: %v", name, err)
	}
	repoCache[name] = b
	return b
}

// repoFilePath writes a repo file into a temporary directory so that Open
// (and therefore mmap) is exercised.
func repoFilePath(tb testing.TB, name string) string {
	tb.Helper()
	p := filepath.Join(tb.TempDir(), name)
	if err := os.WriteFile(p, repoFile(tb, name), 0o644); err != nil {
		tb.Fatal(err)
	}
	return p
}

// goldenDir finds the shared golden folder: $BITNET_GOLDEN_DIR, or a
// shared/testdata/golden next to the repository or any parent of it.
func goldenDir() string {
	if d := os.Getenv("BITNET_GOLDEN_DIR"); d != "" {
		return d
	}
	dir, err := os.Getwd()
	if err != nil {
		return ""
	}
	for {
		d := filepath.Join(dir, "shared", "testdata", "golden")
		if st, err := os.Stat(d); err == nil && st.IsDir() {
			return d
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return ""
		}
		dir = parent
	}
}

// rawFile assembles GGUF bytes without any of Writer's checks, so that tests
// can build exactly the malformed input they need.
type rawFile struct {
	magic    string // "GGUF" if empty
	version  uint32 // 3 if 0
	nKV      *uint64
	nTensors *uint64
	kvs      [][]byte
	tensors  []rawTensor
	align    uint64 // padding of the data section start; 32 if 0
	data     []byte // the data section
}

type rawTensor struct {
	name string
	dims []uint64
	typ  uint32
	off  uint64
}

func u64p(v uint64) *uint64 { return &v }

func (r rawFile) bytes() []byte {
	le := binary.LittleEndian
	b := []byte(r.magic)
	if r.magic == "" {
		b = []byte("GGUF")
	}
	v := r.version
	if v == 0 {
		v = 3
	}
	b = le.AppendUint32(b, v)
	nt, nkv := uint64(len(r.tensors)), uint64(len(r.kvs))
	if r.nTensors != nil {
		nt = *r.nTensors
	}
	if r.nKV != nil {
		nkv = *r.nKV
	}
	b = le.AppendUint64(b, nt)
	b = le.AppendUint64(b, nkv)
	for _, kv := range r.kvs {
		b = append(b, kv...)
	}
	for _, t := range r.tensors {
		b = rawStr(b, t.name)
		b = le.AppendUint32(b, uint32(len(t.dims)))
		for _, d := range t.dims {
			b = le.AppendUint64(b, d)
		}
		b = le.AppendUint32(b, t.typ)
		b = le.AppendUint64(b, t.off)
	}
	a := r.align
	if a == 0 {
		a = 32
	}
	for uint64(len(b))%a != 0 {
		b = append(b, 0)
	}
	return append(b, r.data...)
}

func rawStr(b []byte, s string) []byte {
	b = binary.LittleEndian.AppendUint64(b, uint64(len(s)))
	return append(b, s...)
}

// rawKV encodes a key, a value type and an already encoded payload.
func rawKV(key string, typ ValueType, payload []byte) []byte {
	b := rawStr(nil, key)
	b = binary.LittleEndian.AppendUint32(b, uint32(typ))
	return append(b, payload...)
}

func rawU32KV(key string, v uint32) []byte {
	return rawKV(key, ValueUint32, binary.LittleEndian.AppendUint32(nil, v))
}

func rawStrKV(key, v string) []byte { return rawKV(key, ValueString, rawStr(nil, v)) }

// writeBytes runs a Writer into memory.
func writeBytes(tb testing.TB, w *Writer) []byte {
	tb.Helper()
	var buf bytes.Buffer
	if _, err := w.WriteTo(&buf); err != nil {
		tb.Fatal(err)
	}
	return buf.Bytes()
}

// pattern returns n deterministic, non-zero-ish bytes so that misplaced
// data shows up in comparisons.
func pattern(n int, seed byte) []byte {
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(i*7) + seed
	}
	return b
}

// i2sBytes returns a valid-looking I2_S payload for n weights: codes in
// {0,1,2}, a scale, zero padding.
func i2sBytes(n int) []byte {
	b := make([]byte, n/4+32)
	for i := range n / 4 {
		b[i] = byte(i%3)<<6 | byte((i+1)%3)<<4 | byte((i+2)%3)<<2 | byte(i%3)
	}
	binary.LittleEndian.PutUint32(b[n/4:], 0x3f800000) // 1.0
	return b
}
