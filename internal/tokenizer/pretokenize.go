package tokenizer

import (
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/dlclark/regexp2/v2"
)

// llama3Pattern is the Llama 3 pre-tokenizer regex (also tiktoken's
// cl100k_base).
const llama3Pattern = `(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+`

// gpt2Pattern is the regex of HF's ByteLevel pre-tokenizer with
// use_regex=true.
const gpt2Pattern = `'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+`

// compileRegex compiles an HF (Oniguruma) pattern with .NET semantics.
// regexp2.RE2 must not be used: it makes \s ASCII-only.
func compileRegex(pattern string) (*regexp2.Regexp, error) {
	return regexp2.Compile(pattern, regexp2.None)
}

// preTokenizer splits a normalized segment into words. atStart says whether
// s begins at offset 0 of the original input, which Metaspace's
// prepend_scheme "first" needs. emit is called synchronously and must not
// retain piece.
type preTokenizer interface {
	split(s string, atStart bool, emit func(piece string, atStart bool))
}

type sequencePT []preTokenizer

func (q sequencePT) split(s string, atStart bool, emit func(string, bool)) {
	q.splitFrom(0, s, atStart, emit)
}

func (q sequencePT) splitFrom(i int, s string, atStart bool, emit func(string, bool)) {
	if i == len(q) {
		emit(s, atStart)
		return
	}
	q[i].split(s, atStart, func(p string, a bool) { q.splitFrom(i+1, p, a, emit) })
}

// splitBehavior is HF's SplitDelimiterBehavior.
type splitBehavior int

const (
	splitRemoved splitBehavior = iota
	splitIsolated
	splitMergedWithPrevious
	splitMergedWithNext
	splitContiguous
)

var splitBehaviors = map[string]splitBehavior{
	"Removed":            splitRemoved,
	"Isolated":           splitIsolated,
	"MergedWithPrevious": splitMergedWithPrevious,
	"MergedWithNext":     splitMergedWithNext,
	"Contiguous":         splitContiguous,
}

// span is a piece of a string, in bytes, and whether it matched the pattern.
type span struct {
	start, end int
	match      bool
}

// splitPT is HF's Split pre-tokenizer, with either a literal or a regex.
type splitPT struct {
	literal  string
	re       *regexp2.Regexp
	behavior splitBehavior
	invert   bool
}

func (p *splitPT) split(s string, atStart bool, emit func(string, bool)) {
	spans := p.find(s)
	if p.invert {
		for i := range spans {
			spans[i].match = !spans[i].match
		}
	}
	spans = applyBehavior(spans, p.behavior)
	for _, sp := range spans {
		if sp.end > sp.start {
			emit(s[sp.start:sp.end], atStart && sp.start == 0)
		}
	}
}

// find lists the matches of the pattern and the gaps between them, in order,
// covering s.
func (p *splitPT) find(s string) []span {
	var spans []span
	prev := 0
	add := func(start, end int) {
		if start > prev {
			spans = append(spans, span{prev, start, false})
		}
		spans = append(spans, span{start, end, true})
		prev = end
	}
	if p.re == nil {
		if p.literal != "" {
			for i := 0; i <= len(s)-len(p.literal); {
				j := strings.Index(s[i:], p.literal)
				if j < 0 {
					break
				}
				add(i+j, i+j+len(p.literal))
				i += j + len(p.literal)
			}
		}
	} else {
		forEachMatch(p.re, s, add)
	}
	if prev < len(s) {
		spans = append(spans, span{prev, len(s), false})
	}
	return spans
}

// forEachMatch calls f with the byte offsets of each regex match in s.
func forEachMatch(re *regexp2.Regexp, s string, f func(start, end int)) {
	runes := []rune(s)
	// Matches come in order, so rune offsets convert to byte offsets with
	// one forward walk.
	ri, bi := 0, 0
	toByte := func(r int) int {
		for ri < r {
			bi += utf8.RuneLen(runes[ri])
			ri++
		}
		return bi
	}
	// An error can only be a timeout, and none is set.
	_ = re.FindRunesMatches(runes, 0, func(v regexp2.MatchView) bool {
		idx, n, _ := v.GroupRange(0)
		start := toByte(idx)
		end := toByte(idx + n)
		f(start, end)
		return true
	})
}

