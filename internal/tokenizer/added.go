package tokenizer

import (
	"unicode"
	"unicode/utf8"
)

// addedToken is an entry of HF's added_tokens: text matched literally before
// the model runs.
type addedToken struct {
	id         int32
	content    string
	special    bool
	lstrip     bool
	rstrip     bool
	normalized bool
	singleWord bool
}

// addedMatcher finds added tokens leftmost-longest, as HF's Aho-Corasick
// automaton (MatchKind::LeftmostLongest) does.
type addedMatcher struct {
	first [256]bool
	// edges maps node<<8|byte to the child node; node 0 is the root.
	edges map[uint32]uint32
	// term[node] is the index in toks of the token ending there, or -1.
	term []int32
	toks []addedToken
}

func newAddedMatcher(toks []addedToken, pattern func(addedToken) string) *addedMatcher {
	m := &addedMatcher{edges: map[uint32]uint32{}, term: []int32{-1}}
	for _, tok := range toks {
		p := pattern(tok)
		if p == "" {
			continue
		}
		m.first[p[0]] = true
		node := uint32(0)
		for i := 0; i < len(p); i++ {
			k := node<<8 | uint32(p[i])
			child, ok := m.edges[k]
			if !ok {
				child = uint32(len(m.term))
				m.term = append(m.term, -1)
				m.edges[k] = child
			}
			node = child
		}
		if m.term[node] < 0 {
			m.term[node] = int32(len(m.toks))
			m.toks = append(m.toks, tok)
		}
	}
	if len(m.toks) == 0 {
		return nil
	}
	return m
}

// longestAt returns the longest token starting at s[i].
func (m *addedMatcher) longestAt(s string, i int) (tok int32, end int) {
	tok, end = -1, -1
	node := uint32(0)
	for j := i; j < len(s); j++ {
		child, ok := m.edges[node<<8|uint32(s[j])]
		if !ok {
			break
		}
		node = child
		if t := m.term[node]; t >= 0 {
			tok, end = t, j+1
		}
	}
	return tok, end
}

// split calls seg for each stretch of s between matches and tok for each
// match, in order. Specials are found and then dropped when !parseSpecial,
// as HF does with encode_special_tokens, so a special token still hides any
// shorter non-special token inside it.
func (m *addedMatcher) split(s string, parseSpecial bool, seg func(start, end int), tok func(id int32)) {
	pos := 0 // end of the text already handed out
	for i := 0; i < len(s); {
		if !m.first[s[i]] {
			i++
			continue
		}
		t, end := m.longestAt(s, i)
		if t < 0 {
			i++
			continue
		}
		at := m.toks[t]
		start, stop := i, end
		i = end
		if at.special && !parseSpecial {
			continue
		}
		if at.singleWord && (start > 0 && endsWithWord(s[:start]) || stop < len(s) && startsWithWord(s[stop:])) {
			continue
		}
		if start < pos {
			continue
		}
		if at.lstrip {
			start = max(leftSpaceStart(s[:start]), pos)
		}
		if at.rstrip {
			stop += rightSpaceLen(s[stop:])
		}
		if start > pos {
			seg(pos, start)
		}
		tok(at.id)
		pos = stop
		i = max(i, stop)
	}
	if pos < len(s) {
		seg(pos, len(s))
	}
}

// isWordRune approximates Rust regex's Unicode \w.
func isWordRune(r rune) bool {
	return r == '_' || unicode.IsLetter(r) || unicode.IsDigit(r) || unicode.IsMark(r) ||
		unicode.Is(unicode.Pc, r) || unicode.Is(unicode.Nl, r)
}

func endsWithWord(s string) bool {
	r, _ := utf8.DecodeLastRuneInString(s)
	return s != "" && isWordRune(r)
}

func startsWithWord(s string) bool {
	r, _ := utf8.DecodeRuneInString(s)
	return s != "" && isWordRune(r)
}

func leftSpaceStart(s string) int {
	i := len(s)
	for i > 0 {
		r, n := utf8.DecodeLastRuneInString(s[:i])
		if !isRustWhitespace(r) {
			break
		}
		i -= n
	}
	return i
}

func rightSpaceLen(s string) int {
	i := 0
	for i < len(s) {
		r, n := utf8.DecodeRuneInString(s[i:])
		if !isRustWhitespace(r) {
			break
		}
		i += n
	}
	return i
}
