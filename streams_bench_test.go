package bitnet_test

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/bitnet-go/bitnet"
)

// BenchmarkStreams measures total decode throughput with 1 and 8 concurrent
// generations on the synthetic bitnet-b1.58-2B-4T shape, with its F16 and
// with a Q6_K lm_head. The engine advances all active sequences in one
// forward pass, so 8 streams share each read of the weights:
//
//	go test -run '^$' -bench Streams -benchtime 1x .
func BenchmarkStreams(b *testing.B) {
	for _, embd := range []string{"f16", "q6_k"} {
		b.Run(embd, func(b *testing.B) { benchStreams(b, embd) })
	}
}

func benchStreams(b *testing.B, embd string) {
	ctx := context.Background()
	eng, err := bitnet.NewEngine(bitnet.Options{Slots: 8})
	if err != nil {
		b.Fatal(err)
	}
	defer eng.Close()
	m, err := eng.LoadSynthetic("bitnet-b1.58-2B-4T", embd)
	if err != nil {
		b.Fatal(err)
	}
	const gen = 16
	var single float64
	for _, n := range []int{1, 8} {
		b.Run(fmt.Sprintf("streams=%d", n), func(b *testing.B) {
			var tokens int
			var elapsed time.Duration
			for b.Loop() {
				t0 := time.Now()
				var wg sync.WaitGroup
				var mu sync.Mutex
				for i := 0; i < n; i++ {
					wg.Add(1)
					go func() {
						defer wg.Done()
						ids := []int32{128000, int32(1000 + i), int32(2000 + i)}
						r, err := bitnet.Collect(m.GenerateIDs(ctx, ids, bitnet.GenerateOptions{MaxTokens: gen, IgnoreEOS: true}))
						if err != nil {
							b.Error(err)
							return
						}
						mu.Lock()
						tokens += r.GenTokens
						mu.Unlock()
					}()
				}
				wg.Wait()
				elapsed += time.Since(t0)
			}
			rate := float64(tokens) / elapsed.Seconds()
			b.ReportMetric(rate, "tok/s")
			if n == 1 {
				single = rate
			} else if single > 0 {
				b.ReportMetric(rate/single, "x_vs_1_stream")
			}
		})
	}
}
