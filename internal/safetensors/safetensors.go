// Package safetensors reads Hugging Face safetensors files over a read-only
// mapping, with strict checks of the header against the file, and resolves
// sharded checkpoints through model.safetensors.index.json.
package safetensors

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"slices"
	"sort"

	"github.com/bitnet-go/bitnet/internal/mmapfile"
)

// maxHeader is the limit HF's own implementation enforces.
const maxHeader = 100 << 20

// DType is a safetensors element type.
type DType string

// Element types found in BitNet checkpoints (others are rejected on use,
// not on open, so a file with an exotic unused tensor still loads).
const (
	F32  DType = "F32"
	F16  DType = "F16"
	BF16 DType = "BF16"
	U8   DType = "U8"
	I8   DType = "I8"
	F64  DType = "F64"
	I32  DType = "I32"
	I64  DType = "I64"
	BOOL DType = "BOOL"
)

// Size returns the bytes per element, or 0 for an unknown type.
func (d DType) Size() int {
	switch d {
	case F64, I64, "U64":
		return 8
	case F32, I32, "U32":
		return 4
	case F16, BF16, "I16", "U16":
		return 2
	case U8, I8, BOOL, "F8_E4M3", "F8_E5M2":
		return 1
	}
	return 0
}

// Tensor is one tensor of a file: its type, shape and bytes (a view of the
// mapping, valid until the file is closed).
type Tensor struct {
	Name  string
	DType DType
	Shape []int
	Data  []byte
	File  string
}

// NumElements returns the product of the shape.
func (t *Tensor) NumElements() int {
	n := 1
	for _, d := range t.Shape {
		n *= d
	}
	return n
}

// File is one mapped safetensors file.
type File struct {
	Path     string
	Metadata map[string]string
	Tensors  map[string]*Tensor
	Names    []string // in data order
	m        *mmapfile.File
}

type headerEntry struct {
	DType       DType    `json:"dtype"`
	Shape       []int64  `json:"shape"`
	DataOffsets []uint64 `json:"data_offsets"`
}

// Open maps and validates path.
func Open(path string) (*File, error) {
	m, err := mmapfile.Open(path)
	if err != nil {
		return nil, err
	}
	f, err := parse(m.Data(), path)
	if err != nil {
		m.Close()
		return nil, err
	}
	f.m = m
	return f, nil
}

// Parse validates a safetensors image held in memory.
func Parse(data []byte, name string) (*File, error) { return parse(data, name) }

func parse(data []byte, path string) (*File, error) {
	if len(data) < 8 {
		return nil, fmt.Errorf("%s: truncated safetensors file: %d bytes, need at least 8 for the header length", path, len(data))
	}
	n := binary.LittleEndian.Uint64(data)
	if n > maxHeader {
		return nil, fmt.Errorf("%s: header length %d exceeds the %d-byte limit (corrupt file?)", path, n, maxHeader)
	}
	if n > uint64(len(data)-8) {
		return nil, fmt.Errorf("%s: header length %d runs past the end of the %d-byte file (truncated?)", path, n, len(data))
	}
	hdr := data[8 : 8+n]
	if len(bytes.TrimSpace(hdr)) == 0 || bytes.TrimSpace(hdr)[0] != '{' {
		return nil, fmt.Errorf("%s: not a safetensors file (header is not a JSON object)", path)
	}
	var raw map[string]json.RawMessage
	if err := json.Unmarshal(hdr, &raw); err != nil {
		return nil, fmt.Errorf("%s: malformed safetensors header: %v", path, err)
	}
	body := data[8+n:]
	f := &File{Path: path, Tensors: map[string]*Tensor{}}
	type span struct {
		b, e uint64
		name string
	}
	var spans []span
	for name, msg := range raw {
		if name == "__metadata__" {
			if err := json.Unmarshal(msg, &f.Metadata); err != nil {
				return nil, fmt.Errorf("%s: __metadata__: %v", path, err)
			}
			continue
		}
		var e headerEntry
		dec := json.NewDecoder(bytes.NewReader(msg))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&e); err != nil {
			return nil, fmt.Errorf("%s: tensor %q: %v", path, name, err)
		}
		if len(e.DataOffsets) != 2 {
			return nil, fmt.Errorf("%s: tensor %q: data_offsets must have 2 entries, has %d", path, name, len(e.DataOffsets))
		}
		b, end := e.DataOffsets[0], e.DataOffsets[1]
		if b > end {
			return nil, fmt.Errorf("%s: tensor %q: data_offsets [%d,%d] are reversed", path, name, b, end)
		}
		if end > uint64(len(body)) {
			return nil, fmt.Errorf("%s: tensor %q: data [%d,%d) runs past the end of the data section (%d bytes; truncated file?)", path, name, b, end, len(body))
		}
		size := e.DType.Size()
		if size == 0 {
			return nil, fmt.Errorf("%s: tensor %q: unknown dtype %q", path, name, e.DType)
		}
		elems := uint64(1)
		shape := make([]int, len(e.Shape))
		for i, d := range e.Shape {
			if d < 0 || (d > 0 && elems > math.MaxInt32*uint64(256)/uint64(d)) {
				return nil, fmt.Errorf("%s: tensor %q: invalid shape %v", path, name, e.Shape)
			}
			elems *= uint64(d)
			shape[i] = int(d)
		}
		if elems*uint64(size) != end-b {
			return nil, fmt.Errorf("%s: tensor %q: shape %v of %s needs %d bytes but data_offsets give %d", path, name, e.Shape, e.DType, elems*uint64(size), end-b)
		}
		f.Tensors[name] = &Tensor{Name: name, DType: e.DType, Shape: shape, Data: body[b:end:end], File: path}
		spans = append(spans, span{b, end, name})
	}
	sort.Slice(spans, func(i, j int) bool {
		if spans[i].b != spans[j].b {
			return spans[i].b < spans[j].b
		}
		return spans[i].name < spans[j].name
	})
	for i := 1; i < len(spans); i++ {
		if spans[i].b < spans[i-1].e {
			return nil, fmt.Errorf("%s: tensors %q and %q overlap ([%d,%d) and [%d,%d))", path, spans[i-1].name, spans[i].name, spans[i-1].b, spans[i-1].e, spans[i].b, spans[i].e)
		}
	}
	for _, s := range spans {
		f.Names = append(f.Names, s.name)
	}
	return f, nil
}

