package tokenizer

import (
	"strings"
	"unicode/utf8"
)

// decoderKind names the HF decoders this package runs.
type decoderKind int

const (
	decByteLevel decoderKind = iota
	decByteFallback
	decFuse
	decStrip
	decReplace
	decMetaspace
)

// decoder is one step of HF's decoder chain. Every step maps a list of token
// strings to a new list; the final list is concatenated.
type decoder struct {
	kind decoderKind

	replace replaceNorm // decReplace

	stripContent      rune // decStrip
	stripStart, stop  int
	metaRepl          rune // decMetaspace
	metaDropFirstRepl bool
}

// decodeState carries what the chain needs to know about tokens already
// decoded, so that the streaming detokenizer can decode in chunks and still
// produce exactly what one Decode of all ids gives.
type decodeState struct {
	started   bool  // some token has passed through the chain
	stripLeft []int // per step: leading characters a fused Strip may still remove
}

func (t *Tokenizer) newDecodeState() decodeState {
	st := decodeState{stripLeft: make([]int, len(t.decoders))}
	for i, d := range t.decoders {
		if d.kind == decStrip {
			st.stripLeft[i] = d.stripStart
		}
	}
	return st
}

// decodeChain runs the decoder chain over toks. st describes the tokens
// before toks and is updated. clean reports whether the chain holds no state
// that the next token could change: no unfinished byte-fallback run, no
// truncated UTF-8 character, no pending trailing strip.
func (t *Tokenizer) decodeChain(toks []string, st *decodeState) (text string, clean bool) {
	if len(t.decoders) == 0 {
		// HF joins tokens with spaces when there is no decoder.
		text = strings.Join(toks, " ")
		if st.started && len(toks) > 0 {
			text = " " + text
		}
		if len(toks) > 0 {
			st.started = true
		}
		return text, true
	}
	clean = true
	fused := false
	for i, d := range t.decoders {
		switch d.kind {
		case decByteLevel:
			var b []byte
			for _, tok := range toks {
				b = byteLevelDecode(b, tok)
			}
			if incompleteTail(b) > 0 {
				clean = false
			}
			toks = []string{string(appendLossy(nil, b))}
			fused = true
		case decByteFallback:
			var ok bool
			toks, ok = byteFallback(toks)
			clean = clean && ok
		case decFuse:
			toks = []string{strings.Join(toks, "")}
			fused = true
		case decReplace:
			out := make([]string, len(toks))
			for j, tok := range toks {
				out[j] = d.replace.normalize(tok)
			}
			toks = out
		case decMetaspace:
			out := make([]string, len(toks))
			for j, tok := range toks {
				first := j == 0 && !st.started && d.metaDropFirstRepl
				var b strings.Builder
				for _, r := range tok {
					switch {
					case r != d.metaRepl:
						b.WriteRune(r)
					case !first:
						b.WriteByte(' ')
					}
				}
				out[j] = b.String()
			}
			toks = out
		case decStrip:
			out := make([]string, len(toks))
			for j, tok := range toks {
				if fused {
					// The token is (a chunk of) the whole text: strip its
					// start only while the text's start is being decoded.
					left := st.stripLeft[i]
					tok, left = stripStart(tok, d.stripContent, left)
					st.stripLeft[i] = left
					if d.stop > 0 {
						clean = false
					}
				} else {
					tok, _ = stripStart(tok, d.stripContent, d.stripStart)
				}
				out[j] = stripEnd(tok, d.stripContent, d.stop)
			}
			toks = out
		}
	}
	if len(toks) > 0 {
		st.started = true
	}
	return strings.Join(toks, ""), clean
}

// stripStart removes up to n leading c and returns how many more a following
// chunk may remove: none once a different character has been seen.
func stripStart(s string, c rune, n int) (string, int) {
	for n > 0 && s != "" {
		r, size := utf8.DecodeRuneInString(s)
		if r != c {
			return s, 0
		}
		s = s[size:]
		n--
	}
	if s != "" {
		n = 0
	}
	return s, n
}

