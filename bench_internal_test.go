package bitnet

import "testing"

// Bench's bandwidth buffer outlives one call, so that a list of depths
// fills it once; a new size replaces it, and Close frees it.
func TestBandwidthBufferReuse(t *testing.T) {
	eng, err := NewEngine(Options{Threads: 2})
	if err != nil {
		t.Fatal(err)
	}
	m, err := eng.Load(t.Context(), "")
	if err != nil {
		t.Fatal(err)
	}
	bench := func(n int64) *bandwidthTest {
		t.Helper()
		r, err := m.Bench(t.Context(), BenchOptions{Prompt: 1, Gen: 1, Reps: 1, BandwidthBytes: n})
		if err != nil {
			t.Fatal(err)
		}
		if r.BandwidthGBs <= 0 || r.BandwidthBytes != n {
			t.Fatalf("%+v", r)
		}
		if eng.bw == nil || int64(len(eng.bw.buf))*8 != n {
			t.Fatalf("buffer for %d bytes: %v", n, eng.bw)
		}
		return eng.bw
	}
	a := bench(1 << 20)
	if b := bench(1 << 20); b != a {
		t.Error("the same size made a new buffer")
	}
	if c := bench(2 << 20); c == a {
		t.Error("a new size kept the old buffer")
	}
	if err := eng.Close(); err != nil {
		t.Fatal(err)
	}
	if eng.bw != nil {
		t.Error("Close kept the buffer")
	}
}
