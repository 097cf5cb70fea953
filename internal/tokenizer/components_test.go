package tokenizer

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func pieces(p preTokenizer, s string, atStart bool) []string {
	var out []string
	p.split(s, atStart, func(piece string, _ bool) { out = append(out, piece) })
	return out
}

// TestPreTokenizers pins the HF semantics of each pre-tokenizer on small
// inputs (the expectations follow the Rust sources and their unit tests).
func TestPreTokenizers(t *testing.T) {
	dash := func(b splitBehavior, invert bool) preTokenizer {
		return &splitPT{literal: "-", behavior: b, invert: invert}
	}
	re, err := compileRegex(`\d+`)
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		name    string
		p       preTokenizer
		in      string
		atStart bool
		want    []string
	}{
		{"metaspace", &metaspacePT{repl: "▁", scheme: prependAlways, splitOn: true}, "Hey   friend!", true, []string{"▁Hey", "▁", "▁", "▁friend!"}},
		{"metaspace first, not at start", &metaspacePT{repl: "▁", scheme: prependFirst, splitOn: true}, "Hey friend", false, []string{"Hey", "▁friend"}},
		{"metaspace first, at start", &metaspacePT{repl: "▁", scheme: prependFirst, splitOn: true}, "Hey friend", true, []string{"▁Hey", "▁friend"}},
		{"metaspace never", &metaspacePT{repl: "▁", scheme: prependNever, splitOn: true}, "a b", true, []string{"a", "▁b"}},
		{"metaspace no split", &metaspacePT{repl: "▁", scheme: prependAlways}, "a b", true, []string{"▁a▁b"}},
		{"isolated", dash(splitIsolated, false), "a-b--c", true, []string{"a", "-", "b", "-", "-", "c"}},
		{"removed", dash(splitRemoved, false), "a-b--c", true, []string{"a", "b", "c"}},
		{"merged with previous", dash(splitMergedWithPrevious, false), "a-b--c", true, []string{"a-", "b-", "-", "c"}},
		{"merged with next", dash(splitMergedWithNext, false), "a-b--c", true, []string{"a", "-b", "-", "-c"}},
		{"contiguous", dash(splitContiguous, false), "a-b--c", true, []string{"a", "-", "b", "--", "c"}},
		{"removed, inverted", dash(splitRemoved, true), "a-b--c", true, []string{"-", "-", "-"}},
		{"regex", &splitPT{re: re, behavior: splitIsolated}, "ab12c3", true, []string{"ab", "12", "c", "3"}},
		{"byte level with regex and prefix", &byteLevelPT{addPrefixSpace: true, re: gpt2Regex()}, "Hello  world's", true, []string{"ĠHello", "Ġ", "Ġworld", "'s"}},
		{"byte level only", &byteLevelPT{}, "a é\n", true, []string{"aĠÃ©Ċ"}},
		{"digits", &digitsPT{}, "abc123 ٣٤", true, []string{"abc", "123", " ", "٣٤"}},
		{"digits individual", &digitsPT{individual: true}, "a12", true, []string{"a", "1", "2"}},
		{"sequence", sequencePT{dash(splitIsolated, false), &digitsPT{}}, "a1-2", true, []string{"a", "1", "-", "2"}},
	} {
		if got := pieces(c.p, c.in, c.atStart); !cmp.Equal(c.want, got) {
			t.Errorf("%s: %q -> %q, want %q", c.name, c.in, got, c.want)
		}
	}
}

func TestAddedTokenFlags(t *testing.T) {
	toks := []addedToken{
		{id: 1, content: "<l>", lstrip: true},
		{id: 2, content: "<r>", rstrip: true},
		{id: 3, content: "ab", singleWord: true},
		{id: 4, content: "<s>", special: true},
		{id: 5, content: "<s>x"}, // longer, not special: leftmost-longest wins
	}
	m := newAddedMatcher(toks, func(a addedToken) string { return a.content })
	split := func(s string, parseSpecial bool) []string {
		var out []string
		m.split(s, parseSpecial, func(a, b int) { out = append(out, s[a:b]) }, func(id int32) { out = append(out, string(rune('0'+id))) })
		return out
	}
	for _, c := range []struct {
		in      string
		special bool
		want    []string
	}{
		{"a  <l> b", true, []string{"a", "1", " b"}},
		{"a <r>  b", true, []string{"a ", "2", "b"}},
		{"xab ab y ab", true, []string{"xab ", "3", " y ", "3"}},
		{"ab_c", true, []string{"ab_c"}},
		{"<s> <s>x", true, []string{"4", " ", "5"}},
		{"<s> <s>x", false, []string{"<s> ", "5"}},
	} {
		if got := split(c.in, c.special); !cmp.Equal(c.want, got) {
			t.Errorf("%q (special %v): %q, want %q", c.in, c.special, got, c.want)
		}
	}
}

// TestSyntheticTokenizer loads a small tokenizer.json that uses the
// components the reference tokenizers do not: merges as pairs, a Metaspace
// pre-tokenizer and decoder, Replace with a regex, Strip with stop, and a
// RobertaProcessing post-processor.
func TestSyntheticTokenizer(t *testing.T) {
	const js = `{
	  "added_tokens": [{"id": 9, "content": "<mask>", "special": true, "lstrip": true, "normalized": false}],
	  "normalizer": {"type": "Sequence", "normalizers": [{"type": "Replace", "pattern": {"Regex": "\\s+"}, "content": " "}]},
	  "pre_tokenizer": {"type": "Metaspace", "replacement": "▁", "prepend_scheme": "first", "split": true},
	  "post_processor": {"type": "RobertaProcessing", "sep": ["</s>", 8], "cls": ["<s>", 7]},
	  "decoder": {"type": "Sequence", "decoders": [{"type": "Metaspace", "replacement": "▁", "prepend_scheme": "first"}, {"type": "Strip", "content": "!", "start": 0, "stop": 2}]},
	  "model": {"type": "BPE", "vocab": {"▁": 0, "h": 1, "i": 2, "▁h": 3, "▁hi": 4, "!": 5, "hi": 6, "<s>": 7, "</s>": 8},
	            "merges": [["▁", "h"], ["▁h", "i"], ["h", "i"]]}
	}`
	path := filepath.Join(t.TempDir(), "tokenizer.json")
	if err := os.WriteFile(path, []byte(js), 0o644); err != nil {
		t.Fatal(err)
	}
	tok, err := Load(path)
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		in   string
		opts EncodeOptions
		want []int32
	}{
		{"hi  hi!", EncodeOptions{}, []int32{4, 4, 5}},
		{"hi", EncodeOptions{AddSpecial: true}, []int32{7, 4, 8}},
		// lstrip takes the spaces; the text after <mask> does not start
		// the input, so prepend_scheme "first" adds no "▁".
		{"hi <mask>hi", EncodeOptions{}, []int32{4, 9, 6}},
	} {
		if got := tok.Encode(c.in, c.opts); !cmp.Equal(c.want, got) {
			t.Errorf("Encode(%q, %+v) = %v, want %v", c.in, c.opts, got, c.want)
		}
	}
	// Metaspace drops the "▁"s of the first token. With no Fuse before it,
	// Strip works on each token, so every "!" token becomes "".
	if got := tok.Decode([]int32{4, 4, 5, 5, 5}); got != "hi hi" {
		t.Errorf("Decode = %q", got)
	}
	if got := tok.Decode([]int32{0, 4, 5}); got != " hi" {
		t.Errorf("Decode = %q", got)
	}
}
