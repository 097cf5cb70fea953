// Package parallel provides the persistent worker pool that runs the
// engine's matrix work. Workers are started once; a For call hands them
// index ranges and waits, so no goroutine is spawned per operation.
//
// A decoded token makes a couple of hundred For calls of a few to a few
// hundred microseconds each, so the hand-off itself must cost far less than
// that: a For publishes its job with one atomic store, workers claim chunks
// with one compare-and-swap each, and both sides spin for a short while before
// parking, so back-to-back calls never touch the scheduler while an idle
// engine does not burn CPU.
package parallel

import (
	"runtime"
	"sync"
	"sync/atomic"
)

// spinIters bounds how long a worker polls for the next job, and the caller
// for the last chunk, before parking: about 0.3 ms. A decoded token has
// gaps between For calls of up to ~50 µs (a norm and a quantisation on the
// caller while the worker waits for the caller's last chunk); with a 45 µs
// spin the worker parked about 50 times per token and each wake-up went
// through the scheduler, which cost 3-5 % of decode speed on the 2B-4T
// shape. An idle engine still parks within a millisecond. Every yieldEvery
// polls the spinner yields, so that on an oversubscribed machine a
// spinning thread does not starve the ones doing work.
const (
	spinIters  = 1 << 17
	yieldEvery = 256
)

// chunksPerThread is how many chunks For cuts each thread's share into.
// A For ends when its last chunk does, so a thread may wait up to a chunk
// for the other; a thread takes its own run of chunks in order, so small
// chunks do not break its stream, and a claim costs one uncontended
// compare-and-swap. With 8 the caller waited 1.4–1.7 ms per decoded token
// at the ends of calls (2B-4T shape, two threads; the lm_head's chunks
// were 41 MB), with 32 0.55–0.6 ms, and decode ran at 12.3–14.3 against
// 11.0–14.0 tok/s, faster in each of four pairs of runs taking turns;
// prefill was unchanged (pp128 69–77 against 69–80 tok/s).
const chunksPerThread = 32

// Pool is a fixed set of worker goroutines. A Pool runs one For at a time;
// concurrent callers are serialised.
type Pool struct {
	n  int
	mu sync.Mutex // serialises For

	// gen counts published jobs; a worker that has seen gen g runs the
	// job of g+1 once it appears. job holds the latest one (nil after Close).
	gen atomic.Uint64
	job atomic.Pointer[job]

	// Parking: a worker registers in sleepers under parkMu before its final
	// check of gen, and a publisher that sees sleepers > 0 broadcasts under
	// parkMu, so no wake-up is lost.
	parkMu   sync.Mutex
	parkCond *sync.Cond
	sleepers atomic.Int32

	// done carries the one wake-up of a parked For caller (see job.waiting).
	done chan struct{}

	closed atomic.Bool
	wg     sync.WaitGroup
}

type job struct {
	fn    func(lo, hi int)
	n     int
	grain int
	// The chunks are cut into one run per thread (segs[i] for thread i):
	// a thread takes its own run front to back, so that it reads one
	// contiguous stretch of a matrix, and then takes the other runs'
	// chunks from their backs. Handing out chunks in turn instead gave
	// each thread a stream that jumped every chunk, which the prefetchers
	// (the kernels' own, which run ahead into the next rows, and the
	// hardware's) follow badly: a large-model decode layer's four matrix
	// calls (1536 wide, distinct, one after another in memory) streamed at
	// 15.5-16.4 GB/s, against 16.7-17.6 GB/s in runs (2-vCPU Zen 3, same
	// process, taking turns), and 512-row matrices at 10.5-12.8 against
	// 13.9-18.1 GB/s.
	segs   []segment
	inline [4]segment   // segs of up to four threads, in the job's allocation
	left   atomic.Int64 // chunks not yet finished
	// The caller parks on the pool's done channel once it runs out of
	// chunks and has spun for a while; it sets waiting first, and whichever
	// of it and the worker finishing the last chunk flips waiting back to 0
	// decides whether a token is sent, so a token is never left behind.
	waiting atomic.Int32
	done    chan struct{}
}

// segment is a run of unclaimed chunks, front | back<<32 (back exclusive),
// on a cache line of its own so that the threads' claims do not contend.
type segment struct {
	state atomic.Uint64
	_     [56]byte
}

func (s *segment) set(front, back int) { s.state.Store(uint64(front) | uint64(back)<<32) }

// take claims the front chunk of the run, or with back its back chunk.
func (s *segment) take(back bool) (int, bool) {
	for {
		v := s.state.Load()
		f, b := uint32(v), uint32(v>>32)
		if f >= b {
			return 0, false
		}
		c, nv := f, uint64(f+1)|uint64(b)<<32
		if back {
			c, nv = b-1, uint64(f)|uint64(b-1)<<32
		}
		if s.state.CompareAndSwap(v, nv) {
			return int(c), true
		}
	}
}

