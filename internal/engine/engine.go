// Package engine runs generation requests against a model with continuous
// batching: every active sequence advances in one batched forward step, and
// a new request's prompt joins the running batch at the next step.
// run, chat, batch files and the server all go through it.
package engine

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/bitnet-go/bitnet/internal/model"
	"github.com/bitnet-go/bitnet/internal/sample"
)

// Sampler picks the next token from logits; history is prompt + output.
// SampleWithLogprobs also reports the chosen token's log-probability and
// the n most likely tokens, measured on the logits as they came in.
// *sample.Sampler is the implementation.
type Sampler interface {
	Sample(logits []float32, history []int32) int32
	SampleWithLogprobs(logits []float32, history []int32, n int) (int32, TokenLogprob, []TokenLogprob)
}

// Session carries a KV cache from one request to the next (a chat), so a
// turn only computes the tokens that differ from the previous prompt.
type Session struct {
	mu     sync.Mutex
	cache  *model.KVCache
	tokens []int32 // what the cache holds
}

// Reset forgets the cached conversation.
func (s *Session) Reset() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.cache, s.tokens = nil, nil
}

// Len returns the positions the session's cache holds.
func (s *Session) Len() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.tokens)
}

// Request is one generation.
type Request struct {
	Prompt    []int32
	MaxTokens int // 0: until a stop token or the context is full
	StopIDs   []int32
	Sampler   Sampler
	// TopLogprobs > 0 asks for that many alternatives per token;
	// Logprobs asks for the chosen token's log-probability.
	Logprobs    bool
	TopLogprobs int
	Session     *Session // optional
	// CtxLen bounds prompt + output; 0 means the engine's context.
	CtxLen int
}

// Finish reasons, as the OpenAI API names them.
const (
	FinishStop   = "stop"   // a stop token (or, above this layer, a stop string)
	FinishLength = "length" // max tokens or the context limit
)

// Event is one generated token, or the end of the request.
type Event struct {
	ID      int32
	Logprob float32
	Top     []TokenLogprob
	// Done is set on the last event; Finish says why, Err if it failed.
	Done   bool
	Finish string
	Err    error
	// Timings are filled on the last event.
	PromptTokens, CachedTokens, GenTokens int
	PromptDur, GenDur                     time.Duration
}

// TokenLogprob is one alternative token and its log-probability.
type TokenLogprob = sample.TokenLogprob

// Options configure an Engine.
type Options struct {
	Slots      int // sequences advanced together; default 4
	Queue      int // requests waiting beyond the slots; default 64, <0 none
	CtxLen     int // per-sequence context; default the model's
	PrefillMax int // prompt tokens per sequence per step; default 512
}

// ErrQueueFull is returned when the engine cannot take another request.
var ErrQueueFull = errors.New("engine: too many requests queued")

// ErrClosed is returned after Close.
var ErrClosed = errors.New("engine: closed")

// Engine schedules requests on one model.
type Engine struct {
	m        model.Model
	opts     Options
	queue    chan *job
	closed   chan struct{}
	done     chan struct{}
	once     sync.Once
	stats    Stats
	statsMu  sync.Mutex
	busy     atomic.Int64
	waiting  atomic.Int64
	kvBytes  atomic.Int64
	inflight atomic.Int64
}

// Stats are running totals.
type Stats struct {
	Requests, Completed, Cancelled, Failed int64
	PromptTokens, GenTokens                int64
	Steps                                  int64
	PromptDur, GenDur                      time.Duration
}

type job struct {
	ctx     context.Context
	req     Request
	out     chan Event
	cache   *model.KVCache
	pending []int32 // tokens still to feed
	history []int32
	gen     int
	start   time.Time
	first   time.Time
	cached  int
}

// New starts an engine on m.
func New(m model.Model, o Options) *Engine {
	if o.Slots <= 0 {
		o.Slots = 4
	}
	if o.Queue == 0 {
		o.Queue = 64
	} else if o.Queue < 0 {
		o.Queue = 0
	}
	if o.CtxLen <= 0 || o.CtxLen > m.Config().MaxPos {
		o.CtxLen = m.Config().MaxPos
	}
	if o.PrefillMax <= 0 {
		o.PrefillMax = 512
	}
	e := &Engine{m: m, opts: o, queue: make(chan *job, o.Slots+o.Queue), closed: make(chan struct{}), done: make(chan struct{})}
	go e.loop()
	return e
}

// CtxLen returns the per-sequence context length.
func (e *Engine) CtxLen() int { return e.opts.CtxLen }