// Close unmaps the file.
func (f *File) Close() error {
	if f.m == nil {
		return nil
	}
	return f.m.Close()
}

// MappedBytes returns the size of the mapping.
func (f *File) MappedBytes() int64 {
	if f.m == nil {
		return 0
	}
	return int64(f.m.Len())
}

// Checkpoint is a model folder's tensors, from one file or several shards.
type Checkpoint struct {
	Files   []*File
	tensors map[string]*Tensor
}

// OpenDir opens model.safetensors in dir, or the shards listed in
// model.safetensors.index.json.
func OpenDir(dir string) (*Checkpoint, error) {
	idxPath := filepath.Join(dir, "model.safetensors.index.json")
	var names []string
	if b, err := os.ReadFile(idxPath); err == nil {
		var idx struct {
			WeightMap map[string]string `json:"weight_map"`
		}
		if err := json.Unmarshal(b, &idx); err != nil {
			return nil, fmt.Errorf("%s: %v", idxPath, err)
		}
		if len(idx.WeightMap) == 0 {
			return nil, fmt.Errorf("%s: weight_map is empty", idxPath)
		}
		seen := map[string]bool{}
		for _, shard := range idx.WeightMap {
			if shard != filepath.Base(shard) || shard == "." || shard == ".." {
				return nil, fmt.Errorf("%s: shard name %q must be a plain file name", idxPath, shard)
			}
			if !seen[shard] {
				seen[shard] = true
				names = append(names, shard)
			}
		}
		slices.Sort(names)
	} else {
		names = []string{"model.safetensors"}
	}
	c := &Checkpoint{tensors: map[string]*Tensor{}}
	for _, n := range names {
		f, err := Open(filepath.Join(dir, n))
		if err != nil {
			c.Close()
			return nil, err
		}
		c.Files = append(c.Files, f)
		for name, t := range f.Tensors {
			if prev, dup := c.tensors[name]; dup {
				c.Close()
				return nil, fmt.Errorf("tensor %q appears in both %s and %s", name, prev.File, f.Path)
			}
			c.tensors[name] = t
		}
	}
	return c, nil
}

// Tensor returns a tensor by name.
func (c *Checkpoint) Tensor(name string) (*Tensor, bool) {
	t, ok := c.tensors[name]
	return t, ok
}

// Names returns all tensor names, sorted.
func (c *Checkpoint) Names() []string {
	out := make([]string, 0, len(c.tensors))
	for n := range c.tensors {
		out = append(out, n)
	}
	slices.Sort(out)
	return out
}

// MappedBytes returns the total size of the mapped shards.
func (c *Checkpoint) MappedBytes() int64 {
	var n int64
	for _, f := range c.Files {
		n += f.MappedBytes()
	}
	return n
}

// Close unmaps every shard.
func (c *Checkpoint) Close() error {
	var first error
	for _, f := range c.Files {
		if err := f.Close(); err != nil && first == nil {
			first = err
		}
	}
	return first
}
