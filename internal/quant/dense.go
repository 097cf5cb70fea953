package quant

import (
	"encoding/binary"
	"fmt"
	"math"
	"unsafe"

	"github.com/bitnet-go/bitnet/internal/kernels"
)

// DenseType is the storage type of a full-precision or block-quantised
// matrix (embeddings, lm_head).
type DenseType int

const (
	DenseF32 DenseType = iota
	DenseF16
	DenseBF16
	DenseQ8_0
	DenseQ6_K
)

func (t DenseType) String() string {
	return [...]string{"f32", "f16", "bf16", "q8_0", "q6_k"}[t]
}

// Dense is a row-major matrix of Rows × Cols in one of the DenseTypes.
// Data is usually a view of a mapped file.
type Dense struct {
	Type       DenseType
	Rows, Cols int
	Data       []byte
	rowBytes   int
	u16        []uint16 // Data as uint16 for F16/BF16 when aligned
	f32        []float32
}

// NewDense checks the size of data and wraps it.
func NewDense(typ DenseType, rows, cols int, data []byte) (*Dense, error) {
	d := &Dense{Type: typ, Rows: rows, Cols: cols}
	switch typ {
	case DenseF32:
		d.rowBytes = cols * 4
	case DenseF16, DenseBF16:
		d.rowBytes = cols * 2
	case DenseQ8_0:
		if cols%32 != 0 {
			return nil, fmt.Errorf("q8_0 matrix: row length %d is not a multiple of 32", cols)
		}
		d.rowBytes = cols / 32 * 34
	case DenseQ6_K:
		if cols%256 != 0 {
			return nil, fmt.Errorf("q6_k matrix: row length %d is not a multiple of 256", cols)
		}
		d.rowBytes = cols / 256 * 210
	default:
		return nil, fmt.Errorf("unknown dense type %d", typ)
	}
	if len(data) != rows*d.rowBytes {
		return nil, fmt.Errorf("%s matrix %d×%d: %d bytes, want %d", typ, rows, cols, len(data), rows*d.rowBytes)
	}
	// Views need natural alignment; safetensors data often is not aligned,
	// so copy in that case.
	switch typ {
	case DenseF16, DenseBF16:
		if uintptr(unsafe.Pointer(unsafe.SliceData(data)))%2 != 0 {
			data = append([]byte(nil), data...)
		}
		if len(data) > 0 {
			d.u16 = unsafe.Slice((*uint16)(unsafe.Pointer(unsafe.SliceData(data))), len(data)/2)
		}
	case DenseF32:
		if uintptr(unsafe.Pointer(unsafe.SliceData(data)))%4 != 0 {
			data = append([]byte(nil), data...)
		}
		if len(data) > 0 {
			d.f32 = unsafe.Slice((*float32)(unsafe.Pointer(unsafe.SliceData(data))), len(data)/4)
		}
	}
	d.Data = data
	return d, nil
}

// Bytes returns the size of the data.
func (d *Dense) Bytes() int64 { return int64(len(d.Data)) }

// RowBytes is the size of one row.
func (d *Dense) RowBytes() int64 { return int64(d.rowBytes) }

// Row writes row r as float32 into dst (len Cols).
func (d *Dense) Row(r int, dst []float32) {
	switch d.Type {
	case DenseF32:
		copy(dst, d.f32[r*d.Cols:(r+1)*d.Cols])
	case DenseF16:
		kernels.F16RowToF32(dst, d.u16[r*d.Cols:(r+1)*d.Cols])
	case DenseBF16:
		for i, h := range d.u16[r*d.Cols : (r+1)*d.Cols] {
			dst[i] = kernels.BF16ToF32(h)
		}
	case DenseQ8_0:
		rowQ8_0(d.Data[r*d.rowBytes:(r+1)*d.rowBytes], dst)
	case DenseQ6_K:
		rowQ6K(d.Data[r*d.rowBytes:(r+1)*d.rowBytes], dst)
	}
}

// Input is an activation vector made ready for one matrix's Gemv: Q8_0
// and Q6_K rows multiply int8 activations (kernels.Q8 and kernels.Q8K, as
// ggml's Q8_0·Q8_0 and Q6_K·Q8_K), which Prepare quantises once per vector
// rather than once per Gemv call.
type Input struct {
	X   []float32
	q8  kernels.Q8
	q8k kernels.Q8K
}

// Prepare makes in hold x (at least Cols values) for d's Gemv, reusing its
// buffers.
func (d *Dense) Prepare(in *Input, x []float32) {
	in.X = x[:d.Cols]
	switch d.Type {
	case DenseQ8_0:
		kernels.QuantizeQ8(&in.q8, in.X)
	case DenseQ6_K:
		kernels.QuantizeQ8K(&in.q8k, in.X)
	}
}

// Dot returns row r · x.
func (d *Dense) Dot(r int, x []float32) float32 {
	switch d.Type {
	case DenseF32:
		return kernels.DotF32(d.f32[r*d.Cols:(r+1)*d.Cols], x)
	case DenseF16:
		return kernels.DotF16(d.u16[r*d.Cols:(r+1)*d.Cols], x)
	case DenseBF16:
		return kernels.DotBF16(d.u16[r*d.Cols:(r+1)*d.Cols], x)
	}
	// The GEMV kernel on one row, so that Dot and Gemv agree bit for bit.
	var in Input
	d.Prepare(&in, x)
	var out [1]float32
	d.Gemv(out[:], r, r+1, &in)
	return out[0]
}

