package engine

import (
	"context"
	"errors"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/bitnet-go/bitnet/internal/model"
	_ "github.com/bitnet-go/bitnet/internal/model/bitnet"
	"github.com/bitnet-go/bitnet/internal/parallel"
	"github.com/bitnet-go/bitnet/internal/sample"
)

type greedy struct{}

func (greedy) Sample(l []float32, _ []int32) int32 {
	best := 0
	for i, v := range l {
		if v > l[best] {
			best = i
		}
	}
	return int32(best)
}

func (g greedy) SampleWithLogprobs(l []float32, h []int32, n int) (int32, TokenLogprob, []TokenLogprob) {
	lse := sample.LogSumExp(l)
	id := g.Sample(l, h)
	return id, TokenLogprob{ID: id, Logprob: float32(float64(l[id]) - lse)}, sample.TopLogprobs(l, n)
}

var prompts = [][]int32{
	{4086, 411, 432, 258, 385, 44, 384, 277, 258, 373, 423, 509, 424, 46},
	{4086, 411, 432, 258, 385},
	{4086, 600, 700, 800},
}

func loadTiny(t testing.TB) model.Model {
	t.Helper()
	pool := parallel.New(2)
	m, err := model.Load("../embedded/tiny", model.Options{Pool: pool})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { m.Close(); pool.Close() })
	return m
}

func collect(t *testing.T, ch <-chan Event) ([]int32, Event) {
	t.Helper()
	var ids []int32
	for ev := range ch {
		if ev.Done {
			return ids, ev
		}
		ids = append(ids, ev.ID)
	}
	t.Fatal("channel closed without a Done event")
	return nil, Event{}
}

// direct decodes greedily with the model alone, one token a step.
func direct(t *testing.T, m model.Model, prompt []int32, n int) []int32 {
	seq := m.NewCache(0)
	out, err := m.Forward([]model.Input{{Seq: seq, Tokens: prompt}})
	if err != nil {
		t.Fatal(err)
	}
	var ids []int32
	for len(ids) < n {
		id := greedy{}.Sample(out[0], nil)
		ids = append(ids, id)
		if out, err = m.Forward([]model.Input{{Seq: seq, Tokens: []int32{id}}}); err != nil {
			t.Fatal(err)
		}
	}
	return ids
}

func TestConcurrentEqualsAlone(t *testing.T) {
	m := loadTiny(t)
	e := New(m, Options{Slots: 3})
	defer e.Close()
	var wg sync.WaitGroup
	got := make([][]int32, 6)
	for i := range got {
		wg.Add(1)
		go func() {
			defer wg.Done()
			ch, err := e.Submit(context.Background(), Request{Prompt: prompts[i%3], MaxTokens: 12 + i, Sampler: greedy{}})
			if err != nil {
				t.Error(err)
				return
			}
			ids, ev := collect(t, ch)
			if ev.Err != nil || ev.Finish != FinishLength {
				t.Errorf("request %d ended with %q, %v", i, ev.Finish, ev.Err)
			}
			got[i] = ids
		}()
	}
	wg.Wait()
	for i, ids := range got {
		want := direct(t, m, prompts[i%3], 12+i)
		if !slices.Equal(ids, want) {
			t.Errorf("request %d: batched %v, alone %v", i, ids, want)
		}
	}
	if s := e.Stats(); s.Completed != 6 || s.GenTokens == 0 {
		t.Errorf("stats %+v", s)
	}
}

func TestStopToken(t *testing.T) {
	m := loadTiny(t)
	e := New(m, Options{})
	defer e.Close()
	want := direct(t, m, prompts[0], 5)
	ch, err := e.Submit(context.Background(), Request{Prompt: prompts[0], StopIDs: []int32{want[2]}, Sampler: greedy{}})
	if err != nil {
		t.Fatal(err)
	}
	ids, ev := collect(t, ch)
	if ev.Finish != FinishStop || !slices.Equal(ids, want[:3]) {
		t.Fatalf("got %v finish %q, want %v stop", ids, ev.Finish, want[:3])
	}
}

func TestCancelFreesSlot(t *testing.T) {
	m := loadTiny(t)
	e := New(m, Options{Slots: 1, Queue: 1})
	defer e.Close()
	ctx, cancel := context.WithCancel(context.Background())
	ch, err := e.Submit(ctx, Request{Prompt: prompts[1], Sampler: greedy{}})
	if err != nil {
		t.Fatal(err)
	}
	<-ch // one token arrived: the slot is busy
	cancel()
	_, ev := collect(t, ch)
	if !errors.Is(ev.Err, context.Canceled) {
		t.Fatalf("cancelled request ended with %v", ev.Err)
	}
	deadline := time.Now().Add(5 * time.Second)
	for e.Busy() != 0 && time.Now().Before(deadline) {
		time.Sleep(time.Millisecond)
	}
	if e.Busy() != 0 {
		t.Fatal("slot still busy after cancellation")
	}
	ch, err = e.Submit(context.Background(), Request{Prompt: prompts[1], MaxTokens: 2, Sampler: greedy{}})
	if err != nil {
		t.Fatal(err)
	}
	if ids, ev := collect(t, ch); len(ids) != 2 || ev.Err != nil {
		t.Fatalf("after cancel: %v %v", ids, ev.Err)
	}
}

func TestQueueFullAndContext(t *testing.T) {
	m := loadTiny(t)
	e := New(m, Options{Slots: 1, Queue: -1, CtxLen: 16})
	defer e.Close()
	if _, err := e.Submit(context.Background(), Request{Prompt: make([]int32, 16), Sampler: greedy{}}); !errors.Is(err, model.ErrContextFull) {
		t.Fatalf("16-token prompt in a 16-token context: %v", err)
	}
	ch, err := e.Submit(context.Background(), Request{Prompt: prompts[1], Sampler: greedy{}})
	if err != nil {
		t.Fatal(err)
	}
	// The context bounds generation: 5 prompt tokens + at most 11 more.
	ids, ev := collect(t, ch)
	if ev.Finish != FinishLength || len(ids) > 11 {
		t.Fatalf("got %d tokens, finish %q", len(ids), ev.Finish)
	}
	busy := make(chan struct{})
	ch, _ = e.Submit(context.Background(), Request{Prompt: prompts[1], Sampler: greedy{}})
	go func() { <-ch; close(busy); collect(t, ch) }()
	<-busy
	if _, err := e.Submit(context.Background(), Request{Prompt: prompts[1], Sampler: greedy{}}); !errors.Is(err, ErrQueueFull) {
		t.Logf("second request while busy: %v (queue may have had room)", err)
	}
}

func TestSessionReusesPrefix(t *testing.T) {
	m := loadTiny(t)
	e := New(m, Options{})
	defer e.Close()
	s := &Session{}
	ch, _ := e.Submit(context.Background(), Request{Prompt: prompts[1], MaxTokens: 4, Sampler: greedy{}, Session: s})
	first, _ := collect(t, ch)
	next := append(append(slices.Clone(prompts[1]), first...), 500, 501)
	ch, _ = e.Submit(context.Background(), Request{Prompt: next, MaxTokens: 6, Sampler: greedy{}, Session: s})
	ids, ev := collect(t, ch)
	if ev.CachedTokens != len(prompts[1])+3 {
		t.Errorf("reused %d tokens, want %d", ev.CachedTokens, len(prompts[1])+3)
	}
	if want := direct(t, m, next, 6); !slices.Equal(ids, want) {
		t.Errorf("with session %v, fresh %v", ids, want)
	}
}
