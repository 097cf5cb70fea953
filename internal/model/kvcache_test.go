package model

import (
	"errors"
	"testing"

	"github.com/bitnet-go/bitnet/internal/kernels"
)

// kvValue is the value stored at (layer, pos, head, j), distinct for each
// and exact in the cache's type (f16 values are distinct halves).
func kvValue(typ KVType, l, pos, h, j int) float32 {
	if typ == KVF16 {
		return kernels.F16ToF32(uint16(0x1000 + ((l*1000+pos)*8+h)*8 + j))
	}
	return float32(l*1e6 + pos*1e3 + h*1e2 + j)
}

func putPositions(c *KVCache, layers, heads, hd, from, to int) {
	k, v := make([]float32, heads*hd), make([]float32, heads*hd)
	for l := 0; l < layers; l++ {
		for p := from; p < to; p++ {
			for h := 0; h < heads; h++ {
				for j := 0; j < hd; j++ {
					k[h*hd+j] = kvValue(c.Type(), l, p, h, j)
					v[h*hd+j] = -kvValue(c.Type(), l, p, h, j)
				}
			}
			c.Put(l, p, k, v)
		}
	}
}

func checkPositions(t *testing.T, c *KVCache, layers, heads, hd, n int) {
	t.Helper()
	for l := 0; l < layers; l++ {
		for h := 0; h < heads; h++ {
			k, v := headF32(c, l, h, n)
			if len(k) != n*hd || len(v) != n*hd {
				t.Fatalf("layer %d head %d: %d keys, %d values for %d positions", l, h, len(k), len(v), n)
			}
			for p := 0; p < n; p++ {
				for j := 0; j < hd; j++ {
					if want := kvValue(c.Type(), l, p, h, j); k[p*hd+j] != want || v[p*hd+j] != -want {
						t.Fatalf("%v layer %d pos %d head %d [%d]: %v/%v, want %v", c.Type(), l, p, h, j, k[p*hd+j], v[p*hd+j], want)
					}
				}
			}
		}
	}
}

// headF32 returns a head's keys and values as float32s, from either type.
func headF32(c *KVCache, l, h, n int) (k, v []float32) {
	if c.Type() == KVF32 {
		return c.Head(l, h, n)
	}
	k16, v16 := c.HeadF16(l, h, n)
	k, v = make([]float32, len(k16)), make([]float32, len(v16))
	kernels.F16RowToF32(k, k16)
	kernels.F16RowToF32(v, v16)
	return k, v
}

// Positions survive every regrowth of the head-major layout, a copy for a
// beam fork, and a truncation; the context limit is an ErrContextFull.
func TestKVCacheGrowth(t *testing.T) {
	for _, typ := range []KVType{KVF32, KVF16} {
		t.Run(typ.String(), func(t *testing.T) { testKVCacheGrowth(t, typ) })
	}
}

func testKVCacheGrowth(t *testing.T, typ KVType) {
	const layers, heads, hd, maxLen = 2, 3, 4, 300
	c := NewKVCache(typ, layers, heads, hd, maxLen)
	if want := int64(0); c.Bytes() != want {
		t.Fatalf("empty cache holds %d bytes", c.Bytes())
	}
	n := 0
	for _, step := range []int{1, 5, 60, 1, 100, 33} {
		start, err := c.Reserve(step)
		if err != nil || start != n {
			t.Fatalf("Reserve(%d) = %d, %v; want %d", step, start, err, n)
		}
		putPositions(c, layers, heads, hd, n, n+step)
		c.Commit(step)
		n += step
		checkPositions(t, c, layers, heads, hd, n)
	}
	if want := int64(2*layers*heads*hd*typ.Bytes()) * 256; c.Bytes() != want {
		// 256: the capacity after doubling from 64 for 200 positions.
		t.Fatalf("cache holds %d bytes, want %d", c.Bytes(), want)
	}
	var fork KVCache
	fork.CopyFrom(c)
	checkPositions(t, &fork, layers, heads, hd, n)
	if fork.Type() != typ {
		t.Fatalf("fork of a %v cache is %v", typ, fork.Type())
	}
	if fork.Len() != n || fork.Cap() != maxLen {
		t.Fatalf("fork holds %d of %d", fork.Len(), fork.Cap())
	}
	// The fork grows on its own without disturbing the original.
	if _, err := fork.Reserve(maxLen - n); err != nil {
		t.Fatal(err)
	}
	putPositions(&fork, layers, heads, hd, n, maxLen)
	fork.Commit(maxLen - n)
	checkPositions(t, &fork, layers, heads, hd, maxLen)
	checkPositions(t, c, layers, heads, hd, n)

	c.Truncate(10)
	if c.Len() != 10 {
		t.Fatalf("Len after Truncate(10) = %d", c.Len())
	}
	checkPositions(t, c, layers, heads, hd, 10)
	if _, err := c.Reserve(maxLen); !errors.Is(err, ErrContextFull) {
		t.Fatalf("Reserve past the context: %v", err)
	}
}
