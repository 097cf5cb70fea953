package server

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/bitnet-go/bitnet"
)

// readJSON reads a size-limited body and decodes it into v, answering the
// client itself when that fails.
func (s *Server) readJSON(w http.ResponseWriter, r *http.Request, v any) bool {
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, s.cfg.MaxBodyBytes))
	if err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			writeError(w, &apiError{Status: http.StatusRequestEntityTooLarge, Type: "invalid_request_error",
				Message: fmt.Sprintf("the request body is larger than this server's limit of %d bytes", mbe.Limit)})
			return false
		}
		writeError(w, invalid("", "reading the request body: %v", err))
		return false
	}
	// encoding/json silently turns invalid UTF-8 into U+FFFD; a prompt
	// that is not what the client meant should fail loudly instead.
	if !utf8.Valid(body) {
		i := 0
		for i < len(body) {
			r, size := utf8.DecodeRune(body[i:])
			if r == utf8.RuneError && size <= 1 {
				break
			}
			i += size
		}
		writeError(w, invalid("", "the request body is not valid UTF-8 (first bad byte at offset %d)", i))
		return false
	}
	if len(bytes.TrimSpace(body)) == 0 {
		writeError(w, decodeError(errEmptyBody))
		return false
	}
	if err := json.Unmarshal(body, v); err != nil {
		writeError(w, decodeError(err))
		return false
	}
	return true
}

// genRequest is one HTTP request's generations, whichever endpoint.
type genRequest struct {
	chat         bool
	id           string
	created      int64
	runs         []genRun
	stream       bool
	includeUsage bool
	logprobs     bool
	topLogprobs  int // alternatives the client asked for
	promptTokens int
	promptParam  string
}

type genRun struct {
	ids  []int32
	opts bitnet.GenerateOptions
}

type genEvent struct {
	index int
	tok   bitnet.Token
	err   error
}

func newID(prefix string) string { return prefix + rand.Text() }

func (s *Server) handleChat(w http.ResponseWriter, r *http.Request) {
	var req chatRequest
	if !s.readJSON(w, r, &req) {
		return
	}
	if e := s.checkModel(req.Model); e != nil {
		writeError(w, e)
		return
	}
	msgs, e := req.messages()
	if e != nil {
		writeError(w, e)
		return
	}
	opts, n, e := req.options(s.vocab)
	if e != nil {
		writeError(w, e)
		return
	}
	param, mt := "max_tokens", req.MaxTokens
	if req.MaxCompletionTokens != nil {
		param, mt = "max_completion_tokens", req.MaxCompletionTokens
	}
	if opts.MaxTokens, e = maxTokens(param, mt); e != nil {
		writeError(w, e)
		return
	}
	g := &genRequest{chat: true, id: newID("chatcmpl-"), created: time.Now().Unix(), stream: req.Stream,
		includeUsage: req.StreamOptions != nil && req.StreamOptions.IncludeUsage, promptParam: "messages"}
	if req.TopLogprobs != nil {
		if *req.TopLogprobs < 0 || *req.TopLogprobs > 20 {
			writeError(w, invalid("top_logprobs", "top_logprobs must be in [0, 20], got %d", *req.TopLogprobs))
			return
		}
		if *req.TopLogprobs > 0 && (req.Logprobs == nil || !*req.Logprobs) {
			writeError(w, invalid("top_logprobs", "top_logprobs requires logprobs to be true"))
			return
		}
		g.topLogprobs = *req.TopLogprobs
	}
	g.logprobs = req.Logprobs != nil && *req.Logprobs
	if err := opts.Validate(); err != nil {
		writeError(w, validationError(err))
		return
	}
	_, ids, err := s.model.ChatPrompt(msgs)
	if err != nil {
		writeError(w, invalid("messages", "%v", err))
		return
	}
	if e := s.checkPrompt(ids, "messages", -1); e != nil {
		writeError(w, e)
		return
	}
	g.promptTokens = len(ids)
	for i := range n {
		g.runs = append(g.runs, genRun{ids: ids, opts: choiceOptions(opts, i)})
	}
	s.generate(w, r, g)
}

