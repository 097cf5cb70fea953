// Package parallel provides the persistent worker pool that runs the
// engine's matrix work. Workers are started once; a For call hands them
// index ranges and waits, so no goroutine is spawned per operation.
package parallel

import (
	"runtime"
	"sync"
	"sync/atomic"
)

// Pool is a fixed set of worker goroutines. A Pool runs one For at a time;
// concurrent callers are serialised.
type Pool struct {
	n    int
	mu   sync.Mutex
	work chan *job
	wg   sync.WaitGroup
	done chan struct{}
}

type job struct {
	fn    func(lo, hi int)
	n     int
	grain int
	next  atomic.Int64
	wg    sync.WaitGroup
}

// New starts a pool of n workers; n <= 0 means runtime.NumCPU().
// The calling goroutine also works, so n-1 goroutines are started.
func New(n int) *Pool {
	if n <= 0 {
		n = runtime.NumCPU()
	}
	p := &Pool{n: n, work: make(chan *job), done: make(chan struct{})}
	for i := 1; i < n; i++ {
		p.wg.Add(1)
		go p.worker()
	}
	return p
}

// Threads returns the number of threads that run a For.
func (p *Pool) Threads() int { return p.n }

func (p *Pool) worker() {
	defer p.wg.Done()
	for {
		select {
		case j := <-p.work:
			j.run()
			j.wg.Done()
		case <-p.done:
			return
		}
	}
}

func (j *job) run() {
	for {
		lo := int(j.next.Add(int64(j.grain))) - j.grain
		if lo >= j.n {
			return
		}
		j.fn(lo, min(lo+j.grain, j.n))
	}
}

// For calls fn on disjoint ranges [lo,hi) that together cover [0,n), in
// chunks of at least grain items, and returns when all calls have returned.
// Which thread runs a range never changes what it computes, so results do
// not depend on the thread count.
func (p *Pool) For(n, grain int, fn func(lo, hi int)) {
	if n <= 0 {
		return
	}
	if grain < 1 {
		grain = 1
	}
	if p == nil || p.n == 1 || n <= grain {
		fn(0, n)
		return
	}
	// Aim for a few chunks per thread so uneven ranges balance.
	if g := (n + 4*p.n - 1) / (4 * p.n); g > grain {
		grain = g
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	j := &job{fn: fn, n: n, grain: grain}
	helpers := min(p.n-1, (n+grain-1)/grain-1)
	j.wg.Add(helpers)
	for i := 0; i < helpers; i++ {
		p.work <- j
	}
	j.run()
	j.wg.Wait()
}

// Close stops the workers.
func (p *Pool) Close() {
	if p == nil {
		return
	}
	close(p.done)
	p.wg.Wait()
}
