package bitnet

import (
	"context"
	"errors"
	"slices"
	"strings"
	"time"

	"github.com/bitnet-go/bitnet/internal/model"
	"github.com/bitnet-go/bitnet/internal/sample"
)

// beamSearch decodes deterministically with o.Beams hypotheses. Each beam
// has its own KV cache; a surviving beam that grew from another takes a
// copy of its parent's cache. The live beams advance together in one
// batched forward pass per step. The best hypothesis is returned whole at
// the end, since a beam's text can change until the search is over.
func (m *Model) beamSearch(ctx context.Context, st *state, ids []int32, o GenerateOptions, stops []int32, yield func(Token, error) bool) {
	mm := st.m
	ctxLen := st.sched.CtxLen()
	if len(ids) >= ctxLen {
		yield(Token{}, ErrContextFull)
		return
	}
	maxNew := o.MaxTokens
	if maxNew <= 0 || len(ids)+maxNew > ctxLen {
		maxNew = ctxLen - len(ids)
	}
	t0 := time.Now()
	first := mm.NewCache(ctxLen)
	out, err := mm.Forward([]model.Input{{Seq: first, Tokens: ids}})
	if err != nil {
		yield(Token{}, err)
		return
	}
	promptDur := time.Since(t0)
	caches := []*model.KVCache{first}
	beams := []sample.Beam{{}}
	logits := [][]float32{out[0]}
	for step := 0; step < maxNew; step++ {
		if err := ctx.Err(); err != nil {
			yield(Token{}, err)
			return
		}
		next, parents := sample.BeamStep(beams, logits, o.Beams, stops, 1.0)
		// Give every new beam its parent's cache; the first child of a
		// parent can take the parent's cache itself.
		newCaches := make([]*model.KVCache, len(next))
		taken := make([]bool, len(caches))
		for i, p := range parents {
			if !taken[p] {
				newCaches[i], taken[p] = caches[p], true
				continue
			}
			c := mm.NewCache(ctxLen)
			c.CopyFrom(caches[p])
			newCaches[i] = c
		}
		beams, caches = next, newCaches
		var batch []model.Input
		var live []int
		for i, b := range beams {
			if !b.Done && step+1 < maxNew {
				batch = append(batch, model.Input{Seq: caches[i], Tokens: b.IDs[len(b.IDs)-1:]})
				live = append(live, i)
			}
		}
		if len(batch) == 0 {
			break
		}
		rows, err := mm.Forward(batch)
		if err != nil {
			yield(Token{}, err)
			return
		}
		logits = make([][]float32, len(beams))
		for j, i := range live {
			logits[i] = rows[j]
		}
	}
	for i := range beams {
		beams[i].Done = true
	}
	best := slices.MaxFunc(beams, func(a, b sample.Beam) int {
		sa, sb := a.Score(1.0), b.Score(1.0)
		switch {
		case sa < sb:
			return -1
		case sa > sb:
			return 1
		}
		return 0
	})
	res := Result{PromptIDs: ids, PromptTokens: len(ids), IDs: best.IDs, GenTokens: len(best.IDs), PromptTime: promptDur, GenTime: time.Since(t0) - promptDur}
	gen := best.IDs
	res.FinishReason = "length"
	if n := len(gen); n > 0 && slices.Contains(stops, gen[n-1]) {
		res.FinishReason = "stop"
		gen = gen[:n-1]
	}
	var sb strings.Builder
	if dec := newDecoder(st, ids); dec != nil {
		for _, id := range gen {
			sb.WriteString(dec.Add(id))
		}
		sb.WriteString(dec.Flush())
	}
	text := sb.String()
	stopper := sample.NewStopper(o.Stop)
	emit, stopped := stopper.Push(text)
	if stopped {
		res.FinishReason = "stop"
	} else {
		emit += stopper.Flush()
	}
	res.Text = emit
	if emit != "" && !yield(Token{Text: emit}, nil) {
		return
	}
	yield(Token{Final: &res}, nil)
}

var errBeamsWithSession = errors.New("beams cannot be combined with a session")
