package tokenizer

import (
	"testing"
)

// BenchmarkEncode encodes the 1 MB War and Peace excerpt in one call, on one
// goroutine, and reports tokens/s. "warm" keeps the word cache between
// iterations (a long-running server); "cold" empties it first (a fresh
// process).
func BenchmarkEncode(b *testing.B) {
	text := warAndPeace(b)
	for _, bc := range []struct {
		name string
		tok  func(testing.TB) *Tokenizer
	}{
		{"llama3", llama3},
		{"llama2", llama2},
		{"llama2-spm", llama2SPM},
	} {
		for _, cold := range []bool{false, true} {
			name := bc.name + "/warm"
			if cold {
				name = bc.name + "/cold"
			}
			b.Run(name, func(b *testing.B) {
				tok := bc.tok(b)
				n := len(tok.Encode(text, EncodeOptions{}))
				b.SetBytes(int64(len(text)))
				b.ResetTimer()
				for b.Loop() {
					if cold {
						tok.model.cache.reset()
					}
					tok.Encode(text, EncodeOptions{})
				}
				b.ReportMetric(float64(n)*float64(b.N)/b.Elapsed().Seconds(), "tokens/s")
			})
		}
	}
}

// BenchmarkPreTokenize compares the hand-written Llama 3 splitter with
// regexp2 running the same pattern.
func BenchmarkPreTokenize(b *testing.B) {
	text := warAndPeace(b)
	re, err := compileRegex(llama3Pattern)
	if err != nil {
		b.Fatal(err)
	}
	b.Run("llama3Split", func(b *testing.B) {
		b.SetBytes(int64(len(text)))
		for b.Loop() {
			llama3Split(text, func(int, int) {})
		}
	})
	b.Run("regexp2", func(b *testing.B) {
		b.SetBytes(int64(len(text)))
		for b.Loop() {
			forEachMatch(re, text, func(int, int) {})
		}
	})
}

// BenchmarkDecode decodes the War and Peace ids.
func BenchmarkDecode(b *testing.B) {
	tok := llama3(b)
	ids := tok.Encode(warAndPeace(b), EncodeOptions{})
	b.ResetTimer()
	for b.Loop() {
		tok.Decode(ids)
	}
	b.ReportMetric(float64(len(ids))*float64(b.N)/b.Elapsed().Seconds(), "tokens/s")
}