// Slots returns the number of sequence slots.
func (e *Engine) Slots() int { return e.opts.Slots }

// Busy returns the number of sequences being generated.
func (e *Engine) Busy() int { return int(e.busy.Load()) }

// Waiting returns the number of queued requests.
func (e *Engine) Waiting() int { return int(e.waiting.Load()) }

// KVBytes returns the memory held by active KV caches.
func (e *Engine) KVBytes() int64 { return e.kvBytes.Load() }

// Stats returns the running totals.
func (e *Engine) Stats() Stats {
	e.statsMu.Lock()
	defer e.statsMu.Unlock()
	return e.stats
}

// Submit queues a request. Events arrive on the returned channel, which is
// closed after the Done event. Cancelling ctx ends the request at the next
// step (Finish "", Err ctx.Err()).
func (e *Engine) Submit(ctx context.Context, r Request) (<-chan Event, error) {
	ctxLen := e.opts.CtxLen
	if r.CtxLen > 0 && r.CtxLen < ctxLen {
		ctxLen = r.CtxLen
	}
	if len(r.Prompt) == 0 {
		return nil, errors.New("empty prompt")
	}
	if len(r.Prompt) >= ctxLen {
		return nil, fmt.Errorf("%w: the prompt has %d tokens and the context holds %d", model.ErrContextFull, len(r.Prompt), ctxLen)
	}
	vocab := e.m.Config().Vocab
	for _, id := range r.Prompt {
		if id < 0 || int(id) >= vocab {
			return nil, fmt.Errorf("prompt token id %d is outside the vocabulary (0..%d)", id, vocab-1)
		}
	}
	if r.Sampler == nil {
		return nil, errors.New("request has no sampler")
	}
	// The channel holds every event the request can produce, so a slow
	// reader never stalls the other sequences of the batch.
	room := ctxLen - len(r.Prompt)
	if r.MaxTokens > 0 && r.MaxTokens < room {
		room = r.MaxTokens
	}
	j := &job{ctx: ctx, req: r, out: make(chan Event, room+1), start: time.Now()}
	j.req.CtxLen = ctxLen
	select {
	case <-e.closed:
		return nil, ErrClosed
	default:
	}
	// Admission counts queued and running requests together, so a free
	// slot always takes a request even with no queue.
	if e.inflight.Add(1) > int64(e.opts.Slots+e.opts.Queue) {
		e.inflight.Add(-1)
		return nil, ErrQueueFull
	}
	e.waiting.Add(1)
	e.queue <- j
	e.statsMu.Lock()
	e.stats.Requests++
	e.statsMu.Unlock()
	return j.out, nil
}

// Close stops taking requests, finishes nothing more, and waits for the
// scheduler to exit; queued and active requests end with ErrClosed.
func (e *Engine) Close() {
	e.once.Do(func() { close(e.closed) })
	<-e.done
}

func (e *Engine) loop() {
	defer close(e.done)
	var active []*job
	for {
		// Block when idle.
		if len(active) == 0 {
			select {
			case j := <-e.queue:
				e.waiting.Add(-1)
				active = append(active, e.admit(j)...)
			case <-e.closed:
				e.drain(active)
				return
			}
		}
		// Top up free slots without blocking.
	fill:
		for len(active) < e.opts.Slots {
			select {
			case j := <-e.queue:
				e.waiting.Add(-1)
				active = append(active, e.admit(j)...)
			default:
				break fill
			}
		}
		select {
		case <-e.closed:
			e.drain(active)
			return
		default:
		}
		active = e.step(active)
		e.busy.Store(int64(len(active)))
		var kv int64
		for _, j := range active {
			kv += j.cache.Bytes()
		}
		e.kvBytes.Store(kv)
	}
}

func (e *Engine) drain(active []*job) {
	for _, j := range active {
		e.finish(j, "", ErrClosed)
	}
	for {
		select {
		case j := <-e.queue:
			e.waiting.Add(-1)
			e.finish(j, "", ErrClosed)
		default:
			return
		}
	}
}

// admit prepares a job's cache, reusing its session's prefix.
func (e *Engine) admit(j *job) []*job {
	if err := j.ctx.Err(); err != nil {
		e.finish(j, "", err)
		return nil
	}
	if s := j.req.Session; s != nil {
		s.mu.Lock()
		if s.cache != nil && s.cache.Cap() >= j.req.CtxLen {
			n := commonPrefix(s.tokens, j.req.Prompt)
			if n == len(j.req.Prompt) {
				n-- // the last prompt token must run to give logits
			}
			s.cache.Truncate(n)
			j.cache, j.cached = s.cache, n
		}
		s.cache, s.tokens = nil, nil // the job owns it until it ends
		s.mu.Unlock()
	}
	if j.cache == nil {
		j.cache = e.m.NewCache(j.req.CtxLen)
	}
	j.pending = j.req.Prompt[j.cached:]
	j.history = slices.Clone(j.req.Prompt)
	e.busy.Add(1)
	return []*job{j}
}