// Gemv writes row r · in.X into dst[r-lo] for every row r in [lo, hi).
func (d *Dense) Gemv(dst []float32, lo, hi int, in *Input) {
	switch d.Type {
	case DenseF16:
		kernels.GemvF16(dst[:hi-lo], d.u16[lo*d.Cols:hi*d.Cols], d.Cols, in.X)
	case DenseQ8_0:
		kernels.GemvQ8_0Q8(dst[:hi-lo], d.Data[lo*d.rowBytes:hi*d.rowBytes], d.rowBytes, &in.q8)
	case DenseQ6_K:
		kernels.GemvQ6KQ8K(dst[:hi-lo], d.Data[lo*d.rowBytes:hi*d.rowBytes], d.rowBytes, &in.q8k)
	default:
		for r := lo; r < hi; r++ {
			dst[r-lo] = d.Dot(r, in.X)
		}
	}
}

// GemvBatch is Gemv for several prepared inputs: input i's results for
// rows lo..hi-1 go to dst[i*ldd+lo : i*ldd+hi]. F16 rows are widened once
// for the first four inputs, then for each two, BF16 rows once for each
// two, and Q6_K rows unpacked once for each two; the results are Gemv's
// bit for bit.
func (d *Dense) GemvBatch(dst []float32, ldd, lo, hi int, ins []Input) {
	i := 0
	out := func(i int) []float32 { return dst[i*ldd+lo : i*ldd+hi] }
	switch d.Type {
	case DenseF16:
		rows := d.u16[lo*d.Cols : hi*d.Cols]
		// The first pass reads the rows from memory, where reading them
		// once for four inputs is a little faster (10.6-11.2 against
		// 10.5-10.6 GMAC/s for two pairs); later passes find them in cache,
		// where pairs, whose two activation vectors stay in L1, are faster
		// (22-27 against 17 GMAC/s: four vectors of 2560 values do not fit
		// in L1).
		if len(ins) >= 4 {
			kernels.GemvF16x4([4][]float32{out(0), out(1), out(2), out(3)}, rows, d.Cols,
				[4][]float32{ins[0].X, ins[1].X, ins[2].X, ins[3].X})
			i = 4
		}
		for ; i+1 < len(ins); i += 2 {
			kernels.GemvF16x2(out(i), out(i+1), rows, d.Cols, ins[i].X, ins[i+1].X)
		}
	case DenseBF16:
		rows := d.u16[lo*d.Cols : hi*d.Cols]
		for ; i+1 < len(ins); i += 2 {
			kernels.GemvBF16x2(out(i), out(i+1), rows, d.Cols, ins[i].X, ins[i+1].X)
		}
	case DenseQ6_K:
		rows := d.Data[lo*d.rowBytes : hi*d.rowBytes]
		for ; i+1 < len(ins); i += 2 {
			kernels.GemvQ6KQ8Kx2(out(i), out(i+1), rows, d.rowBytes, &ins[i].q8k, &ins[i+1].q8k)
		}
	}
	for ; i < len(ins); i++ {
		d.Gemv(out(i), lo, hi, &ins[i])
	}
}

func rowQ8_0(b []byte, dst []float32) {
	for i := 0; i < len(dst)/32; i++ {
		blk := b[i*34 : i*34+34]
		s := kernels.F16ToF32(binary.LittleEndian.Uint16(blk))
		for j := 0; j < 32; j++ {
			dst[i*32+j] = s * float32(int8(blk[2+j]))
		}
	}
}

func rowQ6K(b []byte, dst []float32) {
	for i := 0; i < len(dst)/256; i++ {
		blk := b[i*210 : i*210+210]
		ql, qh, sc := blk[0:128], blk[128:192], blk[192:208]
		d := kernels.F16ToF32(binary.LittleEndian.Uint16(blk[208:]))
		y := dst[i*256 : i*256+256]
		for n := 0; n < 2; n++ {
			for l := 0; l < 32; l++ {
				is := l / 16
				q1 := int8(ql[l]&0xf|((qh[l]>>0)&3)<<4) - 32
				q2 := int8(ql[l+32]&0xf|((qh[l]>>2)&3)<<4) - 32
				q3 := int8(ql[l]>>4|((qh[l]>>4)&3)<<4) - 32
				q4 := int8(ql[l+32]>>4|((qh[l]>>6)&3)<<4) - 32
				y[l] = d * float32(int8(sc[is])) * float32(q1)
				y[l+32] = d * float32(int8(sc[is+2])) * float32(q2)
				y[l+64] = d * float32(int8(sc[is+4])) * float32(q3)
				y[l+96] = d * float32(int8(sc[is+6])) * float32(q4)
			}
			y = y[128:]
			ql = ql[64:]
			qh = qh[32:]
			sc = sc[8:]
		}
	}
}

// ToFloat32 decodes F32/F16/BF16 bytes into float32 values.
func ToFloat32(typ DenseType, data []byte) ([]float32, error) {
	switch typ {
	case DenseF32:
		if len(data)%4 != 0 {
			return nil, fmt.Errorf("f32 data of %d bytes", len(data))
		}
		out := make([]float32, len(data)/4)
		for i := range out {
			out[i] = math.Float32frombits(binary.LittleEndian.Uint32(data[4*i:]))
		}
		return out, nil
	case DenseF16, DenseBF16:
		if len(data)%2 != 0 {
			return nil, fmt.Errorf("%s data of %d bytes", typ, len(data))
		}
		out := make([]float32, len(data)/2)
		for i := range out {
			h := binary.LittleEndian.Uint16(data[2*i:])
			if typ == DenseF16 {
				out[i] = kernels.F16ToF32(h)
			} else {
				out[i] = kernels.BF16ToF32(h)
			}
		}
		return out, nil
	}
	return nil, fmt.Errorf("cannot decode %s as plain floats", typ)
}
