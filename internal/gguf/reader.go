// Package gguf reads and writes GGUF (v2 and v3) model files, including the
// bitnet.cpp fork's I2_S tensors.
//
// The reader treats every file as hostile: all counts and lengths are checked
// against the bytes that are actually left before anything is allocated, all
// offset arithmetic is overflow-checked, and it never panics. Tensor data is
// not copied; Data returns slices of the memory mapping.
//
// Type id 36 is I2_S in bitnet.cpp but IQ4_NL_4_4 in upstream ggml. A file's
// 36 is read as I2_S only when general.file_type is 40 (bitnet.cpp's
// LLAMA_FTYPE_MOSTLY_I2_S) or when the space the tensor occupies is exactly
// the I2_S size (ne0·ne1/4 + 32 bytes, optionally padded to the alignment).
package gguf

import (
	"cmp"
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"math/bits"
	"slices"

	"github.com/bitnet-go/bitnet/internal/mmapfile"
)

// Errors wrapped by Parse and Open, for errors.Is.
var (
	ErrNotGGUF         = errors.New("not a GGUF file")
	ErrVersion         = errors.New("unsupported GGUF version")
	ErrTruncated       = errors.New("truncated")
	ErrFormat          = errors.New("malformed GGUF")
	ErrUnsupportedType = errors.New("unsupported tensor type")
)

const (
	// MaxDims is ggml's GGML_MAX_DIMS.
	MaxDims = 4
	// DefaultAlignment applies when general.alignment is absent.
	DefaultAlignment = 32
	// KeyAlignment holds the data alignment (uint32, a power of two).
	KeyAlignment = "general.alignment"
	// KeyArchitecture names the model architecture.
	KeyArchitecture = "general.architecture"
	// KeyFileType is llama.cpp's LLAMA_FTYPE of the file.
	KeyFileType = "general.file_type"
	// FileTypeI2_S is bitnet.cpp's LLAMA_FTYPE_MOSTLY_I2_S.
	FileTypeI2_S = 40

	// maxNameLen caps keys and tensor names. The GGUF spec limits keys to
	// 65535 bytes; tensor names are far shorter in practice (ggml: 64).
	maxNameLen = 1<<16 - 1
	magic      = "GGUF"
	// Smallest encodings, used to reject counts that cannot possibly fit in
	// the bytes that are left before allocating anything for them.
	minKVBytes     = 8 + 4 + 1     // key length, value type, 1-byte value
	minTensorBytes = 8 + 4 + 4 + 8 // name length, n_dims, type, offset
	// maxPrealloc bounds capacity hints taken from the header: the counts
	// fit the file, but a large hostile file could still ask for several
	// times its size in KV and tensor structs up front.
	maxPrealloc = 4096
)

// File is a parsed GGUF file. Tensor data stays in the mapping; slices from
// Data are valid until Close.
type File struct {
	Path       string
	Version    uint32
	Alignment  uint64
	DataOffset uint64 // absolute offset of the tensor data section
	KVs        []KV   // in file order
	Tensors    []*TensorInfo

	data    []byte
	mm      *mmapfile.File
	kvIndex map[string]int
	tensors map[string]*TensorInfo
}

// TensorInfo describes one tensor.
type TensorInfo struct {
	Name   string
	Dims   []uint64 // ne0 (the contiguous dimension) first
	Type   Type
	Offset uint64 // relative to File.DataOffset
	Size   uint64 // bytes of data, without alignment padding
}

// NumElements returns the product of the dims (1 for a tensor without dims).
// Parse has checked that it does not overflow.
func (t *TensorInfo) NumElements() uint64 {
	n, _ := numElements(t.Dims)
	return n
}

func numElements(dims []uint64) (uint64, bool) {
	n := uint64(1)
	for _, d := range dims {
		hi, lo := bits.Mul64(n, d)
		if hi != 0 {
			return 0, false
		}
		n = lo
	}
	return n, true
}

// Open maps path and parses it. The mapping is released by Close.
func Open(path string) (*File, error) {
	m, err := mmapfile.Open(path)
	if err != nil {
		return nil, fmt.Errorf("gguf: %w", err)
	}
	f, err := Parse(m.Data(), path)
	if err != nil {
		m.Close()
		return nil, err
	}
	f.mm = m
	return f, nil
}

// Parse parses a whole GGUF file held in data; name is used in errors. The
// File refers to data without copying it.
func Parse(data []byte, name string) (*File, error) {
	f := &File{Path: name, data: data}
	if err := f.parse(); err != nil {
		return nil, fmt.Errorf("gguf: %s: %w", name, err)
	}
	return f, nil
}

