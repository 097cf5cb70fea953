package arena

import (
	"runtime"
	"sync"
	"testing"
)

func TestAlloc(t *testing.T) {
	a := New()
	defer a.Close()
	sizes := []int{1, 63, 64, 65, 4096, 3 << 20, chunk - 100, chunk + 1, 0, 7}
	var got [][]byte
	for _, n := range sizes {
		b := a.Alloc(n)
		if len(b) != n || cap(b) != n {
			t.Fatalf("Alloc(%d): len %d cap %d", n, len(b), cap(b))
		}
		if n > 0 && addr(b)%align != 0 {
			t.Errorf("Alloc(%d) at %#x, not %d-byte aligned", n, addr(b), align)
		}
		for i, v := range b {
			if v != 0 {
				t.Fatalf("Alloc(%d)[%d] = %d, want zeroed memory", n, i, v)
			}
		}
		for i := range b {
			b[i] = byte(len(got) + 1)
		}
		got = append(got, b)
	}
	// Writing each block must not have touched another.
	for k, b := range got {
		for i, v := range b {
			if v != byte(k+1) {
				t.Fatalf("block %d (%d bytes) byte %d = %d, want %d: blocks overlap", k, len(b), i, v, k+1)
			}
		}
	}
	if a.Bytes() < int64(chunk+1) {
		t.Errorf("Bytes() = %d, less than was handed out", a.Bytes())
	}
	if runtime.GOOS == "linux" && addr(got[0])%hugePage != 0 {
		t.Errorf("first block at %#x: mappings should start on a huge page", addr(got[0]))
	}
	if err := a.Close(); err != nil {
		t.Fatal(err)
	}
	if a.Bytes() != 0 {
		t.Errorf("Bytes() after Close = %d", a.Bytes())
	}
	// Usable again after Close.
	if b := a.Alloc(100); len(b) != 100 {
		t.Fatal("Alloc after Close")
	}
}

func TestNilArena(t *testing.T) {
	var a *Arena
	b := a.Alloc(10)
	if len(b) != 10 {
		t.Fatalf("nil arena: len %d", len(b))
	}
	if a.Bytes() != 0 || a.Close() != nil {
		t.Fatal("nil arena: Bytes or Close")
	}
}

func TestConcurrent(t *testing.T) {
	a := New()
	defer a.Close()
	var wg sync.WaitGroup
	blocks := make([][]byte, 64)
	for g := range blocks {
		wg.Add(1)
		go func() {
			defer wg.Done()
			b := a.Alloc(1 << 20)
			for i := range b {
				b[i] = byte(g)
			}
			blocks[g] = b
		}()
	}
	wg.Wait()
	for g, b := range blocks {
		for i, v := range b {
			if v != byte(g) {
				t.Fatalf("block %d byte %d = %d: concurrent allocations overlap", g, i, v)
			}
		}
	}
}

func TestNegative(t *testing.T) {
	defer func() {
		if recover() == nil {
			t.Fatal("Alloc(-1) did not panic")
		}
	}()
	New().Alloc(-1)
}
