package tokenizer

import (
	"fmt"
	"strings"
)

// GGUFVocab is the tokenizer metadata of a GGUF file (the tokenizer.ggml.*
// keys and tokenizer.chat_template), as plain values, so that this package
// does not depend on a GGUF reader.
type GGUFVocab struct {
	Model  string    // tokenizer.ggml.model: "gpt2" (byte-level BPE) or "llama" (SentencePiece)
	Pre    string    // tokenizer.ggml.pre, "" when absent
	Tokens []string  // tokenizer.ggml.tokens
	Scores []float32 // tokenizer.ggml.scores (needed for "llama")
	Types  []int32   // tokenizer.ggml.token_type: 1 normal, 2 unknown, 3 control, 4 user-defined, 5 unused, 6 byte
	Merges []string  // tokenizer.ggml.merges, "a b" (needed for "gpt2")

	// Special ids; -1 when the key is absent.
	BOS, EOS, EOT, Pad int32

	AddBOS    bool // tokenizer.ggml.add_bos_token
	AddBOSSet bool // whether AddBOS was present

	AddSpacePrefix    bool // tokenizer.ggml.add_space_prefix ("llama" only)
	AddSpacePrefixSet bool

	ChatTemplate string // tokenizer.chat_template
}

const ggufSource = "GGUF vocabulary"

// eotNames are end-of-turn tokens llama.cpp recognises by their text.
var eotNames = []string{"<|eot_id|>", "<|im_end|>", "<|end|>", "<end_of_turn>", "<|endoftext|>", "<EOT>"}

// FromGGUF builds a Tokenizer from a GGUF vocabulary, with the same results
// as the Hugging Face tokenizer the GGUF was converted from.
//
// For "gpt2" the pre-tokenizer is chosen by Pre: "llama3", "llama-bpe" and
// "llama-v3" select the Llama 3 regex; "gpt2", "gpt-2" and "default" the
// GPT-2 one. An absent Pre means Llama 3 when the vocabulary has at least
// 128,000 tokens (the official bitnet-b1.58-2B-4T GGUF has no pre key) and
// GPT-2 otherwise. For "llama", SentencePiece BPE is used: merges ranked by
// score, "<0xNN>" byte fallback, "▁" for spaces.
func FromGGUF(v GGUFVocab) (*Tokenizer, error) {
	n := len(v.Tokens)
	if n == 0 {
		return nil, fieldErr(ggufSource, "tokenizer.ggml.tokens", "missing or empty")
	}
	if n >= maxTokenID {
		return nil, fieldErr(ggufSource, "tokenizer.ggml.tokens", "too many tokens (%d)", n)
	}
	if len(v.Types) != 0 && len(v.Types) != n {
		return nil, fieldErr(ggufSource, "tokenizer.ggml.token_type", "%d entries for %d tokens", len(v.Types), n)
	}
	if len(v.Scores) != 0 && len(v.Scores) != n {
		return nil, fieldErr(ggufSource, "tokenizer.ggml.scores", "%d entries for %d tokens", len(v.Scores), n)
	}
	types := v.Types
	if len(types) == 0 {
		types = make([]int32, n)
		for i := range types {
			types[i] = pieceNormal
		}
	}
	var (
		t      *Tokenizer
		err    error
		addBOS bool
	)
	switch v.Model {
	case "gpt2":
		t, addBOS, err = ggufBPE(v, types)
	case "llama":
		scores := v.Scores
		if len(scores) == 0 {
			return nil, fieldErr(ggufSource, "tokenizer.ggml.scores", "missing (needed by the llama model)")
		}
		fallback := false
		for _, ty := range types {
			fallback = fallback || ty == pieceByte
		}
		prefix := true
		if v.AddSpacePrefixSet {
			prefix = v.AddSpacePrefix
		}
		t, err = buildSPM(ggufSource, v.Tokens, scores, types, fallback, prefix, false, true)
		addBOS = true
	default:
		return nil, fieldErr(ggufSource, "tokenizer.ggml.model", "unsupported tokenizer model %q (want gpt2 or llama)", v.Model)
	}
	if err != nil {
		return nil, err
	}
	if v.AddBOSSet {
		addBOS = v.AddBOS
	}
	inRange := func(id int32) bool { return id >= 0 && int(id) < n }
	if inRange(v.BOS) {
		t.bos = v.BOS
		if addBOS {
			t.prefix = []int32{v.BOS}
		}
	}
	eot := v.EOT
	if !inRange(eot) {
		// Like llama.cpp, find the end-of-turn token by its text when the
		// file does not name it (the official 2B-4T GGUF has none).
		for _, name := range eotNames {
			if id, ok := t.TokenID(name); ok && t.special[id] {
				eot = id
				break
			}
		}
	}
	for _, id := range []int32{eot, v.EOS} {
		if inRange(id) {
			t.eos = append(t.eos, id)
			if t.eosToken == "" {
				// llama.cpp's templates end turns with EOT when there is one.
				t.eosToken = v.Tokens[id]
			}
		}
	}
	t.eos = sortedUnique(t.eos)
	t.chatTemplate = v.ChatTemplate
	return t, nil
}

