package sample

import (
	"slices"
	"strings"
	"unicode/utf8"
)

// Stopper finds stop strings in streamed text. Text arrives a token piece
// at a time, and a stop string can span pieces, so Push only releases text
// that can no longer turn out to be part of a stop string: the client never
// sees half of a stop string that is then cut, nor loses text that looked
// like one but was not.
//
// It also never releases an incomplete UTF-8 sequence at the end of the
// text: byte-fallback tokens can split a character across pieces, and a
// streamed JSON string cannot carry half a character.
type Stopper struct {
	stops   []string
	held    string
	stopped bool
	matched string
}

// NewStopper returns a Stopper for the given stop strings. Empty strings are
// ignored, since they would match before any text; with none left it only
// holds back split characters.
func NewStopper(stops []string) *Stopper {
	s := &Stopper{}
	for _, st := range stops {
		if st != "" && !slices.Contains(s.stops, st) {
			s.stops = append(s.stops, st)
		}
	}
	return s
}

// Push takes the next decoded piece and returns the text that is safe to
// show now. When a stop string completes, emit is the text before it,
// stopped is true, and the stop string and everything after it are
// dropped; later calls return "", true.
func (s *Stopper) Push(text string) (emit string, stopped bool) {
	if s.stopped {
		return "", true
	}
	buf := s.held + text
	// The earliest start wins: generation would have stopped there first,
	// whichever stop strings overlap it.
	at := -1
	for _, st := range s.stops {
		if i := strings.Index(buf, st); i >= 0 && (at < 0 || i < at) {
			at, s.matched = i, st
		}
	}
	if at >= 0 {
		s.stopped, s.held = true, ""
		return buf[:at], true
	}
	cut := min(len(buf)-s.partial(buf), incompleteTail(buf))
	s.held = buf[cut:]
	return buf[:cut], false
}

// Flush returns the text still held back once generation ends without a
// stop string (or "" after one).
func (s *Stopper) Flush() string {
	h := s.held
	s.held = ""
	return h
}

// Stopped reports whether a stop string has matched.
func (s *Stopper) Stopped() bool { return s.stopped }

// Matched returns the stop string that ended generation, "" if none did.
func (s *Stopper) Matched() string { return s.matched }

// partial returns the length of the longest suffix of buf that is a proper
// prefix of some stop string. Holding from the longest such suffix holds
// from the earliest position where a stop string could still start.
func (s *Stopper) partial(buf string) int {
	best := 0
	for _, st := range s.stops {
		for l := min(len(st)-1, len(buf)); l > best; l-- {
			if strings.HasSuffix(buf, st[:l]) {
				best = l
				break
			}
		}
	}
	return best
}

// incompleteTail returns where a trailing incomplete UTF-8 sequence starts,
// or len(b) if there is none. Invalid bytes count as complete: waiting
// would not make them valid.
func incompleteTail(b string) int {
	for i := len(b) - 1; i >= 0 && i > len(b)-utf8.UTFMax; i-- {
		if utf8.RuneStart(b[i]) {
			if !utf8.FullRuneInString(b[i:]) {
				return i
			}
			break
		}
	}
	return len(b)
}