// Close releases the mapping made by Open. Slices returned by Data must not
// be used afterwards.
func (f *File) Close() error {
	f.data = nil
	if f.mm == nil {
		return nil
	}
	m := f.mm
	f.mm = nil
	return m.Close()
}

// Get returns the value of key, typed as described at KV.
func (f *File) Get(key string) (any, bool) {
	i, ok := f.kvIndex[key]
	if !ok {
		return nil, false
	}
	return f.KVs[i].Value, true
}

// String returns a string value.
func (f *File) String(key string) (string, bool) {
	v, _ := f.Get(key)
	s, ok := v.(string)
	return s, ok
}

// Uint returns an integer value of any width or signedness that is ≥ 0,
// because converters disagree on which integer type they store counts in.
func (f *File) Uint(key string) (uint64, bool) {
	v, _ := f.Get(key)
	return asUint(v)
}

// Int returns an integer value of any width that fits in int64.
func (f *File) Int(key string) (int64, bool) {
	v, _ := f.Get(key)
	return asInt(v)
}

// Float returns a float32 or float64 value.
func (f *File) Float(key string) (float64, bool) {
	v, _ := f.Get(key)
	switch x := v.(type) {
	case float32:
		return float64(x), true
	case float64:
		return x, true
	}
	return 0, false
}

// Bool returns a bool value.
func (f *File) Bool(key string) (bool, bool) {
	v, _ := f.Get(key)
	b, ok := v.(bool)
	return b, ok
}

// Strings returns a string array.
func (f *File) Strings(key string) ([]string, bool) {
	v, _ := f.Get(key)
	s, ok := v.([]string)
	return s, ok
}

// Float32s returns a float32 array.
func (f *File) Float32s(key string) ([]float32, bool) {
	v, _ := f.Get(key)
	s, ok := v.([]float32)
	return s, ok
}

// Int32s returns an integer array of any element type as []int32 (token
// types are int32 in llama.cpp's files but not in every converter's); it
// fails if an element does not fit. An []int32 value is returned as is.
func (f *File) Int32s(key string) ([]int32, bool) {
	v, _ := f.Get(key)
	return int32s(v)
}

// Arch returns general.architecture, or "" if it is missing.
func (f *File) Arch() string {
	s, _ := f.String(KeyArchitecture)
	return s
}

// Tensor looks a tensor up by name.
func (f *File) Tensor(name string) (*TensorInfo, bool) {
	t, ok := f.tensors[name]
	return t, ok
}

// Data returns the bytes of t without copying: exactly t.Size bytes, with
// the capacity clipped so that appends cannot write into the next tensor.
// It returns nil after Close or for a TensorInfo that lies outside the file.
func (f *File) Data(t *TensorInfo) []byte {
	start, ok := addU64(f.DataOffset, t.Offset)
	if !ok {
		return nil
	}
	end, ok := addU64(start, t.Size)
	if !ok || end > uint64(len(f.data)) {
		return nil
	}
	return f.data[start:end:end]
}

func addU64(a, b uint64) (uint64, bool) {
	s, carry := bits.Add64(a, b, 0)
	return s, carry == 0
}

// alignUp rounds x up to a multiple of the power of two a.
func alignUp(x, a uint64) (uint64, bool) {
	s, ok := addU64(x, a-1)
	return s &^ (a - 1), ok
}

