package tokenizer

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// withModel returns a copy of tok whose BPE model is a fresh copy of its
// own with edit applied.
func withModel(tok *Tokenizer, edit func(*bpeModel)) *Tokenizer {
	m := tok.model
	c := &bpeModel{
		vocab: m.vocab, merges: m.merges, runeID: m.runeID, byteFallback: m.byteFallback,
		byteID: m.byteID, unk: m.unk, fuseUnk: m.fuseUnk, ignoreMerges: m.ignoreMerges, metaChunk: m.metaChunk,
	}
	edit(c)
	t := *tok
	t.model = c
	return &t
}

// TestMetaChunk checks the shortcut that splits Llama 2 text before "▁":
// without it, BPE runs on each whole segment (one heap over a million
// symbols for War and Peace) and must give the same ids.
func TestMetaChunk(t *testing.T) {
	for _, load := range []func(testing.TB) *Tokenizer{llama2, llama2SPM} {
		tok := load(t)
		if !tok.model.metaChunk {
			t.Fatal("Llama 2 does not take the ▁-chunk shortcut")
		}
		whole := withModel(tok, func(m *bpeModel) { m.metaChunk = false })
		texts := trickyTexts
		if !testing.Short() {
			texts = append(texts, warAndPeace(t))
		}
		for _, c := range readJSONL[encodeCase](t, "llama2/encode.jsonl") {
			texts = append(texts, c.Text)
		}
		for _, s := range texts {
			want := whole.Encode(s, EncodeOptions{})
			if got := tok.Encode(s, EncodeOptions{}); !equalIDs(got, want) {
				t.Errorf("%.60q: chunked ids differ from whole-segment BPE", s)
			}
		}
	}
}

// TestMergeSmallMatchesHeap runs both merge loops on the same words.
func TestMergeSmallMatchesHeap(t *testing.T) {
	var words []string
	for _, c := range readJSONL[encodeCase](t, "llama3/encode.jsonl") {
		words = append(words, strings.Fields(c.Text)...)
		words = append(words, c.Text)
	}
	for _, tok := range []*Tokenizer{llama3(t), llama2(t)} {
		m := tok.model
		st := new(encodeState)
		for _, w := range words {
			if tok.llama3Fast {
				w = string(appendByteLevel(nil, w))
			} else {
				w = "▁" + strings.ReplaceAll(w, " ", "▁")
			}
			syms := append([]int32(nil), m.initialSymbols(st, w)...)
			if len(syms) < 2 {
				continue
			}
			small := m.mergeSmall(st, append([]int32(nil), syms...), nil)
			heap := m.mergeHeap(st, append([]int32(nil), syms...), nil)
			if diff := cmp.Diff(small, heap); diff != "" {
				t.Errorf("%q (-small +heap):\n%s", w, diff)
			}
		}
	}
}
