package tokenizer

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
)

// Load reads a tokenizer from path, which is one of:
//
//   - a model folder holding tokenizer.json (preferred) or tokenizer.model;
//   - a tokenizer.json file (Hugging Face tokenizers);
//   - a tokenizer.model file (SentencePiece);
//   - a .gguf model file (see LoadGGUF).
//
// The configs beside the tokenizer file, when present, are read as
// transformers reads them: tokenizer_config.json (added tokens, bos/eos,
// add_bos_token, chat_template), special_tokens_map.json,
// chat_template.jinja, generation_config.json and config.json (bos/eos ids).
func Load(path string) (*Tokenizer, error) {
	return load(path, false)
}

// load is Load; preferSPM picks tokenizer.model over tokenizer.json in a
// folder, so tests can check that both give the same results.
func load(path string, preferSPM bool) (*Tokenizer, error) {
	fi, err := os.Stat(path)
	if err != nil {
		return nil, fmt.Errorf("tokenizer: %w", err)
	}
	file, dir := path, filepath.Dir(path)
	if fi.IsDir() {
		dir = path
		names := []string{"tokenizer.json", "tokenizer.model"}
		if preferSPM {
			names[0], names[1] = names[1], names[0]
		}
		file = ""
		for _, name := range names {
			if st, err := os.Stat(filepath.Join(dir, name)); err == nil && !st.IsDir() {
				file = filepath.Join(dir, name)
				break
			}
		}
		if file == "" {
			return nil, &Error{Path: path, Msg: "no tokenizer.json or tokenizer.model in this folder"}
		}
	}
	if strings.EqualFold(filepath.Ext(file), ".gguf") {
		return LoadGGUF(file)
	}
	data, err := os.ReadFile(file)
	if err != nil {
		return nil, fmt.Errorf("tokenizer: %w", err)
	}
	t, err := parseFile(file, data)
	if err != nil {
		return nil, err
	}
	if err := t.applyConfigs(dir); err != nil {
		return nil, err
	}
	return t, nil
}

// parseFile tells tokenizer.json from tokenizer.model by content: JSON
// starts with "{", a ModelProto with a piece (field 1, bytes: 0x0A).
func parseFile(path string, data []byte) (*Tokenizer, error) {
	trimmed := bytes.TrimLeft(data, " \t\r\n")
	isJSON := strings.EqualFold(filepath.Ext(path), ".json") || len(trimmed) > 0 && trimmed[0] == '{'
	if isJSON {
		return parseTokenizerJSON(path, data)
	}
	m, err := parseSPM(path, data)
	if err != nil {
		return nil, err
	}
	t, err := fromSPM(path, m)
	if err != nil {
		return nil, err
	}
	t.fromSPM = true
	return t, nil
}

// tokenRef is a token named in a config: a string, or an AddedToken object
// with "content".
type tokenRef struct {
	content string
	set     bool
}

func (r *tokenRef) UnmarshalJSON(b []byte) error {
	var s string
	if json.Unmarshal(b, &s) == nil {
		r.content, r.set = s, true
		return nil
	}
	var o struct {
		Content *string `json:"content"`
	}
	if err := json.Unmarshal(b, &o); err != nil {
		return err
	}
	if o.Content != nil {
		r.content, r.set = *o.Content, true
	}
	return nil
}

// idList is an id or a list of ids (eos_token_id is either).
type idList []int64

func (l *idList) UnmarshalJSON(b []byte) error {
	var one int64
	if json.Unmarshal(b, &one) == nil {
		*l = idList{one}
		return nil
	}
	var many []int64
	if err := json.Unmarshal(b, &many); err != nil {
		return err
	}
	*l = many
	return nil
}

type tokenizerConfig struct {
	AddedTokensDecoder map[string]hfAddedToken `json:"added_tokens_decoder"`
	BOS                *tokenRef               `json:"bos_token"`
	EOS                *tokenRef               `json:"eos_token"`
	AddBOS             *bool                   `json:"add_bos_token"`
	AddEOS             *bool                   `json:"add_eos_token"`
	ChatTemplate       json.RawMessage         `json:"chat_template"`
	TokenizerClass     string                  `json:"tokenizer_class"`
}

type specialTokensMap struct {
	BOS *tokenRef `json:"bos_token"`
	EOS *tokenRef `json:"eos_token"`
}

type modelConfig struct {
	BOS *int64 `json:"bos_token_id"`
	EOS idList `json:"eos_token_id"`
}

// readJSON decodes dir/name into v and reports whether the file exists.
func readJSON(dir, name string, v any) (bool, error) {
	path := filepath.Join(dir, name)
	data, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("tokenizer: %w", err)
	}
	if err := json.Unmarshal(data, v); err != nil {
		return false, jsonErr(path, "", data, err)
	}
	return true, nil
}