// New starts a pool of n workers; n <= 0 means runtime.NumCPU().
// The calling goroutine also works, so n-1 goroutines are started.
func New(n int) *Pool {
	if n <= 0 {
		n = runtime.NumCPU()
	}
	p := &Pool{n: n, done: make(chan struct{}, 1)}
	p.parkCond = sync.NewCond(&p.parkMu)
	for i := 1; i < n; i++ {
		p.wg.Add(1)
		go p.worker(i)
	}
	return p
}

// Threads returns the number of threads that run a For.
func (p *Pool) Threads() int { return p.n }

func (p *Pool) worker(id int) {
	defer p.wg.Done()
	var seen uint64
	for {
		g := p.awaitGen(seen)
		if p.closed.Load() {
			return
		}
		seen = g
		// The job may already be a later one than g if this worker was slow;
		// running it is harmless (chunks are claimed atomically) and the
		// next round then finds nothing left.
		if j := p.job.Load(); j != nil {
			j.run(id)
		}
	}
}

// awaitGen returns the first generation other than seen, spinning first
// and then parking.
func (p *Pool) awaitGen(seen uint64) uint64 {
	for i := 1; i <= spinIters; i++ {
		if g := p.gen.Load(); g != seen || p.closed.Load() {
			return g
		}
		if i%yieldEvery == 0 {
			runtime.Gosched()
		}
	}
	p.parkMu.Lock()
	p.sleepers.Add(1)
	g := p.gen.Load()
	for g == seen && !p.closed.Load() {
		p.parkCond.Wait()
		g = p.gen.Load()
	}
	p.sleepers.Add(-1)
	p.parkMu.Unlock()
	return g
}

func (p *Pool) wake() {
	if p.sleepers.Load() > 0 {
		p.parkMu.Lock()
		p.parkCond.Broadcast()
		p.parkMu.Unlock()
	}
}

// claim returns a chunk for thread id: the front of its own run, else the
// back of another's.
func (j *job) claim(id int) (int, bool) {
	own := id % len(j.segs)
	if c, ok := j.segs[own].take(false); ok {
		return c, true
	}
	for k := 1; k < len(j.segs); k++ {
		if c, ok := j.segs[(own+k)%len(j.segs)].take(true); ok {
			return c, true
		}
	}
	return 0, false
}

// run claims and runs chunks for thread id until none are left.
func (j *job) run(id int) {
	for {
		c, ok := j.claim(id)
		if !ok {
			return
		}
		lo := c * j.grain
		j.fn(lo, min(lo+j.grain, j.n))
		if j.left.Add(-1) == 0 && j.waiting.CompareAndSwap(1, 0) {
			j.done <- struct{}{}
		}
	}
}

// wait returns once every chunk of j has finished.
func (j *job) wait() {
	for i := 1; i <= spinIters; i++ {
		if j.left.Load() == 0 {
			return
		}
		if i%yieldEvery == 0 {
			runtime.Gosched()
		}
	}
	j.waiting.Store(1)
	if j.left.Load() == 0 && j.waiting.CompareAndSwap(1, 0) {
		return
	}
	<-j.done
}

// For calls fn on disjoint ranges [lo,hi) that together cover [0,n), and
// returns when all calls have returned. Every range starts at a multiple of
// grain and, except the last, spans a multiple of grain items; how many
// multiples may depend on the thread count, so fn must compute each index's
// result independently of the range it came in. Then which thread runs a
// range never changes what it computes, and results do not depend on the
// thread count.
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
	// Aim for about chunksPerThread chunks per thread so uneven ranges
	// balance, without paying a claim per tiny chunk.
	if g := (n + chunksPerThread*p.n - 1) / (chunksPerThread * p.n); g > grain {
		grain = (g + grain - 1) / grain * grain
	}
	chunks := (n + grain - 1) / grain
	if chunks == 1 {
		fn(0, n)
		return
	}
	j := &job{fn: fn, n: n, grain: grain, done: p.done}
	if k := min(p.n, chunks); k <= len(j.inline) {
		j.segs = j.inline[:k]
	} else {
		j.segs = make([]segment, k)
	}
	for i := range j.segs {
		j.segs[i].set(i*chunks/len(j.segs), (i+1)*chunks/len(j.segs))
	}
	j.left.Store(int64(chunks))

	p.mu.Lock()
	defer p.mu.Unlock()
	p.job.Store(j)
	p.gen.Add(1)
	p.wake()
	j.run(0)
	j.wait()
}

// Close stops the workers. The pool must not be used afterwards.
func (p *Pool) Close() {
	if p == nil {
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed.Swap(true) {
		return
	}
	p.job.Store(nil)
	p.gen.Add(1)
	p.parkMu.Lock()
	p.parkCond.Broadcast()
	p.parkMu.Unlock()
	p.wg.Wait()
}
