package sample

import (
	"slices"
	"strings"
	"testing"
)

func TestStopper(t *testing.T) {
	tests := []struct {
		name    string
		stops   []string
		pieces  []string
		emits   []string // one per piece pushed (pushing ends at the stop)
		stopped bool
		flush   string
		matched string
	}{
		{
			name:   "no stops passes text through",
			stops:  nil,
			pieces: []string{"Hello", ", world"},
			emits:  []string{"Hello", ", world"},
		},
		{
			name:    "stop inside one piece",
			stops:   []string{"\n\n"},
			pieces:  []string{"one", " two\n\nthree"},
			emits:   []string{"one", " two"},
			stopped: true, matched: "\n\n",
		},
		{
			name:    "stop split over two pieces",
			stops:   []string{"<|end|>"},
			pieces:  []string{"Hi<|e", "nd|>junk"},
			emits:   []string{"Hi", ""},
			stopped: true, matched: "<|end|>",
		},
		{
			name:    "stop split over three pieces",
			stops:   []string{"STOP"},
			pieces:  []string{"abc S", "T", "OP def"},
			emits:   []string{"abc ", "", ""},
			stopped: true, matched: "STOP",
		},
		{
			name:   "partial match released in order",
			stops:  []string{"STOP"},
			pieces: []string{"a ST", "O", "RM b"},
			emits:  []string{"a ", "", "STORM b"},
		},
		{
			name:   "partial match released by a second partial",
			stops:  []string{"abc"},
			pieces: []string{"xa", "b", "ab", "x"},
			// "xab" then "ab" again: the first "ab" is released when the
			// second starts a fresh candidate.
			emits: []string{"x", "", "ab", "abx"},
		},
		{
			name:   "held text is flushed at the end",
			stops:  []string{"</s>"},
			pieces: []string{"done </"},
			emits:  []string{"done "},
			flush:  "</",
		},
		{
			name:    "common prefix, longer one completes",
			stops:   []string{"###", "##!"},
			pieces:  []string{"x#", "#", "!y"},
			emits:   []string{"x", "", ""},
			stopped: true, matched: "##!",
		},
		{
			name:   "common prefix, neither completes",
			stops:  []string{"###", "##!"},
			pieces: []string{"x##", "?"},
			emits:  []string{"x", "##?"},
		},
		{
			name:    "shorter stop inside a longer one wins where it ends first",
			stops:   []string{"<end>", "end"},
			pieces:  []string{"a<e", "nd>"},
			emits:   []string{"a", ""},
			stopped: true, matched: "<end>",
		},
		{
			name:    "earliest start wins",
			stops:   []string{"cd", "bcde"},
			pieces:  []string{"abcd"},
			emits:   []string{"ab"},
			stopped: true, matched: "cd",
		},
		{
			name:    "stop at the very start",
			stops:   []string{"<|im_end|>"},
			pieces:  []string{"<|im_end|>"},
			emits:   []string{""},
			stopped: true, matched: "<|im_end|>",
		},
		{
			name:    "empty stop strings are ignored",
			stops:   []string{"", "x"},
			pieces:  []string{"ab", "cx"},
			emits:   []string{"ab", "c"},
			stopped: true, matched: "x",
		},
		{
			name:    "multibyte stop split inside a character",
			stops:   []string{"。"}, // E3 80 82
			pieces:  []string{"你好", "\xe3\x80", "\x82再见"},
			emits:   []string{"你好", "", ""},
			stopped: true, matched: "。",
		},
		{
			name:   "multibyte near miss keeps the character whole",
			stops:  []string{"éa"},
			pieces: []string{"caf\xc3", "\xa9!"},
			emits:  []string{"caf", "é!"},
		},
		{
			name:   "a split character is held even without stops",
			stops:  nil,
			pieces: []string{"日\xe6\x9c", "\xac"},
			emits:  []string{"日", "本"},
		},
		{
			name:   "invalid bytes are not held forever",
			stops:  nil,
			pieces: []string{"a\xff", "b"},
			emits:  []string{"a\xff", "b"},
		},
		{
			name:   "incomplete character at the end is flushed",
			stops:  []string{"zz"},
			pieces: []string{"ok\xe6\x9c"},
			emits:  []string{"ok"},
			flush:  "\xe6\x9c",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := NewStopper(tt.stops)
			var emits []string
			stopped := false
			var all strings.Builder
			for _, p := range tt.pieces {
				e, st := s.Push(p)
				emits = append(emits, e)
				all.WriteString(e)
				if st {
					stopped = true
					break
				}
			}
			if !slices.Equal(emits, tt.emits) {
				t.Errorf("emits = %q, want %q", emits, tt.emits)
			}
			if stopped != tt.stopped || s.Stopped() != tt.stopped {
				t.Errorf("stopped = %v, want %v", stopped, tt.stopped)
			}
			if s.Matched() != tt.matched {
				t.Errorf("Matched() = %q, want %q", s.Matched(), tt.matched)
			}
			if f := s.Flush(); f != tt.flush {
				t.Errorf("Flush() = %q, want %q", f, tt.flush)
			}
			if !tt.stopped {
				// Nothing is lost or reordered when no stop matches.
				if got, want := all.String()+tt.flush, strings.Join(tt.pieces, ""); got != want {
					t.Errorf("emitted+flushed = %q, want %q", got, want)
				}
			}
			if e, st := s.Push("more"); tt.stopped && (e != "" || !st) {
				t.Errorf("Push after stop = %q, %v", e, st)
			}
		})
	}
}

// TestStopperEveryByteSplit feeds the same text one byte at a time and in
// one piece; the result must not depend on where the pieces break.
func TestStopperEveryByteSplit(t *testing.T) {
	text := "Ünïcödé <st <sto 日本語 <stop> tail"
	stops := []string{"<stop>", "<stX"}
	for split := 1; split <= len(text); split++ {
		s := NewStopper(stops)
		var out strings.Builder
		for i := 0; i < len(text); i += split {
			e, st := s.Push(text[i:min(i+split, len(text))])
			if strings.ContainsRune(e, '\uFFFD') || (e != "" && !validUTF8Prefix(e)) {
				t.Fatalf("split %d: emitted a broken character %q", split, e)
			}
			out.WriteString(e)
			if st {
				break
			}
		}
		if got, want := out.String(), "Ünïcödé <st <sto 日本語 "; got != want {
			t.Fatalf("split %d: got %q, want %q", split, got, want)
		}
	}
}

func validUTF8Prefix(s string) bool { return strings.ToValidUTF8(s, "\uFFFD") == s }