// applyBehavior merges spans the way HF's NormalizedString::split does.
func applyBehavior(spans []span, b splitBehavior) []span {
	switch b {
	case splitIsolated:
		return spans
	case splitRemoved:
		out := spans[:0]
		for _, sp := range spans {
			if !sp.match {
				out = append(out, sp)
			}
		}
		return out
	case splitMergedWithPrevious:
		var out []span
		prevMatch := false
		for _, sp := range spans {
			if sp.match && !prevMatch && len(out) > 0 {
				out[len(out)-1].end = sp.end
			} else {
				out = append(out, sp)
			}
			prevMatch = sp.match
		}
		return out
	case splitMergedWithNext:
		var rev []span
		prevMatch := false
		for i := len(spans) - 1; i >= 0; i-- {
			sp := spans[i]
			if sp.match && !prevMatch && len(rev) > 0 {
				rev[len(rev)-1].start = sp.start
			} else {
				rev = append(rev, sp)
			}
			prevMatch = sp.match
		}
		for i, j := 0, len(rev)-1; i < j; i, j = i+1, j-1 {
			rev[i], rev[j] = rev[j], rev[i]
		}
		return rev
	case splitContiguous:
		var out []span
		prevMatch := false
		for _, sp := range spans {
			if sp.match == prevMatch && len(out) > 0 {
				out[len(out)-1].end = sp.end
			} else {
				out = append(out, sp)
			}
			prevMatch = sp.match
		}
		return out
	}
	return spans
}

// byteLevelPT is HF's ByteLevel pre-tokenizer: an optional GPT-2 regex
// split, an optional leading space, then the byte-to-rune mapping.
type byteLevelPT struct {
	addPrefixSpace bool
	re             *regexp2.Regexp // nil unless use_regex
}

func (p *byteLevelPT) split(s string, atStart bool, emit func(string, bool)) {
	if p.addPrefixSpace && !strings.HasPrefix(s, " ") {
		s = " " + s
	}
	if p.re == nil {
		emit(string(appendByteLevel(nil, s)), atStart)
		return
	}
	var buf []byte
	forEachMatchAndGap(p.re, s, func(start, end int) {
		buf = appendByteLevel(buf[:0], s[start:end])
		emit(string(buf), atStart && start == 0)
	})
}

// forEachMatchAndGap is Split with the Isolated behaviour: matches and the
// gaps between them, in order, none empty.
func forEachMatchAndGap(re *regexp2.Regexp, s string, f func(start, end int)) {
	prev := 0
	forEachMatch(re, s, func(start, end int) {
		if start > prev {
			f(prev, start)
		}
		if end > start {
			f(start, end)
		}
		prev = end
	})
	if prev < len(s) {
		f(prev, len(s))
	}
}

// prependScheme is Metaspace's prepend_scheme.
type prependScheme int

const (
	prependAlways prependScheme = iota
	prependNever
	prependFirst
)

// metaspacePT is HF's Metaspace pre-tokenizer.
type metaspacePT struct {
	repl    string
	scheme  prependScheme
	splitOn bool
}

func (p *metaspacePT) split(s string, atStart bool, emit func(string, bool)) {
	s = strings.ReplaceAll(s, " ", p.repl)
	if !strings.HasPrefix(s, p.repl) && (p.scheme == prependAlways || p.scheme == prependFirst && atStart) {
		s = p.repl + s
	}
	if !p.splitOn {
		emit(s, atStart)
		return
	}
	// MergedWithNext on the replacement: each piece starts at a replacement.
	start := 0
	for off := 0; ; {
		j := strings.Index(s[off:], p.repl)
		if j < 0 {
			break
		}
		if pos := off + j; pos > start {
			emit(s[start:pos], atStart && start == 0)
			start = pos
		}
		off += j + len(p.repl)
	}
	if start < len(s) {
		emit(s[start:], atStart && start == 0)
	}
}

// digitsPT is HF's Digits pre-tokenizer (Rust's char::is_numeric, which
// is \p{N}).
type digitsPT struct{ individual bool }

func (p *digitsPT) split(s string, atStart bool, emit func(string, bool)) {
	start := 0
	prevDigit := false
	for i, r := range s {
		d := unicode.IsNumber(r)
		if i > start && (d != prevDigit || d && p.individual) {
			emit(s[start:i], atStart && start == 0)
			start = i
		}
		prevDigit = d
	}
	if start < len(s) {
		emit(s[start:], atStart && start == 0)
	}
}

// Character classes of the Llama 3 pattern. \s is unicode.IsSpace, \p{L} is
// unicode.L and \p{N} is unicode.N, exactly as regexp2 defines them.
const (
	clsOther uint8 = iota
	clsLetter
	clsNumber
	clsSpace // \s other than \r and \n
	clsNewline
)

var asciiClass = func() (t [utf8.RuneSelf]uint8) {
	for c := range utf8.RuneSelf {
		r := rune(c)
		switch {
		case r == '\r' || r == '\n':
			t[c] = clsNewline
		case unicode.IsSpace(r):
			t[c] = clsSpace
		case unicode.IsLetter(r):
			t[c] = clsLetter
		case unicode.IsNumber(r):
			t[c] = clsNumber
		}
	}
	return t
}()

