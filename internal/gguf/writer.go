package gguf

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
)

// Writer assembles a GGUF v3 file laid out the way llama.cpp's writers lay
// it out: header, KVs in insertion order, tensor infos in insertion order,
// zero padding to the alignment, then each tensor's data followed by zero
// padding to the alignment. Tensor data is referenced, not copied, until
// the file is written.
type Writer struct {
	kvs      []KV
	kvIndex  map[string]int
	tensors  []*wtensor
	names    map[string]bool
	progress func(done, total int64)
}

type wtensor struct {
	info TensorInfo
	data []byte
	fill func(io.Writer) error
}

// NewWriter returns an empty Writer.
func NewWriter() *Writer {
	return &Writer{kvIndex: map[string]int{}, names: map[string]bool{}}
}

// AddKV appends a metadata entry. v must have one of the Go types listed at
// KV (Go's int and uint are refused on purpose: their GGUF width would be a
// guess). Slices are not copied. general.alignment must be a uint32 power
// of two; it sets the alignment of the file.
func (w *Writer) AddKV(key string, v any) error {
	if _, dup := w.kvIndex[key]; dup {
		return fmt.Errorf("gguf: duplicate key %q", key)
	}
	if err := checkKV(key, v); err != nil {
		return err
	}
	w.kvIndex[key] = len(w.kvs)
	w.kvs = append(w.kvs, KV{Key: key, Value: v})
	return nil
}

// SetKV replaces the value of key in place, or appends it if it is new, so
// that a file can be copied with a few values changed without reordering it.
func (w *Writer) SetKV(key string, v any) error {
	i, ok := w.kvIndex[key]
	if !ok {
		return w.AddKV(key, v)
	}
	if err := checkKV(key, v); err != nil {
		return err
	}
	w.kvs[i].Value = v
	return nil
}

func checkKV(key string, v any) error {
	if key == "" {
		return errors.New("gguf: empty key")
	}
	if len(key) > maxNameLen {
		return fmt.Errorf("gguf: key of %d bytes exceeds the limit of %d", len(key), maxNameLen)
	}
	if _, _, ok := valueTypeOf(v); !ok {
		return fmt.Errorf("gguf: key %q: unsupported value type %T", key, v)
	}
	if key == KeyAlignment {
		a, ok := v.(uint32)
		if !ok || a == 0 || a&(a-1) != 0 {
			return fmt.Errorf("gguf: %s must be a uint32 power of two, got %T %v", KeyAlignment, v, v)
		}
	}
	return nil
}

// AddTensor appends a tensor whose data is already in memory. len(data)
// must equal TensorBytes(typ, dims). data must not change until the file
// has been written.
func (w *Writer) AddTensor(name string, typ Type, dims []uint64, data []byte) error {
	t, err := w.newTensor(name, typ, dims)
	if err != nil {
		return err
	}
	if uint64(len(data)) != t.info.Size {
		return fmt.Errorf("gguf: tensor %q: %d bytes of data, %v%v needs %d", name, len(data), typ, dims, t.info.Size)
	}
	t.data = data
	w.add(t)
	return nil
}

// AddTensorFunc appends a tensor whose data is produced while the file is
// written, so that a converter need not hold every tensor in memory. write
// must write exactly TensorBytes(typ, dims) bytes; it is called once per
// WriteTo or WriteFile, in tensor order.
func (w *Writer) AddTensorFunc(name string, typ Type, dims []uint64, write func(io.Writer) error) error {
	t, err := w.newTensor(name, typ, dims)
	if err != nil {
		return err
	}
	if write == nil {
		return fmt.Errorf("gguf: tensor %q: nil write function", name)
	}
	t.fill = write
	w.add(t)
	return nil
}

func (w *Writer) newTensor(name string, typ Type, dims []uint64) (*wtensor, error) {
	if w.names[name] {
		return nil, fmt.Errorf("gguf: duplicate tensor name %q", name)
	}
	if name == "" {
		return nil, errors.New("gguf: empty tensor name")
	}
	if len(name) > maxNameLen {
		return nil, fmt.Errorf("gguf: tensor name of %d bytes exceeds the limit of %d", len(name), maxNameLen)
	}
	if n, ok := numElements(dims); !ok || n > math.MaxInt64 {
		return nil, fmt.Errorf("gguf: tensor %q: element count of dims %v overflows", name, dims)
	}
	size, err := tensorBytes(typ, dims)
	if err != nil {
		return nil, fmt.Errorf("gguf: tensor %q: %w", name, err)
	}
	return &wtensor{info: TensorInfo{Name: name, Dims: append([]uint64(nil), dims...), Type: typ, Size: size}}, nil
}

func (w *Writer) add(t *wtensor) {
	w.names[t.info.Name] = true
	w.tensors = append(w.tensors, t)
}

