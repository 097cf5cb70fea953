package bitnet

import (
	"context"
	"errors"
	"fmt"
	"math"

	"github.com/bitnet-go/bitnet/internal/model"
	"github.com/bitnet-go/bitnet/internal/sample"
	"github.com/bitnet-go/bitnet/internal/tokenizer"
)

// PerplexityResult is what Perplexity measured.
type PerplexityResult struct {
	PPL          float64 `json:"ppl"`
	NLL          float64 `json:"nll_per_token"`
	Chunks       int     `json:"chunks"`
	ScoredTokens int     `json:"scored_tokens"`
	TextTokens   int     `json:"text_tokens"`
	Ctx          int     `json:"ctx"`
}

// Perplexity computes what llama.cpp's llama-perplexity computes, so that
// figures compare with published ones: the whole text is tokenised with BOS,
// cut into non-overlapping chunks of ctx tokens whose first token is
// replaced by BOS, and the predictions of positions ctx/2 … ctx-2 of every
// chunk are scored; the result is exp(mean negative log-likelihood).
// progress, if not nil, is called after each group of chunks.
func (m *Model) Perplexity(ctx context.Context, text string, ctxLen int, progress func(done, total int)) (PerplexityResult, error) {
	var res PerplexityResult
	err := m.use(func(st *state) error {
		c := st.m.Config()
		if ctxLen <= 0 {
			ctxLen = min(512, c.MaxPos)
		}
		if ctxLen < 4 || ctxLen > c.MaxPos {
			return fmt.Errorf("ctx must be in [4, %d], got %d", c.MaxPos, ctxLen)
		}
		if st.tok == nil {
			return errNoTokenizer
		}
		toks := st.tok.Encode(text, tokenizer.EncodeOptions{AddSpecial: true})
		n := len(toks) / ctxLen
		if n == 0 {
			return fmt.Errorf("the text has %d tokens, fewer than one chunk of %d", len(toks), ctxLen)
		}
		bos := st.tok.BOS()
		if bos < 0 {
			bos = c.BOS
		}
		res = PerplexityResult{Chunks: n, Ctx: ctxLen, TextTokens: len(toks)}
		first := ctxLen / 2
		var nll float64
		// A few chunks per forward pass share the weight reads.
		const group = 4
		for g := 0; g < n; g += group {
			if err := ctx.Err(); err != nil {
				return err
			}
			var batch []model.Input
			for i := g; i < min(g+group, n); i++ {
				chunk := append([]int32(nil), toks[i*ctxLen:(i+1)*ctxLen]...)
				if bos >= 0 {
					chunk[0] = bos
				}
				batch = append(batch, model.Input{Seq: st.m.NewCache(ctxLen), Tokens: chunk, AllLogits: true, LogitsFrom: first})
			}
			out, err := st.m.Forward(batch)
			if err != nil {
				return err
			}
			V := c.Vocab
			for b := range batch {
				i := g + b
				for j := first; j <= ctxLen-2; j++ {
					row := out[b][(j-first)*V : (j-first+1)*V]
					nll -= float64(row[toks[i*ctxLen+j+1]]) - sample.LogSumExp(row)
					res.ScoredTokens++
				}
			}
			if progress != nil {
				progress(min(g+group, n), n)
			}
		}
		res.NLL = nll / float64(res.ScoredTokens)
		res.PPL = math.Exp(res.NLL)
		return nil
	})
	if err != nil && !errors.Is(err, context.Canceled) {
		return res, err
	}
	return res, err
}