func (s *Server) handleCompletions(w http.ResponseWriter, r *http.Request) {
	var req completionRequest
	if !s.readJSON(w, r, &req) {
		return
	}
	if e := s.checkModel(req.Model); e != nil {
		writeError(w, e)
		return
	}
	if !req.Prompt.set {
		writeError(w, invalid("prompt", "prompt is required"))
		return
	}
	switch {
	case req.Echo:
		writeError(w, invalid("echo", "echo is not supported"))
		return
	case req.Suffix != nil && *req.Suffix != "":
		writeError(w, invalid("suffix", "suffix is not supported"))
		return
	}
	opts, n, e := req.options(s.vocab)
	if e != nil {
		writeError(w, e)
		return
	}
	if req.BestOf != nil && *req.BestOf != n {
		writeError(w, invalid("best_of", "best_of is not supported unless it equals n"))
		return
	}
	if opts.MaxTokens, e = maxTokens("max_tokens", req.MaxTokens); e != nil {
		writeError(w, e)
		return
	}
	g := &genRequest{id: newID("cmpl-"), created: time.Now().Unix(), stream: req.Stream,
		includeUsage: req.StreamOptions != nil && req.StreamOptions.IncludeUsage, promptParam: "prompt"}
	if req.Logprobs != nil {
		if *req.Logprobs < 0 || *req.Logprobs > 20 {
			writeError(w, invalid("logprobs", "logprobs must be in [0, 20], got %d", *req.Logprobs))
			return
		}
		g.logprobs, g.topLogprobs = true, *req.Logprobs
	}
	if err := opts.Validate(); err != nil {
		writeError(w, validationError(err))
		return
	}
	var prompts [][]int32
	for i, text := range req.Prompt.texts {
		ids, err := s.model.Tokenize(text, true)
		if err != nil {
			writeError(w, s.generationError(r.Context(), err, "prompt"))
			return
		}
		if e := s.checkPrompt(ids, "prompt", i); e != nil {
			writeError(w, e)
			return
		}
		prompts = append(prompts, ids)
	}
	for i, ids := range req.Prompt.ids {
		if e := s.checkPrompt(ids, "prompt", i); e != nil {
			writeError(w, e)
			return
		}
		prompts = append(prompts, ids)
	}
	if len(prompts)*n > maxChoices {
		writeError(w, invalid("n", "%d prompts times n=%d is more than %d choices", len(prompts), n, maxChoices))
		return
	}
	for _, ids := range prompts {
		g.promptTokens += len(ids)
		for i := range n {
			g.runs = append(g.runs, genRun{ids: ids, opts: choiceOptions(opts, i)})
		}
	}
	s.generate(w, r, g)
}

// choiceOptions gives each of n choices its own seed: with one seed they
// would all draw the same text, which is not what n asks for.
func choiceOptions(o bitnet.GenerateOptions, i int) bitnet.GenerateOptions {
	if o.Seed != nil && i > 0 {
		seed := *o.Seed + uint64(i)
		o.Seed = &seed
	}
	return o
}

// checkPrompt rejects prompts the context cannot hold before they take a
// slot; the engine would refuse them too, but only after queueing.
func (s *Server) checkPrompt(ids []int32, param string, index int) *apiError {
	where := ""
	if index >= 0 {
		where = fmt.Sprintf(" (prompt %d)", index)
	}
	if len(ids) == 0 {
		return invalid(param, "the prompt is empty%s", where)
	}
	for _, id := range ids {
		if id < 0 || int(id) >= s.vocab {
			return invalid(param, "token id %d%s is outside the vocabulary [0, %d)", id, where, s.vocab)
		}
	}
	if len(ids) >= s.ctxLen {
		return &apiError{Status: http.StatusBadRequest, Type: "invalid_request_error", Param: ptr(param), Code: ptr("context_length_exceeded"),
			Message: fmt.Sprintf("the prompt%s is too long: it has %d tokens and this model's context holds %d (including the reply)", where, len(ids), s.ctxLen)}
	}
	return nil
}