// classAt returns the class and size of the rune at s[i].
func classAt(s string, i int) (uint8, int) {
	c := s[i]
	if c < utf8.RuneSelf {
		return asciiClass[c], 1
	}
	r, n := utf8.DecodeRuneInString(s[i:])
	switch {
	case unicode.IsLetter(r):
		return clsLetter, n
	case unicode.IsNumber(r):
		return clsNumber, n
	case unicode.IsSpace(r):
		return clsSpace, n
	}
	return clsOther, n
}

// llama3Split splits s exactly as llama3Pattern does (tests check this
// against regexp2 on the reference corpora and by fuzzing), calling emit with
// the byte range of each piece. The alternatives are tried in the pattern's
// order at each position; every position starts a match, so the pieces
// cover s.
func llama3Split(s string, emit func(start, end int)) {
	for i := 0; i < len(s); {
		end := llama3Match(s, i)
		emit(i, end)
		i = end
	}
}

func llama3Match(s string, i int) int {
	c0, n0 := classAt(s, i)
	// (?i:'s|'t|'re|'ve|'m|'ll|'d)
	if s[i] == '\'' {
		if n := contraction(s[i+1:]); n > 0 {
			return i + 1 + n
		}
	}
	// [^\r\n\p{L}\p{N}]?\p{L}+
	if c0 == clsLetter {
		return letterRun(s, i+n0)
	}
	if c0 == clsOther || c0 == clsSpace {
		if j := i + n0; j < len(s) {
			if c1, n1 := classAt(s, j); c1 == clsLetter {
				return letterRun(s, j+n1)
			}
		}
	}
	// \p{N}{1,3}
	if c0 == clsNumber {
		j := i + n0
		for k := 1; k < 3 && j < len(s); k++ {
			c, n := classAt(s, j)
			if c != clsNumber {
				break
			}
			j += n
		}
		return j
	}
	// ` ?[^\s\p{L}\p{N}]+[\r\n]*`
	j := i
	if s[i] == ' ' && i+1 < len(s) {
		if c1, _ := classAt(s, i+1); c1 == clsOther {
			j = i + 1
		}
	}
	if c, _ := classAt(s, j); c == clsOther {
		for j < len(s) {
			c, n := classAt(s, j)
			if c != clsOther {
				break
			}
			j += n
		}
		for j < len(s) && (s[j] == '\r' || s[j] == '\n') {
			j++
		}
		return j
	}
	// The rune at i is whitespace. Find the whole run and its last newline.
	end, lastNL, lastStart := i, -1, i
	for end < len(s) {
		c, n := classAt(s, end)
		if c != clsSpace && c != clsNewline {
			break
		}
		if c == clsNewline {
			lastNL = end
		}
		lastStart = end
		end += n
	}
	// \s*[\r\n]+ : backtracking stops at the last newline of the run.
	if lastNL >= 0 {
		return lastNL + 1
	}
	// \s+(?!\S) : the whole run at the end of s, else all but its last rune.
	if end == len(s) || lastStart > i {
		if end == len(s) {
			return end
		}
		return lastStart
	}
	// \s+
	return end
}

// contraction returns the length of the contraction suffix ("s", "re", ...)
// that s starts with, or 0. regexp2's (?i:...) matches by Unicode simple
// case folding, so "ſ" (U+017F) counts as "s".
func contraction(s string) int {
	r1, n1 := utf8.DecodeRuneInString(s)
	switch {
	case n1 == 0:
		return 0
	case foldsTo(r1, 's'), foldsTo(r1, 't'), foldsTo(r1, 'm'), foldsTo(r1, 'd'):
		return n1
	}
	var second byte
	switch {
	case foldsTo(r1, 'r'), foldsTo(r1, 'v'):
		second = 'e'
	case foldsTo(r1, 'l'):
		second = 'l'
	default:
		return 0
	}
	if r2, n2 := utf8.DecodeRuneInString(s[n1:]); n2 > 0 && foldsTo(r2, second) {
		return n1 + n2
	}
	return 0
}

// foldsTo reports whether r is l under Unicode simple case folding.
func foldsTo(r rune, l byte) bool {
	if r == rune(l) {
		return true
	}
	if r < utf8.RuneSelf {
		return r|0x20 == rune(l)
	}
	for f := unicode.SimpleFold(r); f != r; f = unicode.SimpleFold(f) {
		if f == rune(l) {
			return true
		}
	}
	return false
}

func letterRun(s string, j int) int {
	for j < len(s) {
		c, n := classAt(s, j)
		if c != clsLetter {
			break
		}
		j += n
	}
	return j
}