func commonPrefix(a, b []int32) int {
	n := 0
	for n < len(a) && n < len(b) && a[n] == b[n] {
		n++
	}
	return n
}

// step runs one forward pass over every active job and returns the jobs
// still running.
func (e *Engine) step(active []*job) []*job {
	live := active[:0]
	for _, j := range active {
		if err := j.ctx.Err(); err != nil {
			e.finish(j, "", err)
			continue
		}
		live = append(live, j)
	}
	active = live
	if len(active) == 0 {
		return active
	}
	batch := make([]model.Input, len(active))
	fed := make([]int, len(active))
	for i, j := range active {
		n := min(len(j.pending), e.opts.PrefillMax)
		batch[i] = model.Input{Seq: j.cache, Tokens: j.pending[:n]}
		fed[i] = n
	}
	logits, err := e.m.Forward(batch)
	e.statsMu.Lock()
	e.stats.Steps++
	e.statsMu.Unlock()
	if err != nil {
		for _, j := range active {
			e.finish(j, "", err)
		}
		return active[:0]
	}
	now := time.Now()
	live = active[:0]
	for i, j := range active {
		j.pending = j.pending[fed[i]:]
		if len(j.pending) > 0 { // prompt not finished yet
			live = append(live, j)
			continue
		}
		if j.first.IsZero() {
			j.first = now
		}
		lg := logits[i]
		ev := Event{}
		var id int32
		if j.req.Logprobs || j.req.TopLogprobs > 0 {
			// Log-probabilities describe the model: the sampler measures
			// them on the raw logits, before its penalties change them.
			var chosen TokenLogprob
			id, chosen, ev.Top = j.req.Sampler.SampleWithLogprobs(lg, j.history, j.req.TopLogprobs)
			ev.Logprob = chosen.Logprob
		} else {
			id = j.req.Sampler.Sample(lg, j.history)
		}
		ev.ID = id
		j.history = append(j.history, id)
		j.gen++
		j.out <- ev
		switch {
		case slices.Contains(j.req.StopIDs, id):
			e.finish(j, FinishStop, nil)
		case j.req.MaxTokens > 0 && j.gen >= j.req.MaxTokens:
			e.finish(j, FinishLength, nil)
		case j.cache.Len()+1 >= j.cache.Cap():
			e.finish(j, FinishLength, nil)
		default:
			j.pending = j.history[len(j.history)-1:]
			live = append(live, j)
		}
	}
	return live
}

// finish sends the last event, closes the channel and hands the cache back
// to the session.
func (e *Engine) finish(j *job, reason string, err error) {
	now := time.Now()
	ev := Event{Done: true, Finish: reason, Err: err, PromptTokens: len(j.req.Prompt), CachedTokens: j.cached, GenTokens: j.gen}
	if !j.first.IsZero() {
		ev.PromptDur = j.first.Sub(j.start)
		ev.GenDur = now.Sub(j.first)
	}
	if j.cache != nil {
		e.busy.Add(-1)
		// A cancelled job's cache is consistent (cancellation is checked
		// between steps), so the session keeps it: an interrupted chat turn
		// or a stop string does not cost the conversation its cache.
		keep := err == nil || errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded)
		if s := j.req.Session; s != nil && keep {
			s.mu.Lock()
			// The last sampled token has not been fed, so the cache holds
			// one position less than the history.
			s.cache, s.tokens = j.cache, slices.Clone(j.history[:j.cache.Len()])
			s.mu.Unlock()
		}
	}
	e.statsMu.Lock()
	switch {
	case err == nil:
		e.stats.Completed++
	case errors.Is(err, context.Canceled), errors.Is(err, context.DeadlineExceeded):
		e.stats.Cancelled++
	default:
		e.stats.Failed++
	}
	e.stats.PromptTokens += int64(len(j.req.Prompt) - j.cached)
	e.stats.GenTokens += int64(j.gen)
	e.stats.PromptDur += ev.PromptDur
	e.stats.GenDur += ev.GenDur
	e.statsMu.Unlock()
	j.out <- ev
	close(j.out)
	e.inflight.Add(-1)
}