func (f *File) parse() error {
	d := &decoder{b: f.data}
	if len(f.data) < 4 || string(f.data[:4]) != magic {
		return ErrNotGGUF
	}
	d.off = 4
	v, err := d.u32("version")
	if err != nil {
		return err
	}
	switch {
	case v == 2 || v == 3:
	case bits.ReverseBytes32(v) == 2 || bits.ReverseBytes32(v) == 3:
		return fmt.Errorf("%w: big-endian GGUF v%d", ErrVersion, bits.ReverseBytes32(v))
	default:
		// v1 used 32-bit counts and lengths; nothing produces it any more.
		return fmt.Errorf("%w: %d (want 2 or 3)", ErrVersion, v)
	}
	f.Version = v
	nTensors, err := d.u64("tensor count")
	if err != nil {
		return err
	}
	nKV, err := d.u64("KV count")
	if err != nil {
		return err
	}
	if nKV > d.left()/minKVBytes {
		return fmt.Errorf("%w: KV count %d cannot fit in the %d bytes left", ErrTruncated, nKV, d.left())
	}
	// KVs come first, so tensor infos must fit in what the KVs leave; this
	// bound is rechecked below once the KVs have been read.
	if nTensors > (d.left()-nKV*minKVBytes)/minTensorBytes {
		return fmt.Errorf("%w: tensor count %d cannot fit in the %d bytes left", ErrTruncated, nTensors, d.left())
	}

	f.KVs = make([]KV, 0, min(nKV, maxPrealloc))
	f.kvIndex = make(map[string]int, min(nKV, maxPrealloc))
	for i := range nKV {
		kv, err := d.kv()
		if err != nil {
			return fmt.Errorf("KV #%d%s: %w", i, keyHint(kv.Key), err)
		}
		if _, dup := f.kvIndex[kv.Key]; dup {
			return fmt.Errorf("KV #%d: %w: duplicate key %q", i, ErrFormat, kv.Key)
		}
		f.kvIndex[kv.Key] = len(f.KVs)
		f.KVs = append(f.KVs, kv)
	}

	f.Alignment = DefaultAlignment
	if v, ok := f.Get(KeyAlignment); ok {
		a, isU32 := v.(uint32)
		if !isU32 {
			return fmt.Errorf("%s: %w: must be uint32, is %T", KeyAlignment, ErrFormat, v)
		}
		if a == 0 || a&(a-1) != 0 {
			return fmt.Errorf("%s: %w: %d is not a power of two", KeyAlignment, ErrFormat, a)
		}
		f.Alignment = uint64(a)
	}

	if nTensors > d.left()/minTensorBytes {
		return fmt.Errorf("%w: tensor count %d cannot fit in the %d bytes left", ErrTruncated, nTensors, d.left())
	}
	f.Tensors = make([]*TensorInfo, 0, min(nTensors, maxPrealloc))
	f.tensors = make(map[string]*TensorInfo, min(nTensors, maxPrealloc))
	for i := range nTensors {
		t, err := d.tensorInfo()
		if err != nil {
			return fmt.Errorf("tensor #%d%s: %w", i, keyHint(t.Name), err)
		}
		if _, dup := f.tensors[t.Name]; dup {
			return fmt.Errorf("tensor #%d: %w: duplicate tensor name %q", i, ErrFormat, t.Name)
		}
		f.tensors[t.Name] = t
		f.Tensors = append(f.Tensors, t)
	}

	dataOff, ok := alignUp(d.off, f.Alignment)
	if !ok {
		return fmt.Errorf("%w: data offset overflows", ErrFormat)
	}
	f.DataOffset = dataOff
	if len(f.Tensors) == 0 {
		// A file without tensors may end right after its KVs, unpadded.
		return nil
	}
	if dataOff > uint64(len(f.data)) {
		return fmt.Errorf("%w: tensor data would start at offset %d, past the end of the file (%d bytes)",
			ErrTruncated, dataOff, len(f.data))
	}
	return f.checkTensors()
}

// checkTensors resolves sizes (including the I2_S question, which needs the
// neighbours' offsets) and checks placement: aligned, inside the file, no
// overlaps.
func (f *File) checkTensors() error {
	dataLen := uint64(len(f.data)) - f.DataOffset
	byOffset := slices.Clone(f.Tensors)
	slices.SortStableFunc(byOffset, func(a, b *TensorInfo) int { return cmp.Compare(a.Offset, b.Offset) })
	// extent is the room a tensor has before the next tensor (or the end of
	// the file): an I2_S tensor fills it exactly, up to padding. Only called
	// for tensors already known to lie inside the data section.
	extent := func(t *TensorInfo) uint64 {
		i, _ := slices.BinarySearchFunc(byOffset, t.Offset+1, func(e *TensorInfo, off uint64) int {
			return cmp.Compare(e.Offset, off)
		})
		if i < len(byOffset) {
			return byOffset[i].Offset - t.Offset
		}
		return dataLen - t.Offset
	}
	ft, hasFT := f.Uint(KeyFileType)
	forkFile := hasFT && ft == FileTypeI2_S

	for _, t := range f.Tensors {
		size, err := tensorBytes(t.Type, t.Dims)
		if err != nil {
			return fmt.Errorf("tensor %q (%v): %w", t.Name, t.Dims, err)
		}
		t.Size = size
		if t.Offset%f.Alignment != 0 {
			return fmt.Errorf("tensor %q: %w: offset %d is not a multiple of the alignment %d",
				t.Name, ErrFormat, t.Offset, f.Alignment)
		}
		if end, ok := addU64(t.Offset, size); !ok || end > dataLen {
			return fmt.Errorf("tensor %q: %w: data [%d, +%d) runs past the end of the file (%d data bytes)",
				t.Name, ErrTruncated, t.Offset, size, dataLen)
		}
		if t.Type == I2_S && !forkFile {
			padded, _ := alignUp(size, f.Alignment)
			if e := extent(t); e != size && e != padded {
				return fmt.Errorf("tensor %q (%v): %w", t.Name, t.Dims, unsupportedType(I2_S))
			}
		}
	}
	// Empty tensors sort first at a shared offset: the writer puts the next
	// tensor at the same offset as an empty one, which is not an overlap.
	slices.SortStableFunc(byOffset, func(a, b *TensorInfo) int {
		return cmp.Or(cmp.Compare(a.Offset, b.Offset), cmp.Compare(a.Size, b.Size))
	})
	for i := 1; i < len(byOffset); i++ {
		prev, cur := byOffset[i-1], byOffset[i]
		// Both ends were checked above, so this sum cannot overflow.
		if prev.Offset+prev.Size > cur.Offset {
			return fmt.Errorf("%w: tensors %q [%d, +%d) and %q [%d, +%d) overlap",
				ErrFormat, prev.Name, prev.Offset, prev.Size, cur.Name, cur.Offset, cur.Size)
		}
	}
	return nil
}

