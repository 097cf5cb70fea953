package server

import (
	"net/http"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/bitnet-go/bitnet"
)

// Stats is the document /v1/stats serves: what /metrics exposes, as JSON
// for the web page and for scripts.
type Stats struct {
	Object        string  `json:"object"`
	Model         string  `json:"model"`
	Ready         bool    `json:"ready"`
	Draining      bool    `json:"draining"`
	UptimeSeconds float64 `json:"uptime_seconds"`
	ContextLength int     `json:"context_length"`

	Slots     int   `json:"slots"`
	BusySlots int   `json:"busy_slots"`
	Queued    int   `json:"queued"`
	InFlight  int64 `json:"in_flight"`

	// Requests counts answered HTTP requests by status code.
	Requests        map[string]int64 `json:"requests"`
	PromptTokens    int64            `json:"prompt_tokens"`
	GeneratedTokens int64            `json:"generated_tokens"`
	// TokensPerSecond is the generation rate over the last few seconds,
	// all sequences together.
	TokensPerSecond         float64 `json:"tokens_per_second"`
	MeanTTFTSeconds         float64 `json:"mean_ttft_seconds"`
	MeanTokenLatencySeconds float64 `json:"mean_token_latency_seconds"`

	Memory MemoryStats  `json:"memory"`
	Engine bitnet.Stats `json:"engine"`
}

// MemoryStats are the process's and the model's memory figures in bytes.
type MemoryStats struct {
	RSSBytes         int64 `json:"rss_bytes,omitempty"`
	GoHeapBytes      int64 `json:"go_heap_bytes"`
	ModelMappedBytes int64 `json:"model_mapped_bytes"`
	ModelHeapBytes   int64 `json:"model_heap_bytes"`
	KVCacheBytes     int64 `json:"kv_cache_bytes"`
}

// Stats returns a snapshot of the server and its engine.
func (s *Server) Stats() Stats {
	now := time.Now()
	es := s.cfg.Engine.Stats()
	st := Stats{Object: "bitnet.stats", Model: s.name, Draining: s.draining.Load(),
		UptimeSeconds: now.Sub(s.started).Seconds(), ContextLength: s.ctxLen, InFlight: s.inFlight.Load(),
		PromptTokens: s.live.promptTokens.Load(), GeneratedTokens: s.live.genTokens.Load(),
		TokensPerSecond: s.live.rate.perSecond(now), Engine: es, Requests: map[string]int64{}}
	if ms, ok := s.model.Stats(); ok {
		st.Ready = !st.Draining
		st.Slots, st.BusySlots, st.Queued = ms.Slots, ms.Busy, ms.Queued
		st.Memory.ModelMappedBytes, st.Memory.ModelHeapBytes, st.Memory.KVCacheBytes = ms.MappedBytes, ms.HeapBytes, ms.KVCacheBytes
	}
	st.Memory.GoHeapBytes = es.HeapBytes
	st.Memory.RSSBytes = residentBytes()
	if n := s.live.ttftCount.Load(); n > 0 {
		st.MeanTTFTSeconds = time.Duration(s.live.ttftNanos.Load() / n).Seconds()
	}
	if n := s.live.itlCount.Load(); n > 0 {
		st.MeanTokenLatencySeconds = time.Duration(s.live.itlNanos.Load() / n).Seconds()
	}
	s.live.mu.Lock()
	for code, n := range s.live.byStatus {
		st.Requests[strconv.Itoa(code)] = n
	}
	s.live.mu.Unlock()
	return st
}

func (s *Server) handleStats(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, http.StatusOK, s.Stats())
	markFinished(w)
}

// residentBytes reads the resident set size where /proc has it; elsewhere
// it is 0 and the field is left out.
func residentBytes() int64 {
	b, err := os.ReadFile("/proc/self/statm")
	if err != nil {
		return 0
	}
	f := strings.Fields(string(b))
	if len(f) < 2 {
		return 0
	}
	pages, err := strconv.ParseInt(f[1], 10, 64)
	if err != nil {
		return 0
	}
	return pages * int64(os.Getpagesize())
}
