package model

import "fmt"

// KVCache holds the keys and values of one sequence for every layer, in
// float32 and head-major: layer l's key j of position p of KV head h is
// K[l][(h*capacity+p)*headDim+j]. One head's keys and values are then
// contiguous, so attention streams them linearly (position-major rows
// read 512-byte pieces 2.5 KB apart on the 2B-4T shape, which made
// attention over 1024 positions about 30 % slower).
type KVCache struct {
	K, V           [][]float32
	heads, headDim int
	capacity       int // positions allocated per head
	n              int
	max            int
}

// NewKVCache makes a cache for up to maxLen positions of kvHeads heads of
// headDim values. Memory grows with use, so a long context costs nothing
// until it is filled.
func NewKVCache(layers, kvHeads, headDim, maxLen int) *KVCache {
	return &KVCache{K: make([][]float32, layers), V: make([][]float32, layers), heads: kvHeads, headDim: headDim, max: maxLen}
}

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
	return b
}

// Put stores the keys and values of position pos in layer l: k and v hold
// all heads, head after head.
func (c *KVCache) Put(l, pos int, k, v []float32) {
	hd := c.headDim
	for h := 0; h < c.heads; h++ {
		o := (h*c.capacity + pos) * hd
		copy(c.K[l][o:o+hd], k[h*hd:(h+1)*hd])
		copy(c.V[l][o:o+hd], v[h*hd:(h+1)*hd])
	}
}

// Head returns head h's keys and values in layer l for positions 0..n-1,
// headDim values per position.
func (c *KVCache) Head(l, h, n int) (k, v []float32) {
	o := h * c.capacity * c.headDim
	return c.K[l][o : o+n*c.headDim], c.V[l][o : o+n*c.headDim]
}

// resize reallocates every layer for capacity positions per head, keeping
// the first n positions of each head.
func (c *KVCache) resize(capacity int) {
	hd := c.headDim
	for l := range c.K {
		k := make([]float32, c.heads*capacity*hd)
		v := make([]float32, c.heads*capacity*hd)
		if c.K[l] != nil {
			copyHeads(k, capacity, c.K[l], c.capacity, c.n, c.heads, hd)
			copyHeads(v, capacity, c.V[l], c.capacity, c.n, c.heads, hd)
		}
		c.K[l], c.V[l] = k, v
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

// CopyFrom makes c hold exactly the positions of src (beam search forks a
// sequence this way).
func (c *KVCache) CopyFrom(src *KVCache) {
	c.max, c.heads, c.headDim = src.max, src.heads, src.headDim
	if len(c.K) != len(src.K) {
		c.K, c.V = make([][]float32, len(src.K)), make([][]float32, len(src.K))
		c.capacity = 0
	}
	c.n = 0
	if c.capacity < src.n || len(c.K) > 0 && len(c.K[0]) != c.heads*c.capacity*c.headDim {
		c.resize(max(src.n, 1))
	}
	c.n = src.n
	for l := range src.K {
		copyHeads(c.K[l], c.capacity, src.K[l], src.capacity, c.n, c.heads, c.headDim)
		copyHeads(c.V[l], c.capacity, src.V[l], src.capacity, c.n, c.heads, c.headDim)
	}
}

// copyHeads copies the first n positions of each of heads heads from src,
// laid out for srcCap positions per head, to dst, laid out for dstCap.
func copyHeads(dst []float32, dstCap int, src []float32, srcCap, n, heads, hd int) {
	for h := 0; h < heads; h++ {
		copy(dst[h*dstCap*hd:(h*dstCap+n)*hd], src[h*srcCap*hd:(h*srcCap+n)*hd])
	}
}