// SetProgress registers fn to be called as data is written, with the bytes
// written so far and the total file size. It is called at least once at
// the end with done == total.
func (w *Writer) SetProgress(fn func(done, total int64)) { w.progress = fn }

func (w *Writer) alignment() uint64 {
	if i, ok := w.kvIndex[KeyAlignment]; ok {
		return uint64(w.kvs[i].Value.(uint32))
	}
	return DefaultAlignment
}

// layout assigns tensor offsets and returns the encoded header (up to the
// start of the data section, padding included) and the total file size.
func (w *Writer) layout() (header []byte, total uint64, err error) {
	align := w.alignment()
	var off uint64
	for _, t := range w.tensors {
		t.info.Offset = off
		end, ok := addU64(off, t.info.Size)
		if ok {
			off, ok = alignUp(end, align)
		}
		if !ok {
			return nil, 0, errors.New("gguf: total tensor size overflows")
		}
	}
	h := []byte(magic)
	h = binary.LittleEndian.AppendUint32(h, 3)
	h = binary.LittleEndian.AppendUint64(h, uint64(len(w.tensors)))
	h = binary.LittleEndian.AppendUint64(h, uint64(len(w.kvs)))
	for _, kv := range w.kvs {
		h = appendString(h, kv.Key)
		h = appendValue(h, kv.Value)
	}
	for _, t := range w.tensors {
		h = appendString(h, t.info.Name)
		h = binary.LittleEndian.AppendUint32(h, uint32(len(t.info.Dims)))
		for _, d := range t.info.Dims {
			h = binary.LittleEndian.AppendUint64(h, d)
		}
		h = binary.LittleEndian.AppendUint32(h, uint32(t.info.Type))
		h = binary.LittleEndian.AppendUint64(h, t.info.Offset)
	}
	dataOff, _ := alignUp(uint64(len(h)), align)
	h = append(h, make([]byte, dataOff-uint64(len(h)))...)
	if len(w.tensors) == 0 {
		// Padded anyway, so that the file size is the data offset every
		// reader computes; the reader also accepts files without it.
		return h, uint64(len(h)), nil
	}
	total, ok := addU64(dataOff, off)
	if !ok || total > math.MaxInt64 {
		return nil, 0, errors.New("gguf: file size overflows")
	}
	return h, total, nil
}

// WriteTo writes the whole file to dst.
func (w *Writer) WriteTo(dst io.Writer) (int64, error) {
	header, total, err := w.layout()
	if err != nil {
		return 0, err
	}
	cw := &countingWriter{w: dst, total: int64(total), progress: w.progress}
	if _, err := cw.Write(header); err != nil {
		return cw.n, err
	}
	align := w.alignment()
	var zeros [256]byte
	for _, t := range w.tensors {
		if t.fill != nil {
			lw := &limitWriter{w: cw, left: t.info.Size}
			if err := t.fill(lw); err != nil {
				return cw.n, fmt.Errorf("gguf: tensor %q: %w", t.info.Name, err)
			}
			if lw.left != 0 {
				return cw.n, fmt.Errorf("gguf: tensor %q: write function wrote %d of %d bytes",
					t.info.Name, t.info.Size-lw.left, t.info.Size)
			}
		} else {
			// Chunked so that progress moves during a multi-GB embedding.
			for p := t.data; len(p) > 0; {
				n := min(len(p), 4*progressStep)
				if _, err := cw.Write(p[:n]); err != nil {
					return cw.n, err
				}
				p = p[n:]
			}
		}
		pad, _ := alignUp(t.info.Size, align)
		for pad -= t.info.Size; pad > 0; {
			n := min(pad, uint64(len(zeros)))
			if _, err := cw.Write(zeros[:n]); err != nil {
				return cw.n, err
			}
			pad -= n
		}
	}
	if cw.n != int64(total) {
		// Only reachable through a bug in layout; a silent mismatch would
		// produce a file with wrong offsets.
		return cw.n, fmt.Errorf("gguf: wrote %d bytes, layout says %d", cw.n, total)
	}
	cw.report(true)
	return cw.n, nil
}

// WriteFile writes the file to a temporary file in the same directory and
// renames it into place, so that an interrupted write never leaves a
// truncated file under path.
func (w *Writer) WriteFile(path string) (err error) {
	dir, base := filepath.Split(path)
	if dir == "" {
		dir = "."
	}
	tmp, err := os.CreateTemp(dir, "."+base+".tmp-*")
	if err != nil {
		return fmt.Errorf("gguf: %w", err)
	}
	defer func() {
		if err != nil {
			tmp.Close()
			os.Remove(tmp.Name())
		}
	}()
	bw := bufio.NewWriterSize(tmp, 1<<20)
	if _, err = w.WriteTo(bw); err != nil {
		return fmt.Errorf("gguf: %s: %w", path, err)
	}
	if err = bw.Flush(); err != nil {
		return fmt.Errorf("gguf: %s: %w", path, err)
	}
	// CreateTemp makes the file 0600; a model file is not secret.
	if err = tmp.Chmod(0o644); err != nil {
		return fmt.Errorf("gguf: %s: %w", path, err)
	}
	// Without the sync a crash after the rename could leave a renamed but
	// empty file on some filesystems.
	if err = tmp.Sync(); err != nil {
		return fmt.Errorf("gguf: %s: %w", path, err)
	}
	if err = tmp.Close(); err != nil {
		return fmt.Errorf("gguf: %s: %w", path, err)
	}
	if err = os.Rename(tmp.Name(), path); err != nil {
		return fmt.Errorf("gguf: %w", err)
	}
	return nil
}

