// Package tokenizer turns text into token ids and back for the BPE
// tokenizers BitNet models ship: byte-level BPE (Llama 3, GPT-2 style) and
// SentencePiece BPE with byte fallback (Llama 2).
//
// It reads Hugging Face tokenizer.json files, SentencePiece tokenizer.model
// files and GGUF vocabularies, and reproduces the Hugging Face tokenizers
// library exactly: the same ids for every input and the same text for every
// id sequence. The tests replay reference vectors produced by HF tokenizers,
// SentencePiece and tiktoken.
//
// A Tokenizer is safe for concurrent use.
package tokenizer

import (
	"slices"
	"sort"
	"strings"
)

// Tokenizer encodes text to ids and decodes ids to text.
type Tokenizer struct {
	source  string // the file it was loaded from, for messages
	fromSPM bool   // built from a SentencePiece tokenizer.model

	model       *bpeModel
	normalizers []normalizer
	pre         preTokenizer // nil: the whole segment is one word
	// llama3Fast: the pre-tokenizer is exactly Split(llama3Pattern,
	// Isolated) followed by ByteLevel without prefix space or regex, which
	// llama3Split implements by hand.
	llama3Fast bool
	decoders   []decoder

	added     []addedToken
	rawAdded  *addedMatcher // added tokens with normalized=false
	normAdded *addedMatcher // added tokens with normalized=true
	special   map[int32]bool
	addedIDs  map[string]int32 // added token content -> id

	idToToken []string
	hasToken  []bool

	// prefix and suffix are what the post-processor puts around a single
	// sequence (for Llama: BOS before, nothing after).
	prefix, suffix []int32

	bos          int32
	eos          []int32
	eosToken     string // the config's eos_token, for chat templates
	chatTemplate string
}

// EncodeOptions controls Encode. The zero value is HF's
// encode(text, add_special_tokens=False): special-token strings in the text
// become their ids, and no BOS is added.
type EncodeOptions struct {
	// AddSpecial adds what the post-processor adds (BOS for Llama models),
	// as HF's add_special_tokens=True does.
	AddSpecial bool
	// NoParseSpecial treats special-token strings such as "<|eot_id|>" in
	// the text as plain text (HF's split_special_tokens=True, tiktoken's
	// encode_ordinary). Use it for untrusted text. Added tokens that are
	// not special are still matched.
	NoParseSpecial bool
}

// Encode returns the ids of text.
//
// Text that is not valid UTF-8 is first made valid by replacing each
// maximal ill-formed byte sequence with U+FFFD. Python cannot hold such text
// in a str; decoding the bytes with errors="replace" gives the same string,
// and HF then encodes that.
func (t *Tokenizer) Encode(text string, opts EncodeOptions) []int32 {
	text = validString(text)
	st := statePool.Get().(*encodeState)
	defer statePool.Put(st)
	out := make([]int32, 0, len(text)/4+len(t.prefix)+len(t.suffix)+1)
	if opts.AddSpecial {
		out = append(out, t.prefix...)
	}
	if t.rawAdded == nil {
		out = t.encodeSegment(st, text, true, out)
	} else {
		t.rawAdded.split(text, !opts.NoParseSpecial,
			func(start, end int) { out = t.encodeSegment(st, text[start:end], start == 0, out) },
			func(id int32) { out = append(out, id) })
	}
	if opts.AddSpecial {
		out = append(out, t.suffix...)
	}
	return out
}

// encodeSegment encodes text that holds no raw added token: normalize, match
// normalized added tokens, pre-tokenize, run BPE.
func (t *Tokenizer) encodeSegment(st *encodeState, s string, atStart bool, out []int32) []int32 {
	for _, n := range t.normalizers {
		s = n.normalize(s)
	}
	if s == "" {
		return out
	}
	if t.normAdded == nil {
		return t.encodeWords(st, s, atStart, out)
	}
	// Normalized added tokens are always parsed: HF only skips special
	// tokens, which are never normalized.
	t.normAdded.split(s, true,
		func(start, end int) { out = t.encodeWords(st, s[start:end], atStart && start == 0, out) },
		func(id int32) { out = append(out, id) })
	return out
}

func (t *Tokenizer) encodeWords(st *encodeState, s string, atStart bool, out []int32) []int32 {
	m := t.model
	switch {
	case t.llama3Fast:
		llama3Split(s, func(start, end int) {
			st.buf = appendByteLevel(st.buf[:0], s[start:end])
			out = m.encodeWord(st, unsafeString(st.buf), out)
		})
	case t.pre == nil:
		out = m.encodeWord(st, s, out)
	default:
		t.pre.split(s, atStart, func(piece string, _ bool) {
			out = m.encodeWord(st, piece, out)
		})
	}
	return out
}

