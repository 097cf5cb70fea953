package e2e

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/bitnet-go/bitnet/internal/server/servertest"
)

// BenchmarkStreams measures total generation throughput through the HTTP
// server with 8 concurrent streams against 1, on the built-in model. The
// ratio is what continuous batching buys: 8 sequences share each forward
// pass's weight reads.
//
//	go test ./e2e -run '^$' -bench Streams -benchtime 5x
func BenchmarkStreams(b *testing.B) {
	inst := servertest.Start(b, servertest.Options{Slots: 8, Queue: 8})
	const tokens = 128
	var tok1, tok8 int64
	var dur1, dur8 time.Duration
	for b.Loop() {
		n, d := streamRound(b, inst.URL, 1, tokens)
		tok1, dur1 = tok1+n, dur1+d
		n, d = streamRound(b, inst.URL, 8, tokens)
		tok8, dur8 = tok8+n, dur8+d
	}
	r1 := float64(tok1) / dur1.Seconds()
	r8 := float64(tok8) / dur8.Seconds()
	b.ReportMetric(r1, "tok/s-1stream")
	b.ReportMetric(r8, "tok/s-8streams")
	b.ReportMetric(r8/r1, "ratio-8vs1")
}

// streamRound runs k streams of exactly `tokens` tokens at once and
// returns the tokens generated and the wall time.
func streamRound(b *testing.B, base string, k, tokens int) (int64, time.Duration) {
	body := fmt.Sprintf(`{"prompt":"Once upon a time","temperature":0,"ignore_eos":true,"max_tokens":%d,"stream":true,"stream_options":{"include_usage":true}}`, tokens)
	var total int64
	var mu sync.Mutex
	var wg sync.WaitGroup
	start := time.Now()
	for range k {
		wg.Go(func() {
			res, err := http.Post(base+"/v1/completions", "application/json", strings.NewReader(body))
			if err != nil {
				b.Error(err)
				return
			}
			defer res.Body.Close()
			sc := bufio.NewScanner(res.Body)
			for sc.Scan() {
				line, ok := bytes.CutPrefix(sc.Bytes(), []byte("data: "))
				if !ok || !bytes.Contains(line, []byte(`"usage":{`)) {
					continue
				}
				var chunk struct {
					Usage struct {
						CompletionTokens int64 `json:"completion_tokens"`
					} `json:"usage"`
				}
				if err := json.Unmarshal(line, &chunk); err != nil {
					b.Error(err)
					return
				}
				mu.Lock()
				total += chunk.Usage.CompletionTokens
				mu.Unlock()
			}
			if err := sc.Err(); err != nil {
				b.Error(err)
			}
		})
	}
	wg.Wait()
	d := time.Since(start)
	if total != int64(k*tokens) {
		b.Fatalf("%d streams generated %d tokens, want %d", k, total, k*tokens)
	}
	return total, d
}
