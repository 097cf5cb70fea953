package convert

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

// GGUF token types (llama.cpp's llama_token_type).
const (
	tokNormal      int32 = 1
	tokControl     int32 = 3
	tokUserDefined int32 = 4
	tokUnused      int32 = 5
)

// llama3Regex is the pre-tokenizer split of Llama 3's tokenizer.json; llama.cpp
// identifies it as "llama-bpe".
const llama3Regex = `(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+`

// vocab is the tokenizer as the tokenizer.ggml.* keys describe it.
type vocab struct {
	pre          string
	tokens       []string
	types        []int32
	merges       []string
	bos, eos     int32 // -1 when unknown
	pad, eot     int32
	addBOS       *bool
	addEOS       *bool
	addSEP       *bool
	chatTemplate string
}

type hfTokenizerJSON struct {
	AddedTokens []struct {
		ID      int32  `json:"id"`
		Content string `json:"content"`
		Special bool   `json:"special"`
	} `json:"added_tokens"`
	PreTokenizer  json.RawMessage `json:"pre_tokenizer"`
	PostProcessor json.RawMessage `json:"post_processor"`
	Model         struct {
		Type         string           `json:"type"`
		Vocab        map[string]int32 `json:"vocab"`
		Merges       json.RawMessage  `json:"merges"`
		ByteFallback bool             `json:"byte_fallback"`
	} `json:"model"`
}

// readVocab builds the GGUF vocabulary of a byte-level BPE tokenizer the way
// llama.cpp's convert_hf_to_gguf.py does for a "gpt2" vocab (tokens padded
// to vocabSize, added tokens typed control/user-defined, merges as "a b",
// special ids from tokenizer_config.json then config.json). cfgEOS are the
// stop ids of config.json and generation_config.json.
func readVocab(dir string, vocabSize int, cfgBOS int32, cfgEOS []int32) (*vocab, error) {
	path := filepath.Join(dir, "tokenizer.json")
	b, err := os.ReadFile(path)
	if err != nil {
		if errors.Is(err, os.ErrNotExist) {
			if _, err2 := os.Stat(filepath.Join(dir, "tokenizer.model")); err2 == nil {
				return nil, fmt.Errorf("%s: only byte-level BPE tokenizers (tokenizer.json) can be converted; this checkpoint has a SentencePiece tokenizer.model", dir)
			}
		}
		return nil, err
	}
	var tj hfTokenizerJSON
	if err := json.Unmarshal(b, &tj); err != nil {
		return nil, fmt.Errorf("%s: malformed JSON: %v", path, err)
	}
	if tj.Model.Type != "BPE" || tj.Model.ByteFallback {
		return nil, fmt.Errorf("%s: tokenizer model %q (byte_fallback %v) is not byte-level BPE; only byte-level BPE vocabularies can be converted", path, tj.Model.Type, tj.Model.ByteFallback)
	}
	v := &vocab{bos: -1, eos: -1, pad: -1, eot: -1}
	if v.pre, err = preTokenizer(tj.PreTokenizer); err != nil {
		return nil, fmt.Errorf("%s: %v", path, err)
	}

	byID := map[int32]string{}
	for tok, id := range tj.Model.Vocab {
		byID[id] = tok
	}
	type added struct {
		content string
		special bool
	}
	addedByID := map[int32]added{}
	for _, a := range tj.AddedTokens {
		byID[a.ID] = a.Content
		addedByID[a.ID] = added{a.Content, a.Special}
	}
	maxID := int32(-1)
	for id := range byID {
		if id < 0 {
			return nil, fmt.Errorf("%s: negative token id %d", path, id)
		}
		maxID = max(maxID, id)
	}
	if vocabSize <= 0 {
		vocabSize = int(maxID) + 1
	}
	if int(maxID) >= vocabSize {
		return nil, fmt.Errorf("%s: token id %d does not fit the model's vocab_size %d", path, maxID, vocabSize)
	}
	v.tokens = make([]string, vocabSize)
	v.types = make([]int32, vocabSize)
	for i := range v.tokens {
		id := int32(i)
		tok, ok := byID[id]
		switch a, isAdded := addedByID[id]; {
		case !ok:
			// Rows of the embedding no token uses (vocab_size is often
			// rounded up); llama.cpp names them the same way.
			v.tokens[i] = fmt.Sprintf("[PAD%d]", i)
			v.types[i] = tokUnused
		case isAdded && (a.special || looksSpecial(tok)):
			v.tokens[i] = tok
			v.types[i] = tokControl
		case isAdded:
			v.tokens[i] = strings.ReplaceAll(tok, "\u2581", " ")
			v.types[i] = tokUserDefined
		default:
			v.tokens[i] = tok
			v.types[i] = tokNormal
		}
	}
	if v.merges, err = readMerges(tj.Model.Merges); err != nil {
		return nil, fmt.Errorf("%s: merges: %v", path, err)
	}

	tc, err := readTokenizerConfig(dir)
	if err != nil {
		return nil, err
	}
	lookup := func(text string) int32 {
		// llama.cpp resolves tokenizer_config's special tokens among the
		// added tokens only.
		for _, a := range tj.AddedTokens {
			if a.Content == text {
				return a.ID
			}
		}
		return -1
	}
	v.bos, v.eos, v.pad = lookup(tc.bos), lookup(tc.eos), lookup(tc.pad)
	if v.bos < 0 && cfgBOS >= 0 && int(cfgBOS) < vocabSize {
		v.bos = cfgBOS
	}
	if v.eos < 0 && len(cfgEOS) > 0 && int(cfgEOS[0]) < vocabSize {
		v.eos = cfgEOS[0]
	}
	// A chat model stops on its end-of-turn token as well as on eos; the
	// HF folder says so in generation_config.json, which a GGUF cannot
	// carry, so the first other control token listed there becomes the
	// eot id (llama.cpp also finds "<|eot_id|>" by its text).
	for _, id := range cfgEOS {
		if id != v.eos && id >= 0 && int(id) < vocabSize && v.types[id] == tokControl {
			v.eot = id
			break
		}
	}
	v.chatTemplate = tc.chatTemplate
	v.addBOS, v.addEOS, v.addSEP = addSpecial(tj.PostProcessor, tc)
	if tc.addBOS != nil {
		v.addBOS = tc.addBOS
	}
	return v, nil
}

