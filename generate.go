package bitnet

import (
	"context"
	"errors"
	"fmt"
	"iter"
	"slices"
	"strings"
	"time"

	"github.com/bitnet-go/bitnet/internal/engine"
	"github.com/bitnet-go/bitnet/internal/sample"
	"github.com/bitnet-go/bitnet/internal/tokenizer"
)

// GenerateOptions control one generation. The zero value decodes greedily
// until a stop token or the end of the context.
type GenerateOptions struct {
	// MaxTokens bounds the generated tokens; 0 means no bound but the
	// context.
	MaxTokens int

	// Temperature 0 picks the most likely token (deterministic). Above 0
	// the sampler chain runs: penalties, TopK, TypicalP, TopP, MinP, then a
	// draw at this temperature.
	Temperature float32
	TopK        int     // 0: off
	TopP        float32 // 0 or 1: off
	MinP        float32 // 0: off
	TypicalP    float32 // 0 or 1: off
	// RepeatPenalty (llama.cpp) divides the logits of recent tokens;
	// 0 or 1 is off. RepeatLastN is its window (0 means 64, -1 all).
	RepeatPenalty    float32
	RepeatLastN      int
	FrequencyPenalty float32
	PresencePenalty  float32
	LogitBias        map[int32]float32
	// Seed makes sampling reproducible; nil draws a random seed.
	Seed *uint64

	// Stop strings end generation; the text never contains them.
	Stop []string
	// StopTokens are extra stop ids besides the model's end-of-sequence
	// tokens; IgnoreEOS drops the latter.
	StopTokens []int32
	IgnoreEOS  bool

	// Logprobs reports each token's log-probability; TopLogprobs adds that
	// many alternatives.
	Logprobs    bool
	TopLogprobs int

	// Session keeps the KV cache between calls (a chat): a prompt that
	// extends the previous one only computes the new tokens.
	Session *Session

	// Beams > 1 decodes by beam search with that many hypotheses: the most
	// likely continuation as a whole, deterministic, returned in one piece.
	// The sampling fields are ignored then.
	Beams int
}

func (o *GenerateOptions) params() sample.Params {
	p := sample.Params{
		Temperature: o.Temperature, TopK: o.TopK, TopP: o.TopP, MinP: o.MinP, TypicalP: o.TypicalP,
		RepeatPenalty: o.RepeatPenalty, RepeatLastN: o.RepeatLastN,
		FrequencyPenalty: o.FrequencyPenalty, PresencePenalty: o.PresencePenalty, LogitBias: o.LogitBias,
	}
	if p.TopP == 0 {
		p.TopP = 1
	}
	if p.TypicalP == 0 {
		p.TypicalP = 1
	}
	if p.RepeatPenalty == 0 {
		p.RepeatPenalty = 1
	}
	if p.RepeatLastN == 0 {
		p.RepeatLastN = 64
	}
	if o.Seed != nil {
		p.Seed, p.SeedSet = *o.Seed, true
	}
	return p
}

// Validate checks the options; errors name the parameter.
func (o *GenerateOptions) Validate() error {
	if o.MaxTokens < 0 {
		return fmt.Errorf("max_tokens must be >= 0, got %d", o.MaxTokens)
	}
	if o.Beams < 0 || o.Beams > 64 {
		return fmt.Errorf("beams must be in [0, 64], got %d", o.Beams)
	}
	if o.Beams > 1 && o.Session != nil {
		return errBeamsWithSession
	}
	if o.TopLogprobs < 0 || o.TopLogprobs > 20 {
		return fmt.Errorf("top_logprobs must be in [0, 20], got %d", o.TopLogprobs)
	}
	return o.params().Validate()
}

// Session carries a conversation's KV cache between generations.
type Session struct{ s engine.Session }

// NewSession starts an empty session.
func NewSession() *Session { return &Session{} }

// Reset forgets the cached conversation.
func (s *Session) Reset() { s.s.Reset() }

// Len returns the context positions the session holds.
func (s *Session) Len() int { return s.s.Len() }

// Token is one step of a stream. Text is the new text, which may be empty
// while a multi-byte character or a possible stop string is held back.
// The last element of every stream has Final set.
type Token struct {
	ID          int32
	Text        string
	Logprob     float32
	TopLogprobs []TokenLogprob
	Final       *Result
}

// TokenLogprob is an alternative token with its log-probability.
type TokenLogprob struct {
	ID      int32
	Text    string
	Logprob float32
}

// Result summarises a finished generation.
type Result struct {
	Text         string
	IDs          []int32 // generated ids, stop token included
	PromptIDs    []int32
	FinishReason string // "stop" or "length"
	PromptTokens int
	CachedTokens int // prompt tokens reused from the session
	GenTokens    int
	PromptTime   time.Duration // until the first token
	GenTime      time.Duration // after the first token
	Err          error         // set in GenerateBatch results
}

// Generate streams the continuation of prompt. BOS is added the way the
// model's tokenizer adds it.
func (m *Model) Generate(ctx context.Context, prompt string, o GenerateOptions) iter.Seq2[Token, error] {
	return func(yield func(Token, error) bool) {
		err := m.use(func(st *state) error {
			if st.tok == nil {
				return errNoTokenizer
			}
			ids := st.tok.Encode(prompt, tokenizer.EncodeOptions{AddSpecial: true})
			m.stream(ctx, st, ids, o, yield)
			return nil
		})
		if err != nil {
			yield(Token{}, err)
		}
	}
}

