package model

import "fmt"

// KVCache holds the keys and values of one sequence for every layer, in
// float32, position-major: K[layer][pos*kvDim + j].
type KVCache struct {
	K, V  [][]float32
	kvDim int
	n     int
	max   int
}

// NewKVCache makes a cache for up to maxLen positions. Memory grows with
// use, so a long context costs nothing until it is filled.
func NewKVCache(layers, kvDim, maxLen int) *KVCache {
	return &KVCache{K: make([][]float32, layers), V: make([][]float32, layers), kvDim: kvDim, max: maxLen}
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

// reserve makes room for n more positions in every layer.
func (c *KVCache) reserve(n int) error {
	need := c.n + n
	if need > c.max {
		return fmt.Errorf("%w: %d positions needed, context holds %d", ErrContextFull, need, c.max)
	}
	for l := range c.K {
		if cap(c.K[l]) < need*c.kvDim {
			// Double, to amortise copies, but never past the context.
			newCap := min(max(need, 2*cap(c.K[l])/c.kvDim, 64), c.max)
			k := make([]float32, len(c.K[l]), newCap*c.kvDim)
			copy(k, c.K[l])
			v := make([]float32, len(c.V[l]), newCap*c.kvDim)
			copy(v, c.V[l])
			c.K[l], c.V[l] = k, v
		}
		c.K[l] = c.K[l][:need*c.kvDim]
		c.V[l] = c.V[l][:need*c.kvDim]
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
	c.n = src.n
	c.max = src.max
	c.kvDim = src.kvDim
	for l := range src.K {
		c.K[l] = append(c.K[l][:0], src.K[l][:src.n*src.kvDim]...)
		c.V[l] = append(c.V[l][:0], src.V[l][:src.n*src.kvDim]...)
	}
}