func looksSpecial(tok string) bool {
	return strings.HasPrefix(tok, "<|") && strings.HasSuffix(tok, "|>") ||
		strings.HasPrefix(tok, "<｜") && strings.HasSuffix(tok, "｜>")
}

// preTokenizer names the pre-tokenizer for tokenizer.ggml.pre. An unknown
// one is an error: llama.cpp would fall back to its default regex and
// tokenise differently from the model's training, silently.
func preTokenizer(raw json.RawMessage) (string, error) {
	var pt struct {
		Type          string            `json:"type"`
		Pretokenizers []json.RawMessage `json:"pretokenizers"`
		UseRegex      *bool             `json:"use_regex"`
	}
	if err := json.Unmarshal(raw, &pt); err != nil {
		return "", fmt.Errorf("pre_tokenizer: %v", err)
	}
	type split struct {
		Type    string `json:"type"`
		Pattern struct {
			Regex string `json:"Regex"`
		} `json:"pattern"`
		UseRegex *bool `json:"use_regex"`
	}
	switch pt.Type {
	case "ByteLevel":
		if pt.UseRegex == nil || *pt.UseRegex {
			return "gpt-2", nil
		}
	case "Sequence":
		var parts []split
		for _, p := range pt.Pretokenizers {
			var s split
			if err := json.Unmarshal(p, &s); err != nil {
				return "", fmt.Errorf("pre_tokenizer: %v", err)
			}
			parts = append(parts, s)
		}
		if len(parts) == 2 && parts[0].Type == "Split" && parts[0].Pattern.Regex == llama3Regex &&
			parts[1].Type == "ByteLevel" && parts[1].UseRegex != nil && !*parts[1].UseRegex {
			return "llama-bpe", nil
		}
	}
	return "", fmt.Errorf("pre-tokenizer %s is not one llama.cpp knows (Llama 3's or GPT-2's byte-level split)", compactJSON(raw))
}

func compactJSON(raw json.RawMessage) string {
	s := strings.Join(strings.Fields(string(raw)), " ")
	if len(s) > 200 {
		s = s[:200] + "…"
	}
	return s
}

// readMerges accepts both tokenizer.json merge formats: "a b" strings and,
// since transformers 4.45, ["a", "b"] pairs, whose spaces llama.cpp encodes
// as U+0120 so that the pair can be joined with a space.
func readMerges(raw json.RawMessage) ([]string, error) {
	if len(raw) == 0 || string(raw) == "null" {
		return nil, errors.New("missing")
	}
	var strs []string
	if err := json.Unmarshal(raw, &strs); err == nil {
		return strs, nil
	}
	var pairs [][]string
	if err := json.Unmarshal(raw, &pairs); err != nil {
		return nil, fmt.Errorf("neither strings nor pairs of strings: %v", err)
	}
	out := make([]string, len(pairs))
	for i, p := range pairs {
		if len(p) != 2 {
			return nil, fmt.Errorf("entry %d has %d parts, want 2", i, len(p))
		}
		out[i] = strings.ReplaceAll(p[0], " ", "Ġ") + " " + strings.ReplaceAll(p[1], " ", "Ġ")
	}
	return out, nil
}

type tokenizerConfig struct {
	bos, eos, pad, sep string
	addBOS             *bool
	chatTemplate       string
}