func keyHint(name string) string {
	if name == "" {
		return ""
	}
	return fmt.Sprintf(" %q", name)
}

// decoder reads little-endian GGUF fields; every read is bounds-checked.
type decoder struct {
	b   []byte
	off uint64
}

func (d *decoder) left() uint64 { return uint64(len(d.b)) - d.off }

func (d *decoder) take(n uint64, what string) ([]byte, error) {
	if n > d.left() {
		return nil, fmt.Errorf("%w: %s at offset %d needs %d bytes, %d left", ErrTruncated, what, d.off, n, d.left())
	}
	p := d.b[d.off : d.off+n]
	d.off += n
	return p, nil
}

func (d *decoder) u32(what string) (uint32, error) {
	p, err := d.take(4, what)
	if err != nil {
		return 0, err
	}
	return binary.LittleEndian.Uint32(p), nil
}

func (d *decoder) u64(what string) (uint64, error) {
	p, err := d.take(8, what)
	if err != nil {
		return 0, err
	}
	return binary.LittleEndian.Uint64(p), nil
}

// str reads a length-prefixed string. The bytes are copied: a string that
// pointed into the mapping would fault after Close.
func (d *decoder) str(what string, max uint64) (string, error) {
	n, err := d.u64(what + " length")
	if err != nil {
		return "", err
	}
	if n > max {
		return "", fmt.Errorf("%w: %s length %d exceeds the limit of %d", ErrFormat, what, n, max)
	}
	p, err := d.take(n, what)
	if err != nil {
		return "", err
	}
	return string(p), nil
}

func (d *decoder) kv() (KV, error) {
	key, err := d.str("key", maxNameLen)
	if err != nil {
		return KV{}, err
	}
	if key == "" {
		// Never written by any converter; most likely a zeroed region
		// being misread as a KV.
		return KV{}, fmt.Errorf("%w: empty key", ErrFormat)
	}
	kv := KV{Key: key}
	t, err := d.u32("value type")
	if err != nil {
		return kv, err
	}
	vt := ValueType(t)
	if vt == ValueArray {
		kv.Value, err = d.array()
	} else {
		kv.Value, err = d.scalar(vt)
	}
	return kv, err
}

func (d *decoder) scalar(vt ValueType) (any, error) {
	if vt == ValueString {
		return d.str("string value", math.MaxUint64)
	}
	size := vt.scalarSize()
	if size == 0 {
		return nil, fmt.Errorf("%w: unknown value type %d", ErrFormat, uint32(vt))
	}
	p, err := d.take(size, vt.String()+" value")
	if err != nil {
		return nil, err
	}
	le := binary.LittleEndian
	switch vt {
	case ValueUint8:
		return p[0], nil
	case ValueInt8:
		return int8(p[0]), nil
	case ValueUint16:
		return le.Uint16(p), nil
	case ValueInt16:
		return int16(le.Uint16(p)), nil
	case ValueUint32:
		return le.Uint32(p), nil
	case ValueInt32:
		return int32(le.Uint32(p)), nil
	case ValueFloat32:
		return math.Float32frombits(le.Uint32(p)), nil
	case ValueBool:
		return decodeBool(p[0])
	case ValueUint64:
		return le.Uint64(p), nil
	case ValueInt64:
		return int64(le.Uint64(p)), nil
	default: // ValueFloat64
		return math.Float64frombits(le.Uint64(p)), nil
	}
}