// choiceState follows one choice through its stream.
type choiceState struct {
	started bool
	last    time.Time
	counted int // tokens counted for the metrics so far
	text    strings.Builder
	tokens  []tokenLogprob
	result  *bitnet.Result
}

type tokenLogprob struct {
	text    string
	logprob float32
	top     []bitnet.TokenLogprob
	offset  int
}

// generate runs g's choices concurrently (the engine batches them with
// everything else in flight) and writes the response.
func (s *Server) generate(w http.ResponseWriter, r *http.Request, g *genRequest) {
	start := time.Now()
	ctx, cancel := s.requestContext(r)
	defer cancel()
	s.inFlight.Add(1)
	defer s.inFlight.Add(-1)

	events := make(chan genEvent, 16*len(g.runs))
	var wg sync.WaitGroup
	// Wait after cancelling, so no goroutine outlives the handler.
	defer wg.Wait()
	defer cancel()
	for i, run := range g.runs {
		opts := run.opts
		if g.logprobs {
			opts.Logprobs = true
			// At least one alternative is always requested so that real
			// tokens can be told from the final flush of held-back text,
			// which carries no alternatives.
			opts.TopLogprobs = max(g.topLogprobs, 1)
		}
		wg.Go(func() {
			for tok, err := range s.model.GenerateIDs(ctx, run.ids, opts) {
				select {
				case events <- genEvent{index: i, tok: tok, err: err}:
				case <-ctx.Done():
					return
				}
				if err != nil || tok.Final != nil {
					return
				}
			}
		})
	}

	choices := make([]choiceState, len(g.runs))
	// Headers wait until every choice has produced its first event, so
	// that a full queue or a bad prompt still gets a proper status code.
	var pending []genEvent
	for started := 0; started < len(g.runs); {
		ev, err := s.next(ctx, events)
		if err == nil {
			err = ev.err
		}
		if err != nil {
			s.fail(w, r, ctx, err, g)
			return
		}
		pending = append(pending, ev)
		if !choices[ev.index].started {
			choices[ev.index].started = true
			started++
		}
	}
	for i := range choices {
		choices[i].started = false
	}
	sw := &sseWriter{w: w, rc: http.NewResponseController(w), timeout: s.cfg.WriteTimeout}
	if g.stream {
		sw.begin(s, g)
	}
	done := 0
	for done < len(g.runs) {
		var ev genEvent
		if len(pending) > 0 {
			ev, pending = pending[0], pending[1:]
		} else {
			if len(events) == 0 {
				// Flush only when nothing else is ready, so a burst of
				// tokens from a batched step goes out in one write.
				if err := sw.flush(); err != nil {
					return
				}
			}
			var err error
			if ev, err = s.next(ctx, events); err != nil {
				s.failMidway(w, r, ctx, err, g, sw)
				return
			}
		}
		if ev.err != nil {
			s.failMidway(w, r, ctx, ev.err, g, sw)
			return
		}
		c := &choices[ev.index]
		if ev.tok.Final != nil {
			c.result = ev.tok.Final
			done++
			s.countFinal(c)
			if g.stream {
				if err := sw.finish(s, g, ev.index, c.result.FinishReason); err != nil {
					return
				}
			}
			continue
		}
		real := isRealToken(ev.tok, g.logprobs)
		if real {
			s.countToken(c, start)
		}
		var lp *tokenLogprob
		if g.logprobs && real && !s.stopIDs[ev.tok.ID] {
			c.tokens = append(c.tokens, s.tokenLogprob(ev.tok, c.text.Len()))
			lp = &c.tokens[len(c.tokens)-1]
		}
		c.text.WriteString(ev.tok.Text)
		if g.stream && (ev.tok.Text != "" || lp != nil) {
			if err := sw.delta(s, g, ev.index, ev.tok.Text, lp); err != nil {
				return
			}
		}
	}
	var u usage
	u.PromptTokens = g.promptTokens
	for i := range choices {
		u.CompletionTokens += choices[i].result.GenTokens
		u.PromptTokensDetails.CachedTokens += choices[i].result.CachedTokens
	}
	u.TotalTokens = u.PromptTokens + u.CompletionTokens
	s.metrics.promptTokens.Add(float64(g.promptTokens))
	s.live.promptTokens.Add(int64(g.promptTokens))
	annotate(r, slog.String("id", g.id), slog.Int("n", len(g.runs)), slog.Bool("stream", g.stream),
		slog.Int("prompt_tokens", u.PromptTokens), slog.Int("completion_tokens", u.CompletionTokens),
		slog.String("finish_reason", choices[0].result.FinishReason))
	if g.stream {
		if g.includeUsage {
			if err := sw.usage(s, g, &u); err != nil {
				return
			}
		}
		if sw.done() == nil {
			markFinished(w)
		}
		return
	}
	if g.chat {
		writeJSON(w, http.StatusOK, s.chatResponse(g, choices, &u))
	} else {
		writeJSON(w, http.StatusOK, s.completionResponse(g, choices, &u))
	}
	markFinished(w)
}