// token returns the string of id, as HF's id_to_token does.
func (t *Tokenizer) token(id int32) (string, bool) {
	if id < 0 || int(id) >= len(t.idToToken) || !t.hasToken[id] {
		return "", false
	}
	return t.idToToken[id], true
}

// TokenString returns the vocabulary entry of id as it is spelled in the
// tokenizer file ("Ġthe", "▁the", "<0x0A>", "<|eot_id|>"), or "" when id is
// not in the vocabulary.
func (t *Tokenizer) TokenString(id int32) string {
	s, _ := t.token(id)
	return s
}

// TokenID returns the id of a vocabulary entry or added token, spelled as in
// the tokenizer file.
func (t *Tokenizer) TokenID(tok string) (int32, bool) {
	if id, ok := t.addedIDs[tok]; ok {
		return id, true
	}
	id, ok := t.model.vocab[tok]
	return id, ok
}

// IsSpecial reports whether id is a special token (one that
// skip_special_tokens would drop), such as BOS, EOS or <|eot_id|>.
func (t *Tokenizer) IsSpecial(id int32) bool { return t.special[id] }

// VocabSize returns one more than the largest id, which is the number of
// rows a model's embedding needs at least.
func (t *Tokenizer) VocabSize() int { return len(t.idToToken) }

// BOS returns the beginning-of-sequence id, or -1 if there is none.
func (t *Tokenizer) BOS() int32 { return t.bos }

// EOS returns the ids that end generation, in increasing order: every
// end-of-sequence id the tokenizer and model configs name (for
// bitnet-b1.58-2B-4T, <|end_of_text|> 128001 and <|eot_id|> 128009).
func (t *Tokenizer) EOS() []int32 { return slices.Clone(t.eos) }

// EOSToken returns the text of the end-of-sequence token that chat
// templates see as eos_token (tokenizer_config.json's eos_token; for
// 2B-4T "<|eot_id|>"), or "" if there is none.
func (t *Tokenizer) EOSToken() string {
	if t.eosToken != "" {
		return t.eosToken
	}
	if len(t.eos) > 0 {
		return t.TokenString(t.eos[0])
	}
	return ""
}

// BOSToken returns the text of the beginning-of-sequence token, or "".
func (t *Tokenizer) BOSToken() string { return t.TokenString(t.bos) }

// ChatTemplate returns the Jinja chat template shipped with the tokenizer,
// or "" if there is none.
func (t *Tokenizer) ChatTemplate() string { return t.chatTemplate }

// Source returns the path the tokenizer was loaded from.
func (t *Tokenizer) Source() string { return t.source }

// setTokens builds the id tables from the model vocab and the added tokens.
func (t *Tokenizer) setTokens() {
	n := 0
	for _, id := range t.model.vocab {
		n = max(n, int(id)+1)
	}
	for _, a := range t.added {
		n = max(n, int(a.id)+1)
	}
	t.idToToken = make([]string, n)
	t.hasToken = make([]bool, n)
	for tok, id := range t.model.vocab {
		t.idToToken[id] = tok
		t.hasToken[id] = true
	}
	t.special = map[int32]bool{}
	t.addedIDs = map[string]int32{}
	for _, a := range t.added {
		t.addedIDs[a.content] = a.id
		t.idToToken[a.id] = a.content
		t.hasToken[a.id] = true
		if a.special {
			t.special[a.id] = true
		}
	}
	t.rawAdded = newAddedMatcher(t.added, func(a addedToken) string {
		if a.normalized {
			return ""
		}
		return a.content
	})
	t.normAdded = newAddedMatcher(t.added, func(a addedToken) string {
		if !a.normalized {
			return ""
		}
		s := a.content
		for _, n := range t.normalizers {
			s = n.normalize(s)
		}
		return s
	})
}

// addAdded adds tokens that are not yet added tokens (by id), keeping the
// order HF matches in.
func (t *Tokenizer) addAdded(toks []addedToken) {
	have := map[int32]bool{}
	for _, a := range t.added {
		have[a.id] = true
	}
	for _, a := range toks {
		if !have[a.id] && a.content != "" {
			t.added = append(t.added, a)
			have[a.id] = true
		}
	}
}

func sortedUnique(ids []int32) []int32 {
	sort.Slice(ids, func(i, j int) bool { return ids[i] < ids[j] })
	return slices.Compact(ids)
}

// finish builds the derived tables once the model, pipeline and added
// tokens are known.
func (t *Tokenizer) finish() {
	m := t.model
	m.initRuneIDs()
	if t.pre == nil && m.runeID['▁'] >= 0 {
		m.metaChunk = true
		for tok := range m.vocab {
			// After its leading "▁"s, a token must have no other "▁".
			if strings.Contains(strings.TrimLeft(tok, "▁"), "▁") {
				m.metaChunk = false
				break
			}
		}
	}
	t.setTokens()
}
