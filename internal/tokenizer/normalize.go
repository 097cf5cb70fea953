package tokenizer

import (
	"strings"

	"github.com/dlclark/regexp2/v2"
)

// normalizer rewrites a segment of text between added tokens.
type normalizer interface {
	normalize(s string) string
}

// prependNorm is HF's Prepend normalizer: it leaves an empty string alone.
type prependNorm struct{ prefix string }

func (n prependNorm) normalize(s string) string {
	if s == "" {
		return s
	}
	return n.prefix + s
}

// replaceNorm is HF's Replace normalizer (and Replace decoder).
type replaceNorm struct {
	literal string
	re      *regexp2.Regexp
	content string
}

func (n replaceNorm) normalize(s string) string {
	if n.re == nil {
		if n.literal == "" {
			return s
		}
		return strings.ReplaceAll(s, n.literal, n.content)
	}
	var b strings.Builder
	prev := 0
	forEachMatch(n.re, s, func(start, end int) {
		b.WriteString(s[prev:start])
		b.WriteString(n.content)
		prev = end
	})
	if prev == 0 {
		return s
	}
	b.WriteString(s[prev:])
	return b.String()
}

// byteLevelNorm is HF's ByteLevel normalizer.
type byteLevelNorm struct{}

func (byteLevelNorm) normalize(s string) string { return string(appendByteLevel(nil, s)) }

// stripNorm is HF's Strip normalizer.
type stripNorm struct{ left, right bool }

func (n stripNorm) normalize(s string) string {
	if n.left {
		s = strings.TrimLeftFunc(s, isRustWhitespace)
	}
	if n.right {
		s = strings.TrimRightFunc(s, isRustWhitespace)
	}
	return s
}

// isRustWhitespace is Rust's char::is_whitespace (the White_Space property).
func isRustWhitespace(r rune) bool {
	switch r {
	case '\t', '\n', '\v', '\f', '\r', ' ', 0x85, 0xA0, 0x1680, 0x2028, 0x2029, 0x202F, 0x205F, 0x3000:
		return true
	}
	return r >= 0x2000 && r <= 0x200A
}

// spmWhitespaceNorm is SentencePiece's remove_extra_whitespaces: no leading
// or trailing spaces and no runs of spaces.
type spmWhitespaceNorm struct{}

func (spmWhitespaceNorm) normalize(s string) string {
	var b strings.Builder
	space := false
	s = strings.Trim(s, " ")
	for i := 0; i < len(s); i++ {
		if s[i] == ' ' {
			if space {
				continue
			}
			space = true
		} else {
			space = false
		}
		b.WriteByte(s[i])
	}
	return b.String()
}