func (s *Server) requestContext(r *http.Request) (context.Context, context.CancelFunc) {
	if s.cfg.Timeout > 0 {
		return context.WithTimeout(r.Context(), s.cfg.Timeout)
	}
	return context.WithCancel(r.Context())
}

func (s *Server) next(ctx context.Context, events <-chan genEvent) (genEvent, error) {
	select {
	case ev := <-events:
		return ev, nil
	case <-ctx.Done():
		return genEvent{}, ctx.Err()
	}
}

// isRealToken tells generated tokens from the flush of held-back text
// that ends a stream, which has no id, log-probability or alternatives.
// With logprobs on, every real token has alternatives; without, a real
// token id 0 with text can be taken for a flush, which only shifts a
// metrics observation (countFinal corrects the count).
func isRealToken(t bitnet.Token, logprobs bool) bool {
	if logprobs {
		return t.TopLogprobs != nil
	}
	return !(t.ID == 0 && t.Logprob == 0 && t.TopLogprobs == nil && t.Text != "")
}

func (s *Server) countToken(c *choiceState, start time.Time) {
	now := time.Now()
	if !c.started {
		c.started = true
		d := now.Sub(start)
		s.metrics.ttft.Observe(d.Seconds())
		s.live.ttftNanos.Add(int64(d))
		s.live.ttftCount.Add(1)
	} else {
		d := now.Sub(c.last)
		s.metrics.itl.Observe(d.Seconds())
		s.live.itlNanos.Add(int64(d))
		s.live.itlCount.Add(1)
	}
	c.last = now
	c.counted++
	s.metrics.genTokens.Inc()
	s.live.genTokens.Add(1)
	s.live.rate.add(now, 1)
}

// countFinal adds the tokens that were generated but never streamed
// (those after a stop string), so the totals match the usage reported.
func (s *Server) countFinal(c *choiceState) {
	if extra := c.result.GenTokens - c.counted; extra > 0 {
		s.metrics.genTokens.Add(float64(extra))
		s.live.genTokens.Add(int64(extra))
		s.live.rate.add(time.Now(), int64(extra))
		c.counted += extra
	}
}

func (s *Server) tokenLogprob(t bitnet.Token, offset int) tokenLogprob {
	lp := tokenLogprob{logprob: t.Logprob, top: t.TopLogprobs, offset: offset}
	found := false
	for _, alt := range t.TopLogprobs {
		if alt.ID == t.ID {
			lp.text, found = alt.Text, true
			break
		}
	}
	if !found {
		lp.text, _ = s.model.Detokenize([]int32{t.ID})
	}
	return lp
}