// applyConfigs reads the configs in dir that refine the tokenizer file.
func (t *Tokenizer) applyConfigs(dir string) error {
	var (
		tc  tokenizerConfig
		stm specialTokensMap
		gen modelConfig
		cfg modelConfig
	)
	haveTC, err := readJSON(dir, "tokenizer_config.json", &tc)
	if err != nil {
		return err
	}
	if _, err := readJSON(dir, "special_tokens_map.json", &stm); err != nil {
		return err
	}
	if _, err := readJSON(dir, "generation_config.json", &gen); err != nil {
		return err
	}
	if _, err := readJSON(dir, "config.json", &cfg); err != nil {
		return err
	}
	tcPath := filepath.Join(dir, "tokenizer_config.json")

	if len(tc.AddedTokensDecoder) > 0 {
		var toks []addedToken
		for key, a := range tc.AddedTokensDecoder {
			var id int64
			if _, err := fmt.Sscan(key, &id); err != nil || id < 0 || id >= maxTokenID {
				return fieldErr(tcPath, "added_tokens_decoder", "bad id %q", key)
			}
			toks = append(toks, a.token(id))
		}
		// Map order is random; HF adds them by increasing id.
		sortAdded(toks)
		t.addAdded(toks)
		t.setTokens()
	}

	if haveTC && t.fromSPM {
		// A SentencePiece model has no post-processor; the slow Llama
		// tokenizer adds BOS/EOS as add_bos_token/add_eos_token say.
		t.prefix, t.suffix = nil, nil
		if (tc.AddBOS == nil || *tc.AddBOS) && t.bos >= 0 {
			t.prefix = []int32{t.bos}
		}
		if tc.AddEOS != nil && *tc.AddEOS && len(t.eos) > 0 {
			t.suffix = []int32{t.eos[0]}
		}
	}

	resolve := func(r *tokenRef) int32 {
		if r == nil || !r.set {
			return -1
		}
		if id, ok := t.TokenID(r.content); ok {
			return id
		}
		return -1
	}
	inRange := func(id *int64) int32 {
		if id == nil || *id < 0 || *id >= int64(t.VocabSize()) {
			return -1
		}
		return int32(*id)
	}
	for _, id := range []int32{resolve(tc.BOS), resolve(stm.BOS), inRange(gen.BOS), inRange(cfg.BOS)} {
		if id >= 0 {
			t.bos = id
			break
		}
	}
	if t.bos < 0 && len(t.prefix) == 1 {
		t.bos = t.prefix[0]
	}
	if haveTC && !t.fromSPM && tc.AddBOS != nil && strings.Contains(tc.TokenizerClass, "Llama") {
		// LlamaTokenizerFast rebuilds its post-processor from
		// add_bos_token/add_eos_token.
		t.prefix = nil
		if *tc.AddBOS && t.bos >= 0 {
			t.prefix = []int32{t.bos}
		}
	}

	for _, r := range []*tokenRef{tc.EOS, stm.EOS} {
		if resolve(r) >= 0 {
			t.eosToken = r.content
			break
		}
	}
	eos := t.eos
	for _, id := range []int32{resolve(tc.EOS), resolve(stm.EOS)} {
		if id >= 0 {
			eos = append(eos, id)
		}
	}
	for _, l := range []idList{gen.EOS, cfg.EOS} {
		for _, id := range l {
			if v := inRange(&id); v >= 0 {
				eos = append(eos, v)
			}
		}
	}
	if len(eos) == 0 {
		// No config names one: fall back to the usual end-of-text names.
		for _, name := range []string{"</s>", "<|end_of_text|>", "<|eot_id|>", "<|endoftext|>", "<|im_end|>", "<eos>", "<end_of_turn>"} {
			if id, ok := t.TokenID(name); ok && t.special[id] {
				eos = append(eos, id)
			}
		}
	}
	t.eos = sortedUnique(eos)

	if tmpl, err := chatTemplateFrom(tcPath, tc.ChatTemplate); err != nil {
		return err
	} else if tmpl != "" {
		t.chatTemplate = tmpl
	}
	if t.chatTemplate == "" {
		if data, err := os.ReadFile(filepath.Join(dir, "chat_template.jinja")); err == nil {
			t.chatTemplate = string(data)
		}
	}
	if t.chatTemplate == "" {
		var ct struct {
			ChatTemplate json.RawMessage `json:"chat_template"`
		}
		if ok, err := readJSON(dir, "chat_template.json", &ct); err != nil {
			return err
		} else if ok {
			tmpl, err := chatTemplateFrom(filepath.Join(dir, "chat_template.json"), ct.ChatTemplate)
			if err != nil {
				return err
			}
			t.chatTemplate = tmpl
		}
	}
	return nil
}

// chatTemplateFrom reads chat_template, which is a string or a list of
// {"name", "template"} (the "default" one is used).
func chatTemplateFrom(path string, raw json.RawMessage) (string, error) {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 || string(raw) == "null" {
		return "", nil
	}
	var s string
	if json.Unmarshal(raw, &s) == nil {
		return s, nil
	}
	var named []struct {
		Name     string `json:"name"`
		Template string `json:"template"`
	}
	if err := json.Unmarshal(raw, &named); err != nil {
		return "", fieldErr(path, "chat_template", "neither a string nor a list of named templates")
	}
	for _, n := range named {
		if n.Name == "default" {
			return n.Template, nil
		}
	}
	if len(named) > 0 {
		return named[0].Template, nil
	}
	return "", nil
}

func sortAdded(toks []addedToken) {
	slices.SortFunc(toks, func(a, b addedToken) int { return int(a.id) - int(b.id) })
}