type countingWriter struct {
	w        io.Writer
	n        int64
	total    int64
	reported int64
	progress func(done, total int64)
}

// progressStep limits callbacks to about one per MiB so that a progress bar
// does not slow down a multi-GB write.
const progressStep = 1 << 20

func (c *countingWriter) Write(p []byte) (int, error) {
	n, err := c.w.Write(p)
	c.n += int64(n)
	c.report(false)
	return n, err
}

func (c *countingWriter) report(final bool) {
	if c.progress == nil || c.n == c.reported {
		return
	}
	if final || c.n-c.reported >= progressStep {
		c.reported = c.n
		c.progress(c.n, c.total)
	}
}

// limitWriter refuses to write more than a tensor's size, so that a buggy
// write function cannot shift every following tensor.
type limitWriter struct {
	w    io.Writer
	left uint64
}

func (l *limitWriter) Write(p []byte) (int, error) {
	if uint64(len(p)) > l.left {
		return 0, fmt.Errorf("write function wrote more than the tensor size (%d bytes too many)", uint64(len(p))-l.left)
	}
	n, err := l.w.Write(p)
	l.left -= uint64(n)
	return n, err
}

func appendString(b []byte, s string) []byte {
	b = binary.LittleEndian.AppendUint64(b, uint64(len(s)))
	return append(b, s...)
}

// appendValue encodes v, whose type checkKV has accepted.
func appendValue(b []byte, v any) []byte {
	typ, elem, _ := valueTypeOf(v)
	b = binary.LittleEndian.AppendUint32(b, uint32(typ))
	if typ == ValueArray {
		b = binary.LittleEndian.AppendUint32(b, uint32(elem))
	}
	le := binary.LittleEndian
	switch x := v.(type) {
	case uint8:
		return append(b, x)
	case int8:
		return append(b, byte(x))
	case uint16:
		return le.AppendUint16(b, x)
	case int16:
		return le.AppendUint16(b, uint16(x))
	case uint32:
		return le.AppendUint32(b, x)
	case int32:
		return le.AppendUint32(b, uint32(x))
	case float32:
		return le.AppendUint32(b, math.Float32bits(x))
	case bool:
		return append(b, boolByte(x))
	case string:
		return appendString(b, x)
	case uint64:
		return le.AppendUint64(b, x)
	case int64:
		return le.AppendUint64(b, uint64(x))
	case float64:
		return le.AppendUint64(b, math.Float64bits(x))
	case []uint8:
		return append(le.AppendUint64(b, uint64(len(x))), x...)
	case []int8:
		return appendArray(b, x, func(b []byte, e int8) []byte { return append(b, byte(e)) })
	case []uint16:
		return appendArray(b, x, le.AppendUint16)
	case []int16:
		return appendArray(b, x, func(b []byte, e int16) []byte { return le.AppendUint16(b, uint16(e)) })
	case []uint32:
		return appendArray(b, x, le.AppendUint32)
	case []int32:
		return appendArray(b, x, func(b []byte, e int32) []byte { return le.AppendUint32(b, uint32(e)) })
	case []float32:
		return appendArray(b, x, func(b []byte, e float32) []byte { return le.AppendUint32(b, math.Float32bits(e)) })
	case []bool:
		return appendArray(b, x, func(b []byte, e bool) []byte { return append(b, boolByte(e)) })
	case []string:
		return appendArray(b, x, appendString)
	case []uint64:
		return appendArray(b, x, le.AppendUint64)
	case []int64:
		return appendArray(b, x, func(b []byte, e int64) []byte { return le.AppendUint64(b, uint64(e)) })
	case []float64:
		return appendArray(b, x, func(b []byte, e float64) []byte { return le.AppendUint64(b, math.Float64bits(e)) })
	}
	panic(fmt.Sprintf("gguf: appendValue: unchecked type %T", v))
}

func appendArray[T any](b []byte, xs []T, enc func([]byte, T) []byte) []byte {
	b = binary.LittleEndian.AppendUint64(b, uint64(len(xs)))
	for _, x := range xs {
		b = enc(b, x)
	}
	return b
}

func boolByte(v bool) byte {
	if v {
		return 1
	}
	return 0
}
