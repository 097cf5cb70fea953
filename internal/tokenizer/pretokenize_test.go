package tokenizer

import (
	"strings"
	"testing"
	"unicode"
	"unicode/utf8"

	"github.com/dlclark/regexp2/v2"
	"github.com/google/go-cmp/cmp"
)

var llama3Regexp = regexp2.MustCompile(llama3Pattern, regexp2.None)

// splitBoth returns the pieces of s from llama3Split and from regexp2.
func splitBoth(tb testing.TB, s string) (fast, oracle []string) {
	re := llama3Regexp
	llama3Split(s, func(a, b int) { fast = append(fast, s[a:b]) })
	forEachMatchAndGap(re, s, func(a, b int) { oracle = append(oracle, s[a:b]) })
	return fast, oracle
}

// trickyTexts exercise the corners of the Llama 3 pattern.
var trickyTexts = []string{
	"", " ", "  ", "\n", "\r\n", " \n ", "a  b", "a\u00a0\u00a0b", "  Hello", "Hello  ",
	"'s 'S 'RE 're 'Ve 'll 'LL 'd 'M 't", "'ſ 'K 'İ 'ǅ", "'ſA0", "'ſre 'RE 'rE 'Rſ 'lL 'Lſ", "'", "don't I'm we'll they'RE",
	"12345678", "１２３４", "²³¹", "x\u0301y", "\u0301", "...abc", "?!a", "a\tb", "\t\tword",
	"\u3000\u3000x", "\u2028\u2029", "\u0085x", "\u1680 \u180e \u200b \ufeff", "end   ",
	"\n\n\nHello\n\n", "foo\r\rbar", "  \n  x", "!\n\n", " !!!\r\n", "\U0001F999\U0001F999",
	"a\x00b", "👍🏽 🇺🇸 1️⃣", "مرحبا بالعالم", "你好，世界！", "e\u0301\u0302\u0303",
}

func TestLlama3SplitMatchesRegex(t *testing.T) {
	var texts []string
	texts = append(texts, trickyTexts...)
	for _, f := range []string{"llama3/encode.jsonl", "llama3/encode_special_as_text.jsonl", "llama3/encode_with_special_tokens.jsonl", "llama2/encode.jsonl"} {
		for _, c := range readJSONL[encodeCase](t, f) {
			texts = append(texts, c.Text)
		}
	}
	for _, s := range texts {
		fast, oracle := splitBoth(t, s)
		if diff := cmp.Diff(oracle, fast); diff != "" {
			t.Errorf("%q: llama3Split differs from regexp2 (-regexp2 +fast):\n%s", s, diff)
		}
	}
	if testing.Short() {
		return
	}
	text := warAndPeace(t)
	fast, oracle := splitBoth(t, text)
	if len(fast) != len(oracle) {
		t.Errorf("War and Peace: %d pieces, regexp2 %d", len(fast), len(oracle))
	}
	for i := range min(len(fast), len(oracle)) {
		if fast[i] != oracle[i] {
			t.Fatalf("War and Peace piece %d: %q, regexp2 %q", i, fast[i], oracle[i])
		}
	}
}

// TestLlama3FastPath checks that the whole encoder gives the same ids with
// and without the hand-written splitter.
func TestLlama3FastPath(t *testing.T) {
	tok := llama3(t)
	if !tok.llama3Fast {
		t.Fatal("the Llama 3 tokenizer.json does not take the fast path")
	}
	slow := *tok
	slow.llama3Fast = false
	for _, s := range trickyTexts {
		if diff := cmp.Diff(slow.Encode(s, EncodeOptions{}), tok.Encode(s, EncodeOptions{})); diff != "" {
			t.Errorf("%q (-regexp2 +fast):\n%s", s, diff)
		}
	}
}

func FuzzLlama3Split(f *testing.F) {
	for _, s := range trickyTexts {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if !utf8.ValidString(s) {
			s = validString(s)
		}
		fast, oracle := splitBoth(t, s)
		if !cmp.Equal(oracle, fast) {
			t.Fatalf("%q: fast %q, regexp2 %q", s, fast, oracle)
		}
		if strings.Join(fast, "") != s {
			t.Fatalf("%q: pieces do not cover the text", s)
		}
	})
}

// TestLlama3ClassesMatchRegex checks, for every rune, that the character
// classes of llama3Split are regexp2's \p{L}, \p{N} and \s, and that the
// contraction letters fold as regexp2's (?i:...) does.
func TestLlama3ClassesMatchRegex(t *testing.T) {
	if testing.Short() {
		t.Skip("scans all of Unicode")
	}
	letter := regexp2.MustCompile(`^\p{L}$`, regexp2.None)
	number := regexp2.MustCompile(`^\p{N}$`, regexp2.None)
	space := regexp2.MustCompile(`^\s$`, regexp2.None)
	folds := map[byte]*regexp2.Regexp{}
	for _, l := range []byte("strevmld") {
		folds[l] = regexp2.MustCompile(`^(?i:`+string(l)+`)$`, regexp2.None)
	}
	in := make([]rune, 1)
	match := func(re *regexp2.Regexp) bool {
		ok, err := re.MatchRunes(in)
		if err != nil {
			t.Fatal(err)
		}
		return ok
	}
	for r := rune(0); r <= unicode.MaxRune; r++ {
		if r >= 0xD800 && r <= 0xDFFF {
			continue
		}
		in[0] = r
		var want uint8
		switch {
		case r == '\r' || r == '\n':
			want = clsNewline
		case match(letter):
			want = clsLetter
		case match(number):
			want = clsNumber
		case match(space):
			want = clsSpace
		}
		if got, _ := classAt(string(r), 0); got != want {
			t.Errorf("U+%04X: class %d, regexp2 %d", r, got, want)
		}
		for l, re := range folds {
			if foldsTo(r, l) != match(re) {
				t.Errorf("U+%04X: foldsTo(%c) = %v, regexp2 disagrees", r, l, foldsTo(r, l))
			}
		}
	}
}
