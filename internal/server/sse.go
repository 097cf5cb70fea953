package server

import (
	"bytes"
	"encoding/json"
	"net/http"
	"time"
)

// sseWriter frames server-sent events as OpenAI streams them:
// "data: {json}\n\n" per chunk and "data: [DONE]\n\n" at the end.
type sseWriter struct {
	w       http.ResponseWriter
	rc      *http.ResponseController
	timeout time.Duration
	buf     bytes.Buffer
	err     error
}

var nullJSON = json.RawMessage("null")

func (sw *sseWriter) begin(s *Server, g *genRequest) {
	h := sw.w.Header()
	h.Set("Content-Type", "text/event-stream")
	h.Set("Cache-Control", "no-cache")
	// Stops nginx-style proxies from buffering the stream into one blob.
	h.Set("X-Accel-Buffering", "no")
	sw.w.WriteHeader(http.StatusOK)
	if !g.chat {
		return
	}
	// OpenAI opens each chat choice with its role and empty content.
	empty := ""
	for i := range g.runs {
		c := s.chatChunk(g, chatChunkChoice{Index: i, Delta: chatDelta{Role: "assistant", Content: &empty}})
		sw.event(c)
	}
}

func (s *Server) chatChunk(g *genRequest, choices ...chatChunkChoice) chatChunk {
	c := chatChunk{ID: g.id, Object: "chat.completion.chunk", Created: g.created, Model: s.name,
		SystemFingerprint: s.fp, Choices: choices}
	if g.includeUsage {
		c.Usage = nullJSON
	}
	return c
}

func (s *Server) completionChunk(g *genRequest, choices ...completionChoice) completion {
	c := completion{ID: g.id, Object: "text_completion", Created: g.created, Model: s.name,
		SystemFingerprint: s.fp, Choices: choices}
	if g.includeUsage {
		c.Usage = nullJSON
	}
	return c
}

func (sw *sseWriter) delta(s *Server, g *genRequest, index int, text string, lp *tokenLogprob) error {
	if g.chat {
		ch := chatChunkChoice{Index: index, Delta: chatDelta{Content: &text}}
		if lp != nil {
			ch.Logprobs = &chatLogprobs{Content: []logprobEntry{chatEntry(lp, g.topLogprobs)}}
		}
		return sw.event(s.chatChunk(g, ch))
	}
	ch := completionChoice{Index: index, Text: text}
	if lp != nil {
		ch.Logprobs = completionLP([]tokenLogprob{*lp}, g.topLogprobs)
	}
	return sw.event(s.completionChunk(g, ch))
}

func (sw *sseWriter) finish(s *Server, g *genRequest, index int, reason string) error {
	if g.chat {
		return sw.event(s.chatChunk(g, chatChunkChoice{Index: index, FinishReason: &reason}))
	}
	return sw.event(s.completionChunk(g, completionChoice{Index: index, FinishReason: &reason}))
}

// usage sends the closing chunk that include_usage asks for: no choices,
// only the totals.
func (sw *sseWriter) usage(s *Server, g *genRequest, u *usage) error {
	if g.chat {
		c := s.chatChunk(g)
		c.Choices, c.Usage = []chatChunkChoice{}, u
		return sw.event(c)
	}
	c := s.completionChunk(g)
	c.Choices, c.Usage = []completionChoice{}, u
	return sw.event(c)
}

func (sw *sseWriter) done() error {
	sw.buf.WriteString("data: [DONE]\n\n")
	return sw.flush()
}

// event queues one chunk; flush sends what is queued.
func (sw *sseWriter) event(v any) error {
	if sw.err != nil {
		return sw.err
	}
	b, err := json.Marshal(v)
	if err != nil {
		sw.err = err
		return err
	}
	sw.buf.WriteString("data: ")
	sw.buf.Write(b)
	sw.buf.WriteString("\n\n")
	if sw.buf.Len() > 32<<10 {
		return sw.flush()
	}
	return nil
}

func (sw *sseWriter) flush() error {
	if sw.err != nil || sw.buf.Len() == 0 {
		return sw.err
	}
	// A fresh deadline per write: a stream may run for minutes, but a
	// client that stops reading must not hold the handler forever.
	// Recorders in tests do not support deadlines; that is fine.
	_ = sw.rc.SetWriteDeadline(time.Now().Add(sw.timeout))
	if _, err := sw.w.Write(sw.buf.Bytes()); err != nil {
		sw.err = err
		return err
	}
	sw.buf.Reset()
	if err := sw.rc.Flush(); err != nil {
		sw.err = err
	}
	return sw.err
}