func stripEnd(s string, c rune, n int) string {
	for ; n > 0 && s != ""; n-- {
		r, size := utf8.DecodeLastRuneInString(s)
		if r != c {
			break
		}
		s = s[:len(s)-size]
	}
	return s
}

// byteToken parses "<0xNN>" as HF's ByteFallback does (Rust's
// u8::from_str_radix, which also takes a "+" sign).
func byteToken(tok string) (byte, bool) {
	if len(tok) != 6 || tok[:3] != "<0x" || tok[5] != '>' {
		return 0, false
	}
	h := tok[3:5]
	if h[0] == '+' {
		h = h[1:]
	}
	v := 0
	for i := 0; i < len(h); i++ {
		d := hexVal(h[i])
		if d < 0 {
			return 0, false
		}
		v = v*16 + d
	}
	return byte(v), true
}

func hexVal(c byte) int {
	switch {
	case c >= '0' && c <= '9':
		return int(c - '0')
	case c >= 'a' && c <= 'f':
		return int(c-'a') + 10
	case c >= 'A' && c <= 'F':
		return int(c-'A') + 10
	}
	return -1
}

// byteFallback is HF's ByteFallback decoder: a run of byte tokens becomes its
// text when the run is valid UTF-8, and one U+FFFD per byte token otherwise.
// ok is false when toks ends inside a run.
func byteFallback(toks []string) (out []string, ok bool) {
	var run []byte
	flush := func() {
		if len(run) == 0 {
			return
		}
		if utf8.Valid(run) {
			out = append(out, string(run))
		} else {
			for range run {
				out = append(out, "\uFFFD")
			}
		}
		run = run[:0]
	}
	for _, tok := range toks {
		if b, isByte := byteToken(tok); isByte {
			run = append(run, b)
			continue
		}
		flush()
		out = append(out, tok)
	}
	ok = len(run) == 0
	flush()
	return out, ok
}

// Decode turns ids into text as HF's decode(ids, skip_special_tokens=False,
// clean_up_tokenization_spaces=False) does: special tokens appear as their
// text, and bytes that do not form UTF-8 become U+FFFD. Ids outside the
// vocabulary are skipped.
func (t *Tokenizer) Decode(ids []int32) string {
	toks := make([]string, 0, len(ids))
	for _, id := range ids {
		if tok, ok := t.token(id); ok {
			toks = append(toks, tok)
		}
	}
	st := t.newDecodeState()
	text, _ := t.decodeChain(toks, &st)
	return text
}

// Streamer turns ids into text as they are generated. Each piece it returns
// is valid UTF-8, and the pieces concatenated equal Decode of all the ids:
// text is held back while a later token could still change it (a character
// split across byte tokens, an unfinished byte-fallback run).
type Streamer struct {
	t       *Tokenizer
	pending []string
	st      decodeState
}

// NewStreamer returns a streaming detokenizer. It is not safe for concurrent
// use.
func (t *Tokenizer) NewStreamer() *Streamer {
	return &Streamer{t: t, st: t.newDecodeState()}
}

// Add consumes one id and returns the text that is now final, often "".
func (s *Streamer) Add(id int32) string {
	tok, ok := s.t.token(id)
	if !ok {
		return ""
	}
	s.pending = append(s.pending, tok)
	st := s.st.clone()
	text, clean := s.t.decodeChain(s.pending, &st)
	if !clean {
		return ""
	}
	s.st = st
	s.pending = s.pending[:0]
	return text
}

// Flush returns whatever is held back, decoded as if no id followed.
func (s *Streamer) Flush() string {
	if len(s.pending) == 0 {
		return ""
	}
	text, _ := s.t.decodeChain(s.pending, &s.st)
	s.pending = s.pending[:0]
	return text
}

func (st decodeState) clone() decodeState {
	st.stripLeft = append([]int(nil), st.stripLeft...)
	return st
}