func ggufBPE(v GGUFVocab, types []int32) (*Tokenizer, bool, error) {
	m := &bpeModel{
		vocab:  make(map[string]int32, len(v.Tokens)),
		merges: make(map[uint64]uint64, len(v.Merges)),
		unk:    -1,
	}
	var added []addedToken
	for i, tok := range v.Tokens {
		if _, dup := m.vocab[tok]; !dup {
			m.vocab[tok] = int32(i)
		}
		switch types[i] {
		case pieceUnknown:
			m.unk = int32(i)
			added = append(added, addedToken{id: int32(i), content: tok, special: true})
		case pieceControl:
			added = append(added, addedToken{id: int32(i), content: tok, special: true})
		case pieceUserDefined:
			added = append(added, addedToken{id: int32(i), content: tok})
		}
	}
	for b := range m.byteID {
		m.byteID[b] = -1
	}
	for i, s := range v.Merges {
		field := fmt.Sprintf("tokenizer.ggml.merges[%d]", i)
		a, b, ok := strings.Cut(s, " ")
		if !ok || strings.Contains(b, " ") {
			return nil, false, fieldErr(ggufSource, field, "%q is not two tokens separated by a space", s)
		}
		ia, oka := m.vocab[a]
		ib, okb := m.vocab[b]
		im, okm := m.vocab[a+b]
		switch {
		case !oka:
			return nil, false, fieldErr(ggufSource, field, "token %q is not in the vocab", a)
		case !okb:
			return nil, false, fieldErr(ggufSource, field, "token %q is not in the vocab", b)
		case !okm:
			return nil, false, fieldErr(ggufSource, field, "merged token %q is not in the vocab", a+b)
		}
		m.merges[pairKey(ia, ib)] = uint64(i)<<32 | uint64(uint32(im))
	}

	t := &Tokenizer{source: ggufSource, model: m, bos: -1, decoders: []decoder{{kind: decByteLevel}}}
	pre := v.Pre
	if pre == "" && len(v.Tokens) >= 128000 {
		pre = "llama3"
	}
	addBOS := false
	switch pre {
	case "llama3", "llama-bpe", "llama-v3":
		re, err := compileRegex(llama3Pattern)
		if err != nil {
			return nil, false, err
		}
		t.pre = sequencePT{&splitPT{re: re, behavior: splitIsolated}, &byteLevelPT{}}
		t.llama3Fast = true
		m.ignoreMerges = true
		addBOS = true
	case "", "gpt2", "gpt-2", "default":
		t.pre = &byteLevelPT{re: gpt2Regex()}
	default:
		return nil, false, fieldErr(ggufSource, "tokenizer.ggml.pre", "unsupported pre-tokenizer %q", v.Pre)
	}
	t.addAdded(added)
	t.finish()
	return t, addBOS, nil
}