func readTokenizerConfig(dir string) (*tokenizerConfig, error) {
	path := filepath.Join(dir, "tokenizer_config.json")
	tc := &tokenizerConfig{}
	b, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return tc, nil
	}
	if err != nil {
		return nil, err
	}
	var raw map[string]json.RawMessage
	if err := json.Unmarshal(b, &raw); err != nil {
		return nil, fmt.Errorf("%s: malformed JSON: %v", path, err)
	}
	tokText := func(key string) string {
		var s string
		if json.Unmarshal(raw[key], &s) == nil {
			return s
		}
		var obj struct {
			Content string `json:"content"`
		}
		if json.Unmarshal(raw[key], &obj) == nil {
			return obj.Content
		}
		return ""
	}
	tc.bos, tc.eos, tc.pad, tc.sep = tokText("bos_token"), tokText("eos_token"), tokText("pad_token"), tokText("sep_token")
	if r, ok := raw["add_bos_token"]; ok {
		var v bool
		if json.Unmarshal(r, &v) == nil {
			tc.addBOS = &v
		}
	}
	if r, ok := raw["chat_template"]; ok {
		if err := json.Unmarshal(r, &tc.chatTemplate); err != nil {
			// Several named templates: llama.cpp keeps the default one.
			var named []struct {
				Name     string `json:"name"`
				Template string `json:"template"`
			}
			if json.Unmarshal(r, &named) != nil {
				return nil, fmt.Errorf("%s: chat_template is neither a string nor a list of named templates", path)
			}
			for _, n := range named {
				if n.Name == "default" {
					tc.chatTemplate = n.Template
				}
			}
		}
	}
	if tc.chatTemplate == "" {
		// Newer transformers save the template in its own file.
		if t, err := os.ReadFile(filepath.Join(dir, "chat_template.jinja")); err == nil {
			tc.chatTemplate = string(t)
		}
	}
	return tc, nil
}

// addSpecial reads which special tokens the tokenizer adds around a text
// from its TemplateProcessing post-processor, as llama.cpp's SpecialVocab
// does; nil means the tokenizer does not say.
func addSpecial(raw json.RawMessage, tc *tokenizerConfig) (addBOS, addEOS, addSEP *bool) {
	type piece struct {
		SpecialToken *struct {
			ID string `json:"id"`
		} `json:"SpecialToken"`
		Sequence *struct {
			ID string `json:"id"`
		} `json:"Sequence"`
	}
	type proc struct {
		Type       string            `json:"type"`
		Single     []piece           `json:"single"`
		Pair       []piece           `json:"pair"`
		Processors []json.RawMessage `json:"processors"`
	}
	var p proc
	if len(raw) == 0 || json.Unmarshal(raw, &p) != nil {
		return nil, nil, nil
	}
	if p.Type == "Sequence" {
		found := false
		for _, r := range p.Processors {
			var q proc
			if json.Unmarshal(r, &q) == nil && q.Type == "TemplateProcessing" {
				p, found = q, true
				break
			}
		}
		if !found {
			return nil, nil, nil
		}
	}
	if p.Type != "TemplateProcessing" || len(p.Single) == 0 {
		return nil, nil, nil
	}
	special := func(ps []piece, i int) string {
		if i < 0 || i >= len(ps) || ps[i].SpecialToken == nil {
			return ""
		}
		return ps[i].SpecialToken.ID
	}
	boolp := func(b bool) *bool { return &b }
	first, last := special(p.Single, 0), special(p.Single, len(p.Single)-1)
	addBOS = boolp(first != "" && first == tc.bos)
	if last != "" && len(p.Single) > 1 {
		addEOS = boolp(last == tc.eos)
	}
	// The pair template A [sep] B: a separator counts only when it is the
	// sep or eos token, the way llama.cpp reads it.
	pair := p.Pair
	if first != "" && special(pair, 0) == first {
		pair = pair[1:]
	}
	if last != "" && special(pair, len(pair)-1) == last {
		pair = pair[:len(pair)-1]
	}
	if len(pair) > 2 && pair[0].Sequence != nil && pair[len(pair)-1].Sequence != nil {
		mid := special(pair, 1)
		addSEP = boolp(mid != "" && (mid == tc.sep || mid == tc.eos) && last == "")
	}
	return addBOS, addEOS, addSEP
}

// addKVs writes the tokenizer keys in the order llama.cpp's gguf writer
// uses. i2s leaves out the add_sep key, which bitnet.cpp's converter does
// not write.
func (v *vocab) addKVs(kvs *kvList, i2s bool) {
	kvs.add("tokenizer.ggml.model", "gpt2")
	kvs.add("tokenizer.ggml.pre", v.pre)
	kvs.add("tokenizer.ggml.tokens", v.tokens)
	kvs.add("tokenizer.ggml.token_type", v.types)
	kvs.add("tokenizer.ggml.merges", v.merges)
	for _, id := range []struct {
		key string
		id  int32
	}{{"bos", v.bos}, {"eos", v.eos}, {"padding", v.pad}, {"eot", v.eot}} {
		if id.id >= 0 {
			kvs.add("tokenizer.ggml."+id.key+"_token_id", uint32(id.id))
		}
	}
	for _, f := range []struct {
		key string
		v   *bool
	}{{"add_bos_token", v.addBOS}, {"add_eos_token", v.addEOS}, {"add_sep_token", v.addSEP}} {
		if f.v != nil && !(i2s && f.key == "add_sep_token") {
			kvs.add("tokenizer.ggml."+f.key, *f.v)
		}
	}
	if v.chatTemplate != "" {
		kvs.add("tokenizer.chat_template", v.chatTemplate)
	}
}