// decodeBool rejects bytes other than 0 and 1, as the GGUF spec asks;
// accepting them would also make a read-write round trip change the file.
func decodeBool(b byte) (bool, error) {
	if b > 1 {
		return false, fmt.Errorf("%w: bool byte %d is neither 0 nor 1", ErrFormat, b)
	}
	return b == 1, nil
}

func (d *decoder) array() (any, error) {
	t, err := d.u32("array element type")
	if err != nil {
		return nil, err
	}
	et := ValueType(t)
	n, err := d.u64("array length")
	if err != nil {
		return nil, err
	}
	switch et {
	case ValueArray:
		return nil, fmt.Errorf("%w: arrays of arrays are not supported", ErrFormat)
	case ValueString:
		// Each string needs at least its 8-byte length.
		if n > d.left()/8 {
			return nil, fmt.Errorf("%w: string array of %d elements cannot fit in the %d bytes left", ErrTruncated, n, d.left())
		}
		out := make([]string, n)
		for i := range out {
			if out[i], err = d.str("string array element", math.MaxUint64); err != nil {
				return nil, fmt.Errorf("element %d: %w", i, err)
			}
		}
		return out, nil
	}
	size := et.scalarSize()
	if size == 0 {
		return nil, fmt.Errorf("%w: unknown array element type %d", ErrFormat, uint32(et))
	}
	if n > d.left()/size {
		return nil, fmt.Errorf("%w: %s array of %d elements cannot fit in the %d bytes left", ErrTruncated, et, n, d.left())
	}
	p, _ := d.take(n*size, "array")
	le := binary.LittleEndian
	switch et {
	case ValueUint8:
		return slices.Clone(p), nil
	case ValueInt8:
		return decodeArray(p, 1, func(q []byte) int8 { return int8(q[0]) }), nil
	case ValueUint16:
		return decodeArray(p, 2, le.Uint16), nil
	case ValueInt16:
		return decodeArray(p, 2, func(q []byte) int16 { return int16(le.Uint16(q)) }), nil
	case ValueUint32:
		return decodeArray(p, 4, le.Uint32), nil
	case ValueInt32:
		return decodeArray(p, 4, func(q []byte) int32 { return int32(le.Uint32(q)) }), nil
	case ValueFloat32:
		return decodeArray(p, 4, func(q []byte) float32 { return math.Float32frombits(le.Uint32(q)) }), nil
	case ValueBool:
		out := make([]bool, n)
		for i, b := range p {
			if out[i], err = decodeBool(b); err != nil {
				return nil, fmt.Errorf("element %d: %w", i, err)
			}
		}
		return out, nil
	case ValueUint64:
		return decodeArray(p, 8, le.Uint64), nil
	case ValueInt64:
		return decodeArray(p, 8, func(q []byte) int64 { return int64(le.Uint64(q)) }), nil
	default: // ValueFloat64
		return decodeArray(p, 8, func(q []byte) float64 { return math.Float64frombits(le.Uint64(q)) }), nil
	}
}

func decodeArray[T any](p []byte, size int, dec func([]byte) T) []T {
	out := make([]T, len(p)/size)
	for i := range out {
		out[i] = dec(p[i*size:])
	}
	return out
}

// tensorInfo reads one tensor info. Sizes are resolved later because I2_S
// needs the other tensors' offsets.
func (d *decoder) tensorInfo() (t *TensorInfo, err error) {
	t = &TensorInfo{}
	if t.Name, err = d.str("tensor name", maxNameLen); err != nil {
		return t, err
	}
	if t.Name == "" {
		return t, fmt.Errorf("%w: empty tensor name", ErrFormat)
	}
	nd, err := d.u32("n_dims")
	if err != nil {
		return t, err
	}
	if nd > MaxDims {
		return t, fmt.Errorf("%w: %d dims (max %d)", ErrFormat, nd, MaxDims)
	}
	t.Dims = make([]uint64, nd)
	for i := range t.Dims {
		if t.Dims[i], err = d.u64("dim"); err != nil {
			return t, err
		}
	}
	// ggml stores element counts as int64.
	if n, ok := numElements(t.Dims); !ok || n > math.MaxInt64 {
		return t, fmt.Errorf("%w: element count of dims %v overflows", ErrFormat, t.Dims)
	}
	ty, err := d.u32("tensor type")
	if err != nil {
		return t, err
	}
	t.Type = Type(ty)
	if t.Offset, err = d.u64("tensor offset"); err != nil {
		return t, err
	}
	return t, nil
}
