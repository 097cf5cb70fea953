package sample

import "math"

// TokenLogprob is a token id with its natural-log probability, the unit of
// the OpenAI logprobs and top_logprobs fields.
type TokenLogprob struct {
	ID      int32
	Logprob float32
}

// LogSumExp returns log Σ exp(logits) in float64, skipping NaN, and -Inf when nothing
// is finite. It accumulates in float64 so a 128k-term sum loses nothing
// that float32 logprobs could show.
func LogSumExp(logits []float32) float64 {
	m := negInf
	for _, v := range logits {
		if v > m {
			m = v
		}
	}
	if m == negInf {
		return math.Inf(-1)
	}
	var z float64
	for _, v := range logits {
		if v == v {
			z += math.Exp(float64(v - m))
		}
	}
	return float64(m) + math.Log(z)
}

// LogSoftmax returns log-probabilities for raw logits in a new slice. NaN
// logits stay NaN; if no logit is finite every entry is -Inf.
func LogSoftmax(logits []float32) []float32 {
	lse := LogSumExp(logits)
	out := make([]float32, len(logits))
	for i, v := range logits {
		if math.IsInf(lse, -1) {
			out[i] = negInf
			continue
		}
		out[i] = float32(float64(v) - lse)
	}
	return out
}

// Logprob returns the log-probability of one id under raw logits without
// materialising the whole LogSoftmax.
func Logprob(logits []float32, id int32) float32 {
	lse := LogSumExp(logits)
	if math.IsInf(lse, -1) {
		return negInf
	}
	return float32(float64(logits[id]) - lse)
}

// TopLogprobs returns the n most likely tokens under raw logits, most likely
// first, ties broken by lower id. Tokens with -Inf or NaN logits are never
// listed (JSON cannot carry -Inf), so fewer than n may come back.
func TopLogprobs(logits []float32, n int) []TokenLogprob {
	return topLogprobs(logits, n, LogSumExp(logits))
}

func topLogprobs(logits []float32, n int, lse float64) []TokenLogprob {
	if n <= 0 {
		return nil
	}
	top := selectTop(make([]cand, 0, min(n, len(logits))), logits, n)
	out := make([]TokenLogprob, len(top))
	for i, c := range top {
		out[i] = TokenLogprob{ID: c.id, Logprob: float32(float64(c.logit) - lse)}
	}
	return out
}
