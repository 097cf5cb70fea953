package model

import (
	"fmt"

	"github.com/bitnet-go/bitnet/internal/kernels"
)

// KVType is the element type of a KV cache.
type KVType uint8

const (
	// KVF32 keeps keys and values in float32, as the reference
	// implementations do.
	KVF32 KVType = iota
	// KVF16 keeps them in half precision (llama.cpp's default): half the
	// memory, and half the bytes attention reads at every decoded token.
	KVF16
)

// KVTypes lists the cache types by name.
var KVTypes = map[string]KVType{"f32": KVF32, "f16": KVF16}

func (t KVType) String() string {
	if t == KVF16 {
		return "f16"
	}
	return "f32"
}

// Bytes is the size of one element.
func (t KVType) Bytes() int {
	if t == KVF16 {
		return 2
	}
	return 4
}

// PositionBytes is the KV cache memory one position of a model with
// config c takes: keys and values of every layer and KV head.
func (t KVType) PositionBytes(c *Config) int64 {
	return int64(2 * c.Layers * c.KVHeads * c.HeadDim * t.Bytes())
}

// ParseKVType reads a cache type name; "" is f32.
func ParseKVType(s string) (KVType, error) {
	if s == "" {
		return KVF32, nil
	}
	if t, ok := KVTypes[s]; ok {
		return t, nil
	}
	return 0, fmt.Errorf("unknown KV cache type %q (want f32 or f16)", s)
}

// KVCache holds the keys and values of one sequence for every layer,
// head-major: layer l's key j of position p of KV head h is element
// (h*capacity+p)*headDim+j of K[l] (float32 caches) or K16[l] (f16). One
// head's keys and values are then contiguous, so attention streams them
// linearly (position-major rows read 512-byte pieces 2.5 KB apart on the
// 2B-4T shape, which made attention over 1024 positions about 30 % slower).
type KVCache struct {
	K, V           [][]float32
	K16, V16       [][]uint16
	typ            KVType
	heads, headDim int
	capacity       int // positions allocated per head
	n              int
	max            int
}

// NewKVCache makes a cache of type typ for up to maxLen positions of
// kvHeads heads of headDim values. Memory grows with use, so a long context
// costs nothing until it is filled.
func NewKVCache(typ KVType, layers, kvHeads, headDim, maxLen int) *KVCache {
	c := &KVCache{typ: typ, heads: kvHeads, headDim: headDim, max: maxLen}
	c.setLayers(layers)
	return c
}

func (c *KVCache) setLayers(layers int) {
	if c.typ == KVF16 {
		c.K, c.V = nil, nil
		c.K16, c.V16 = make([][]uint16, layers), make([][]uint16, layers)
	} else {
		c.K, c.V = make([][]float32, layers), make([][]float32, layers)
		c.K16, c.V16 = nil, nil
	}
}

func (c *KVCache) layers() int { return len(c.K) + len(c.K16) }

// Type returns the cache's element type.
func (c *KVCache) Type() KVType { return c.typ }

// Len returns the number of positions held.
func (c *KVCache) Len() int { return c.n }

// Cap returns the most positions the cache may hold.
func (c *KVCache) Cap() int { return c.max }

// Truncate forgets every position from n on, so that a conversation can
// reuse the prefix it shares with the next prompt.
func (c *KVCache) Truncate(n int) {
	if n < c.n {
		c.n = max(n, 0)
	}
}

// Bytes returns the memory the cache holds.
func (c *KVCache) Bytes() int64 {
	var b int64
	for i := range c.K {
		b += int64(cap(c.K[i])+cap(c.V[i])) * 4
	}
	for i := range c.K16 {
		b += int64(cap(c.K16[i])+cap(c.V16[i])) * 2
	}
	return b
}

// Put stores the keys and values of position pos in layer l: k and v hold
// all heads, head after head. An f16 cache rounds them to nearest even.
func (c *KVCache) Put(l, pos int, k, v []float32) {
	hd := c.headDim
	for h := 0; h < c.heads; h++ {
		o := (h*c.capacity + pos) * hd
		if c.typ == KVF16 {
			kernels.F32ToF16Row(c.K16[l][o:o+hd], k[h*hd:(h+1)*hd])
			kernels.F32ToF16Row(c.V16[l][o:o+hd], v[h*hd:(h+1)*hd])
		} else {
			copy(c.K[l][o:o+hd], k[h*hd:(h+1)*hd])
			copy(c.V[l][o:o+hd], v[h*hd:(h+1)*hd])
		}
	}
}

