package bitnet

import (
	"runtime"
	"time"
)

// Stats is a snapshot of an engine: memory and performance per loaded model.
type Stats struct {
	Models    []ModelStats `json:"models"`
	HeapBytes int64        `json:"go_heap_bytes"` // the whole process's Go heap
	Threads   int          `json:"threads"`
	ISA       string       `json:"isa"`
}

// ModelStats describes one loaded model.
type ModelStats struct {
	Name         string `json:"name"`
	Path         string `json:"path"`
	MappedBytes  int64  `json:"mapped_bytes"`   // weight files mapped in memory
	HeapBytes    int64  `json:"heap_bytes"`     // weights built at load (repacked), not in a file
	KVCacheBytes int64  `json:"kv_cache_bytes"` // KV caches of running sequences
	Slots        int    `json:"slots"`
	Busy         int    `json:"busy_slots"`
	Queued       int    `json:"queued"`
	InUse        bool   `json:"in_use"`

	Requests     int64 `json:"requests"`
	Completed    int64 `json:"completed"`
	Cancelled    int64 `json:"cancelled"`
	Failed       int64 `json:"failed"`
	PromptTokens int64 `json:"prompt_tokens"`
	GenTokens    int64 `json:"generated_tokens"`
	// MeanTTFT is the mean time from submission to the first token.
	MeanTTFT time.Duration `json:"mean_ttft_ns"`
	// TokensPerSec is generated tokens over the time spent generating them,
	// summed over requests.
	TokensPerSec float64 `json:"tokens_per_second"`
}

// Stats returns memory and performance figures for every loaded model.
func (e *Engine) Stats() Stats {
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	s := Stats{HeapBytes: int64(ms.HeapAlloc), Threads: e.pool.Threads(), ISA: ISA()}
	for _, m := range e.Loaded() {
		if st, ok := m.Stats(); ok {
			s.Models = append(s.Models, st)
		}
	}
	return s
}

// Stats returns the model's figures; ok is false when it is not loaded.
func (m *Model) Stats() (ModelStats, bool) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.st == nil {
		return ModelStats{}, false
	}
	ms := m.st.m.Stats()
	es := m.st.sched.Stats()
	out := ModelStats{Name: m.name, Path: m.path, MappedBytes: ms.MappedBytes, HeapBytes: ms.HeapBytes,
		KVCacheBytes: m.st.sched.KVBytes(), Slots: m.st.sched.Slots(), Busy: m.st.sched.Busy(), Queued: m.st.sched.Waiting(),
		InUse: m.refs > 0, Requests: es.Requests, Completed: es.Completed, Cancelled: es.Cancelled, Failed: es.Failed,
		PromptTokens: es.PromptTokens, GenTokens: es.GenTokens}
	if n := es.Completed + es.Cancelled; n > 0 {
		out.MeanTTFT = es.PromptDur / time.Duration(n)
	}
	if es.GenDur > 0 {
		out.TokensPerSec = float64(es.GenTokens) / es.GenDur.Seconds()
	}
	return out, true
}