// fail answers a request that failed before any byte was sent.
func (s *Server) fail(w http.ResponseWriter, r *http.Request, ctx context.Context, err error, g *genRequest) {
	if r.Context().Err() != nil {
		return // the client is gone; nobody reads an answer
	}
	e := s.generationError(ctx, err, g.promptParam)
	annotate(r, slog.String("id", g.id), slog.String("error", e.Message))
	writeError(w, e)
}

// failMidway ends a response that has begun. A stream gets OpenAI's error
// event (the SDKs raise it) and no [DONE], so clients cannot mistake a
// cut-off reply for a whole one.
func (s *Server) failMidway(w http.ResponseWriter, r *http.Request, ctx context.Context, err error, g *genRequest, sw *sseWriter) {
	if r.Context().Err() != nil {
		return
	}
	e := s.generationError(ctx, err, g.promptParam)
	annotate(r, slog.String("id", g.id), slog.String("error", e.Message))
	if !g.stream {
		writeError(w, e)
		return
	}
	sw.event(struct {
		Error *apiError `json:"error"`
	}{e})
	sw.flush()
}

func (s *Server) chatResponse(g *genRequest, choices []choiceState, u *usage) chatCompletion {
	out := chatCompletion{ID: g.id, Object: "chat.completion", Created: g.created, Model: s.name,
		SystemFingerprint: s.fp, Usage: u, Choices: make([]chatChoice, len(choices))}
	for i := range choices {
		c := &choices[i]
		ch := chatChoice{Index: i, Message: chatOut{Role: "assistant", Content: c.result.Text}, FinishReason: c.result.FinishReason}
		if g.logprobs {
			ch.Logprobs = &chatLogprobs{Content: make([]logprobEntry, len(c.tokens))}
			for j := range c.tokens {
				ch.Logprobs.Content[j] = chatEntry(&c.tokens[j], g.topLogprobs)
			}
		}
		out.Choices[i] = ch
	}
	return out
}

func chatEntry(t *tokenLogprob, top int) logprobEntry {
	e := logprobEntry{Token: t.text, Logprob: logprob(t.logprob), Bytes: byteList(t.text), TopLogprobs: []topLogprob{}}
	for _, a := range t.top[:min(top, len(t.top))] {
		e.TopLogprobs = append(e.TopLogprobs, topLogprob{Token: a.Text, Logprob: logprob(a.Logprob), Bytes: byteList(a.Text)})
	}
	return e
}

func completionLP(tokens []tokenLogprob, top int) *completionLogprobs {
	lp := &completionLogprobs{Tokens: []string{}, TokenLogprobs: []float64{}, TopLogprobs: []map[string]float64{}, TextOffset: []int{}}
	for i := range tokens {
		t := &tokens[i]
		lp.Tokens = append(lp.Tokens, t.text)
		lp.TokenLogprobs = append(lp.TokenLogprobs, logprob(t.logprob))
		alts := map[string]float64{}
		for _, a := range t.top[:min(top, len(t.top))] {
			alts[a.Text] = logprob(a.Logprob)
		}
		lp.TopLogprobs = append(lp.TopLogprobs, alts)
		lp.TextOffset = append(lp.TextOffset, t.offset)
	}
	return lp
}

func (s *Server) completionResponse(g *genRequest, choices []choiceState, u *usage) completion {
	out := completion{ID: g.id, Object: "text_completion", Created: g.created, Model: s.name,
		SystemFingerprint: s.fp, Usage: u, Choices: make([]completionChoice, len(choices))}
	for i := range choices {
		c := &choices[i]
		fr := c.result.FinishReason
		ch := completionChoice{Index: i, Text: c.result.Text, FinishReason: &fr}
		if g.logprobs {
			ch.Logprobs = completionLP(c.tokens, g.topLogprobs)
		}
		out.Choices[i] = ch
	}
	return out
}