// Head returns head h's keys and values in layer l for positions 0..n-1,
// headDim values per position, of a float32 cache.
func (c *KVCache) Head(l, h, n int) (k, v []float32) {
	o := h * c.capacity * c.headDim
	return c.K[l][o : o+n*c.headDim], c.V[l][o : o+n*c.headDim]
}

// HeadF16 is Head for an f16 cache.
func (c *KVCache) HeadF16(l, h, n int) (k, v []uint16) {
	o := h * c.capacity * c.headDim
	return c.K16[l][o : o+n*c.headDim], c.V16[l][o : o+n*c.headDim]
}

// resize reallocates every layer for capacity positions per head, keeping
// the first n positions of each head.
func (c *KVCache) resize(capacity int) {
	g := headCopy{n: c.n, heads: c.heads, hd: c.headDim, from: c.capacity, to: capacity}
	for l := range c.K {
		c.K[l], c.V[l] = regrow(c.K[l], g), regrow(c.V[l], g)
	}
	for l := range c.K16 {
		c.K16[l], c.V16[l] = regrow(c.K16[l], g), regrow(c.V16[l], g)
	}
	c.capacity = capacity
}

// reserve makes room for n more positions in every layer.
func (c *KVCache) reserve(n int) error {
	need := c.n + n
	if need > c.max {
		return fmt.Errorf("%w: %d positions needed, context holds %d", ErrContextFull, need, c.max)
	}
	if need > c.capacity {
		// Double, to amortise copies, but never past the context.
		c.resize(min(max(need, 2*c.capacity, 64), c.max))
	}
	return nil
}

// Reserve is used by Model implementations: it makes room for n positions
// after the current ones and returns the first new position.
func (c *KVCache) Reserve(n int) (int, error) {
	if err := c.reserve(n); err != nil {
		return 0, err
	}
	return c.n, nil
}

// Commit records that n reserved positions now hold data.
func (c *KVCache) Commit(n int) { c.n += n }

// CopyFrom makes c hold exactly the positions of src, in src's type (beam
// search forks a sequence this way).
func (c *KVCache) CopyFrom(src *KVCache) {
	c.max, c.heads, c.headDim = src.max, src.heads, src.headDim
	if c.typ != src.typ || c.layers() != src.layers() {
		c.typ = src.typ
		c.setLayers(src.layers())
		c.capacity = 0
	}
	c.n = 0
	if c.capacity < src.n || c.layerLen() != c.heads*c.capacity*c.headDim {
		c.resize(max(src.n, 1))
	}
	c.n = src.n
	g := headCopy{n: c.n, heads: c.heads, hd: c.headDim, from: src.capacity, to: c.capacity}
	for l := range src.K {
		copyHeads(c.K[l], src.K[l], g)
		copyHeads(c.V[l], src.V[l], g)
	}
	for l := range src.K16 {
		copyHeads(c.K16[l], src.K16[l], g)
		copyHeads(c.V16[l], src.V16[l], g)
	}
}

// layerLen is the length of the first layer's keys (0 without layers).
func (c *KVCache) layerLen() int {
	switch {
	case len(c.K) > 0:
		return len(c.K[0])
	case len(c.K16) > 0:
		return len(c.K16[0])
	}
	return 0
}

// headCopy copies the first n positions of each of heads heads from a
// layer laid out for from positions per head to one laid out for to.
type headCopy struct{ n, heads, hd, from, to int }

func copyHeads[T float32 | uint16](dst, src []T, g headCopy) {
	for h := 0; h < g.heads; h++ {
		copy(dst[h*g.to*g.hd:(h*g.to+g.n)*g.hd], src[h*g.from*g.hd:(h*g.from+g.n)*g.hd])
	}
}

// regrow returns a layer laid out for g.to positions per head holding the
// first g.n positions of old.
func regrow[T float32 | uint16](old []T, g headCopy) []T {
	s := make([]T, g.heads*g.to*g.hd)
	if old != nil {
		copyHeads(s, old, g)
	}
	return s
}