// GenerateIDs streams the continuation of a tokenised prompt.
func (m *Model) GenerateIDs(ctx context.Context, ids []int32, o GenerateOptions) iter.Seq2[Token, error] {
	return func(yield func(Token, error) bool) {
		err := m.use(func(st *state) error {
			m.stream(ctx, st, ids, o, yield)
			return nil
		})
		if err != nil {
			yield(Token{}, err)
		}
	}
}

// Collect drains a stream into its Result.
func Collect(seq iter.Seq2[Token, error]) (Result, error) {
	for tok, err := range seq {
		if err != nil {
			return Result{}, err
		}
		if tok.Final != nil {
			return *tok.Final, nil
		}
	}
	return Result{}, errors.New("bitnet: stream ended without a result")
}

// GenerateBatch runs the prompts together (they share forward passes) and
// returns their results in order. A prompt that fails has Err set; the
// others still run.
func (m *Model) GenerateBatch(ctx context.Context, prompts []string, o GenerateOptions) ([]Result, error) {
	if o.Session != nil {
		return nil, errors.New("bitnet: a session cannot be shared by a batch")
	}
	out := make([]Result, len(prompts))
	done := make(chan struct{}, len(prompts))
	for i, p := range prompts {
		go func() {
			defer func() { done <- struct{}{} }()
			r, err := Collect(m.Generate(ctx, p, o))
			if err != nil {
				r.Err = err
			}
			out[i] = r
		}()
	}
	for range prompts {
		<-done
	}
	return out, ctx.Err()
}

func (m *Model) stream(ctx context.Context, st *state, ids []int32, o GenerateOptions, yield func(Token, error) bool) {
	if err := o.Validate(); err != nil {
		yield(Token{}, err)
		return
	}
	if len(ids) == 0 {
		yield(Token{}, errNoTokens)
		return
	}
	vocab := st.m.Config().Vocab
	smp, err := sample.New(o.params(), vocab)
	if err != nil {
		yield(Token{}, err)
		return
	}
	stops := slices.Clone(o.StopTokens)
	if !o.IgnoreEOS {
		stops = append(stops, st.stops...)
	}
	if o.Beams > 1 {
		m.beamSearch(ctx, st, ids, o, stops, yield)
		return
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	req := engine.Request{Prompt: ids, MaxTokens: o.MaxTokens, StopIDs: stops, Sampler: smp,
		Logprobs: o.Logprobs, TopLogprobs: o.TopLogprobs}
	if o.Session != nil {
		req.Session = &o.Session.s
	}
	ch, err := st.sched.Submit(ctx, req)
	if err != nil {
		yield(Token{}, err)
		return
	}
	res := Result{PromptIDs: ids, PromptTokens: len(ids)}
	dec := newDecoder(st, ids)
	stopper := sample.NewStopper(o.Stop)
	var text strings.Builder
	for ev := range ch {
		if ev.Done {
			if ev.Err != nil && res.FinishReason == "" {
				yield(Token{}, ev.Err)
				return
			}
			if res.FinishReason == "" {
				res.FinishReason = ev.Finish
				tail := stopper.Flush()
				if dec != nil {
					tail += dec.Flush()
				}
				text.WriteString(tail)
				if tail != "" && !yield(Token{Text: tail}, nil) {
					return
				}
			}
			res.CachedTokens, res.PromptTime, res.GenTime = ev.CachedTokens, ev.PromptDur, ev.GenDur
			res.Text = text.String()
			yield(Token{Final: &res}, nil)
			return
		}
		res.IDs = append(res.IDs, ev.ID)
		res.GenTokens++
		if res.FinishReason != "" {
			continue // a stop string already ended it; wait for Done
		}
		piece := ""
		if dec != nil && !slices.Contains(stops, ev.ID) {
			piece = dec.Add(ev.ID)
		}
		emit, stopped := stopper.Push(piece)
		text.WriteString(emit)
		tok := Token{ID: ev.ID, Text: emit, Logprob: ev.Logprob}
		for _, t := range ev.Top {
			tl := TokenLogprob{ID: t.ID, Logprob: t.Logprob}
			if st.tok != nil {
				tl.Text = st.tok.Decode([]int32{t.ID})
			}
			tok.TopLogprobs = append(tok.TopLogprobs, tl)
		}
		if !yield(tok, nil) {
			return
		}
		if stopped {
			res.FinishReason = engine.FinishStop
			cancel()
		}
	}
}

// newDecoder returns a streaming detokenizer primed with the prompt's last
// token, so that SentencePiece's leading-space rule treats the first
// generated piece as a continuation. Pieces are always whole UTF-8
// characters.
func newDecoder(st *state, prompt []int32) *tokenizer.Streamer {
	if st.tok == nil {
		return nil // a synthetic model: ids only
	}
	d := st.tok.NewStreamer()
	if len(prompt) > 0 {
		d.Add(prompt[len(prompt)-1])
		d.Flush()
	}
	return d
}
