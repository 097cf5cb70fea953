package parallel

import (
	"fmt"
	"sync/atomic"
	"testing"
	"time"
)

func TestForCoversOnce(t *testing.T) {
	for _, threads := range []int{1, 2, 3, 8} {
		p := New(threads)
		for _, n := range []int{0, 1, 2, 7, 64, 1000, 4099} {
			for _, grain := range []int{0, 1, 3, 16, 5000} {
				hits := make([]int32, n)
				var calls atomic.Int32
				p.For(n, grain, func(lo, hi int) {
					calls.Add(1)
					if lo >= hi || lo < 0 || hi > n {
						t.Errorf("bad range [%d,%d) of %d", lo, hi, n)
						return
					}
					if g := max(grain, 1); lo%g != 0 || (hi != n && (hi-lo)%g != 0) {
						t.Errorf("threads=%d n=%d grain=%d: range [%d,%d) not on grain", threads, n, grain, lo, hi)
					}
					for i := lo; i < hi; i++ {
						atomic.AddInt32(&hits[i], 1)
					}
				})
				for i, h := range hits {
					if h != 1 {
						t.Fatalf("threads=%d n=%d grain=%d: index %d run %d times", threads, n, grain, i, h)
					}
				}
			}
		}
		p.Close()
	}
}

// A thread takes its own run of chunks front to back, then the others'
// runs back to front, starting with the next thread's.
func TestClaimOrder(t *testing.T) {
	var got []int
	j := &job{n: 10, grain: 1, segs: make([]segment, 3), fn: func(lo, hi int) { got = append(got, lo) }, done: make(chan struct{}, 1)}
	for i := range j.segs {
		j.segs[i].set(i*10/3, (i+1)*10/3)
	}
	j.left.Store(10)
	j.run(1)
	if want := []int{3, 4, 5, 9, 8, 7, 6, 2, 1, 0}; fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("thread 1 ran chunks %v, want %v", got, want)
	}
	if j.left.Load() != 0 {
		t.Errorf("%d chunks left", j.left.Load())
	}
}

// Results computed per index do not depend on the thread count.
func TestForDeterministic(t *testing.T) {
	const n = 5000
	ref := make([]float32, n)
	for i := range ref {
		ref[i] = float32(i) * 1.5
	}
	for _, threads := range []int{1, 2, 5} {
		p := New(threads)
		out := make([]float32, n)
		for rep := 0; rep < 50; rep++ {
			p.For(n, 16, func(lo, hi int) {
				for i := lo; i < hi; i++ {
					out[i] = float32(i) * 1.5
				}
			})
		}
		for i := range out {
			if out[i] != ref[i] {
				t.Fatalf("threads=%d: out[%d] = %v", threads, i, out[i])
			}
		}
		p.Close()
	}
}

// Workers that have parked must wake for the next call.
func TestForAfterIdle(t *testing.T) {
	p := New(4)
	defer p.Close()
	for rep := 0; rep < 3; rep++ {
		var sum atomic.Int64
		p.For(100, 1, func(lo, hi int) {
			for i := lo; i < hi; i++ {
				sum.Add(int64(i))
			}
		})
		if sum.Load() != 4950 {
			t.Fatalf("sum = %d", sum.Load())
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func TestNilAndConcurrent(t *testing.T) {
	var p *Pool
	ran := false
	p.For(10, 1, func(lo, hi int) { ran = lo == 0 && hi == 10 })
	if !ran {
		t.Fatal("nil pool did not run inline")
	}
	p.Close()

	q := New(3)
	defer q.Close()
	done := make(chan int64)
	for c := 0; c < 4; c++ {
		go func() {
			var s atomic.Int64
			for rep := 0; rep < 200; rep++ {
				q.For(64, 1, func(lo, hi int) { s.Add(int64(hi - lo)) })
			}
			done <- s.Load()
		}()
	}
	for c := 0; c < 4; c++ {
		if s := <-done; s != 64*200 {
			t.Fatalf("caller covered %d items", s)
		}
	}
}

// BenchmarkFor measures the fixed cost of one For with trivial work, as a
// token's couple of hundred small calls see it.
func BenchmarkFor(b *testing.B) {
	for _, threads := range []int{1, 2, 4} {
		p := New(threads)
		var sink atomic.Int64
		b.Run(fmt.Sprintf("threads%d", threads), func(b *testing.B) {
			for b.Loop() {
				p.For(64, 1, func(lo, hi int) { sink.Add(int64(hi - lo)) })
			}
		})
		p.Close()
	}
}
