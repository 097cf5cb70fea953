package model

import (
	"errors"
	"testing"
)

// kvValue is the value stored at (layer, pos, head, j), distinct for each.
func kvValue(l, pos, h, j int) float32 { return float32(l*1e6 + pos*1e3 + h*1e2 + j) }

func putPositions(c *KVCache, layers, heads, hd, from, to int) {
	k, v := make([]float32, heads*hd), make([]float32, heads*hd)
	for l := 0; l < layers; l++ {
		for p := from; p < to; p++ {
			for h := 0; h < heads; h++ {
				for j := 0; j < hd; j++ {
					k[h*hd+j] = kvValue(l, p, h, j)
					v[h*hd+j] = -kvValue(l, p, h, j)
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
			k, v := c.Head(l, h, n)
			if len(k) != n*hd || len(v) != n*hd {
				t.Fatalf("layer %d head %d: %d keys, %d values for %d positions", l, h, len(k), len(v), n)
			}
			for p := 0; p < n; p++ {
				for j := 0; j < hd; j++ {
					if want := kvValue(l, p, h, j); k[p*hd+j] != want || v[p*hd+j] != -want {
						t.Fatalf("layer %d pos %d head %d [%d]: %v/%v, want %v", l, p, h, j, k[p*hd+j], v[p*hd+j], want)
					}
				}
			}
		}
	}
}

// Positions survive every regrowth of the head-major layout, a copy for a
// beam fork, and a truncation; the context limit is an ErrContextFull.
func TestKVCacheGrowth(t *testing.T) {
	const layers, heads, hd, maxLen = 2, 3, 4, 300
	c := NewKVCache(layers, heads, hd, maxLen)
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
	var fork KVCache
	fork.CopyFrom(c)
	checkPositions(t, &fork, layers, heads, hd, n)
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
