package tokenizer

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"unicode/utf8"

	"github.com/dlclark/regexp2/v2"
)

// Error is a problem with a tokenizer file: which file, which field (a JSON
// path such as "pre_tokenizer.pretokenizers[0].type"; empty when the whole
// file is at fault) and what is wrong.
type Error struct {
	Path  string
	Field string
	Msg   string
}

func (e *Error) Error() string {
	if e.Field == "" {
		return fmt.Sprintf("tokenizer: %s: %s", e.Path, e.Msg)
	}
	return fmt.Sprintf("tokenizer: %s: %s: %s", e.Path, e.Field, e.Msg)
}

func fieldErr(path, field, format string, a ...any) error {
	return &Error{Path: path, Field: field, Msg: fmt.Sprintf(format, a...)}
}

// maxTokenID bounds ids so that a corrupt file cannot make the id tables
// enormous.
const maxTokenID = 1 << 24

// jsonErr describes a json.Unmarshal failure of data.
func jsonErr(path, field string, data []byte, err error) error {
	var se *json.SyntaxError
	if errors.As(err, &se) {
		line := 1 + bytes.Count(data[:min(int(se.Offset), len(data))], []byte("\n"))
		return fieldErr(path, field, "malformed JSON at line %d: %v", line, se)
	}
	var te *json.UnmarshalTypeError
	if errors.As(err, &te) {
		f := field
		if te.Field != "" {
			f = joinField(field, te.Field)
		}
		return fieldErr(path, f, "malformed JSON: %s where %s was expected", te.Value, te.Type)
	}
	return fieldErr(path, field, "malformed JSON: %v", err)
}

func joinField(parent, child string) string {
	if parent == "" {
		return child
	}
	return parent + "." + child
}

// object is one JSON object of a tokenizer.json component.
type object struct {
	path, field string
	m           map[string]json.RawMessage
}

func parseObject(path, field string, raw json.RawMessage) (object, bool, error) {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 || string(raw) == "null" {
		return object{}, false, nil
	}
	o := object{path: path, field: field}
	if err := json.Unmarshal(raw, &o.m); err != nil {
		return o, false, jsonErr(path, field, raw, err)
	}
	return o, true, nil
}

func (o object) sub(name string) string { return joinField(o.field, name) }

func (o object) has(name string) bool {
	v, ok := o.m[name]
	return ok && string(bytes.TrimSpace(v)) != "null"
}

// get decodes member name into v, leaving v alone when it is absent or null.
func (o object) get(name string, v any) error {
	raw, ok := o.m[name]
	if !ok || string(bytes.TrimSpace(raw)) == "null" {
		return nil
	}
	if err := json.Unmarshal(raw, v); err != nil {
		return jsonErr(o.path, o.sub(name), raw, err)
	}
	return nil
}

func (o object) typ() (string, error) {
	var t string
	if err := o.get("type", &t); err != nil {
		return "", err
	}
	return t, nil
}

func (o object) list(name string) ([]object, error) {
	var raws []json.RawMessage
	if err := o.get(name, &raws); err != nil {
		return nil, err
	}
	var out []object
	for i, r := range raws {
		c, ok, err := parseObject(o.path, fmt.Sprintf("%s[%d]", o.sub(name), i), r)
		if err != nil {
			return nil, err
		}
		if ok {
			out = append(out, c)
		}
	}
	return out, nil
}

// pattern reads HF's {"String": s} or {"Regex": r}.
func (o object) pattern(name string) (literal string, re string, isRegex bool, err error) {
	var p struct {
		String *string
		Regex  *string
	}
	if err := o.get(name, &p); err != nil {
		return "", "", false, err
	}
	switch {
	case p.Regex != nil:
		return "", *p.Regex, true, nil
	case p.String != nil:
		return *p.String, "", false, nil
	}
	return "", "", false, fieldErr(o.path, o.sub(name), "missing String or Regex")
}

type hfAddedToken struct {
	ID         *int64 `json:"id"`
	Content    string `json:"content"`
	SingleWord bool   `json:"single_word"`
	Lstrip     bool   `json:"lstrip"`
	Rstrip     bool   `json:"rstrip"`
	Normalized *bool  `json:"normalized"`
	Special    bool   `json:"special"`
}

func (a hfAddedToken) token(id int64) addedToken {
	normalized := !a.Special
	if a.Normalized != nil {
		normalized = *a.Normalized
	}
	return addedToken{
		id: int32(id), content: a.Content, special: a.Special, lstrip: a.Lstrip,
		rstrip: a.Rstrip, normalized: normalized, singleWord: a.SingleWord,
	}
}

// parseTokenizerJSON builds a Tokenizer from the contents of a tokenizer.json.
func parseTokenizerJSON(path string, data []byte) (*Tokenizer, error) {
	var top map[string]json.RawMessage
	if err := json.Unmarshal(data, &top); err != nil {
		return nil, jsonErr(path, "", data, err)
	}
	root := object{path: path, m: top}
	t := &Tokenizer{source: path, bos: -1}

	mo, ok, err := parseObject(path, "model", top["model"])
	if err != nil {
		return nil, err
	}
	if !ok {
		return nil, fieldErr(path, "model", "missing")
	}
	if t.model, err = parseBPEModel(mo); err != nil {
		return nil, err
	}

	if o, ok, err := parseObject(path, "normalizer", top["normalizer"]); err != nil {
		return nil, err
	} else if ok {
		if t.normalizers, err = parseNormalizer(o, nil); err != nil {
			return nil, err
		}
	}
	if o, ok, err := parseObject(path, "pre_tokenizer", top["pre_tokenizer"]); err != nil {
		return nil, err
	} else if ok {
		if t.pre, err = parsePreTokenizer(o); err != nil {
			return nil, err
		}
		t.llama3Fast = isLlama3Pre(o)
	}
	if o, ok, err := parseObject(path, "decoder", top["decoder"]); err != nil {
		return nil, err
	} else if ok {
		if t.decoders, err = parseDecoder(o, nil); err != nil {
			return nil, err
		}
	}

	var added []hfAddedToken
	if err := root.get("added_tokens", &added); err != nil {
		return nil, err
	}
	for i, a := range added {
		if a.ID == nil || *a.ID < 0 || *a.ID >= maxTokenID {
			return nil, fieldErr(path, fmt.Sprintf("added_tokens[%d].id", i), "missing or out of range")
		}
		t.addAdded([]addedToken{a.token(*a.ID)})
	}

	t.finish()
	if o, ok, err := parseObject(path, "post_processor", top["post_processor"]); err != nil {
		return nil, err
	} else if ok {
		if t.prefix, t.suffix, err = t.parsePostProcessor(o); err != nil {
			return nil, err
		}
	}
	return t, nil
}

func parseBPEModel(o object) (*bpeModel, error) {
	typ, err := o.typ()
	if err != nil {
		return nil, err
	}
	if typ == "" && o.has("merges") {
		typ = "BPE"
	}
	if typ != "BPE" {
		return nil, fieldErr(o.path, o.sub("type"), "unsupported model type %q (only BPE is supported)", typ)
	}
	var (
		vocab          map[string]int64
		unk            *string
		prefix, suffix *string
		fallback, fuse bool
		ignore         bool
		mergeRaw       json.RawMessage
	)
	for _, f := range []struct {
		name string
		v    any
	}{
		{"vocab", &vocab}, {"unk_token", &unk}, {"continuing_subword_prefix", &prefix},
		{"end_of_word_suffix", &suffix}, {"byte_fallback", &fallback}, {"fuse_unk", &fuse},
		{"ignore_merges", &ignore}, {"merges", &mergeRaw},
	} {
		if err := o.get(f.name, f.v); err != nil {
			return nil, err
		}
	}
	if prefix != nil && *prefix != "" {
		return nil, fieldErr(o.path, o.sub("continuing_subword_prefix"), "not supported")
	}
	if suffix != nil && *suffix != "" {
		return nil, fieldErr(o.path, o.sub("end_of_word_suffix"), "not supported")
	}
	if vocab == nil {
		return nil, fieldErr(o.path, o.sub("vocab"), "missing")
	}
	m := &bpeModel{
		vocab:        make(map[string]int32, len(vocab)),
		merges:       map[uint64]uint64{},
		unk:          -1,
		byteFallback: fallback,
		fuseUnk:      fuse,
		ignoreMerges: ignore,
	}
	for tok, id := range vocab {
		if id < 0 || id >= maxTokenID {
			return nil, fieldErr(o.path, o.sub("vocab"), "id %d of %q out of range", id, tok)
		}
		m.vocab[tok] = int32(id)
	}
	if unk != nil {
		id, ok := m.vocab[*unk]
		if !ok {
			return nil, fieldErr(o.path, o.sub("unk_token"), "%q is not in the vocab", *unk)
		}
		m.unk = id
	}
	// Merges are "a b" strings in older files and ["a", "b"] pairs in
	// newer ones.
	var mergeStrings []string
	var mergePairs [][]string
	if mergeRaw != nil {
		if err := json.Unmarshal(mergeRaw, &mergeStrings); err != nil {
			mergeStrings = nil
			if json.Unmarshal(mergeRaw, &mergePairs) != nil {
				return nil, jsonErr(o.path, o.sub("merges"), mergeRaw, err)
			}
		}
	}
	addMerge := func(i int, a, b string) error {
		field := fmt.Sprintf("%s[%d]", o.sub("merges"), i)
		ia, ok := m.vocab[a]
		if !ok {
			return fieldErr(o.path, field, "token %q is not in the vocab", a)
		}
		ib, ok := m.vocab[b]
		if !ok {
			return fieldErr(o.path, field, "token %q is not in the vocab", b)
		}
		im, ok := m.vocab[a+b]
		if !ok {
			return fieldErr(o.path, field, "merged token %q is not in the vocab", a+b)
		}
		m.merges[pairKey(ia, ib)] = uint64(i)<<32 | uint64(uint32(im))
		return nil
	}
	for i, s := range mergeStrings {
		a, b, ok := strings.Cut(s, " ")
		if !ok || strings.Contains(b, " ") {
			return nil, fieldErr(o.path, fmt.Sprintf("%s[%d]", o.sub("merges"), i), "%q is not two tokens separated by a space", s)
		}
		if err := addMerge(i, a, b); err != nil {
			return nil, err
		}
	}
	for i, p := range mergePairs {
		if len(p) != 2 {
			return nil, fieldErr(o.path, fmt.Sprintf("%s[%d]", o.sub("merges"), i), "a merge must have two tokens, not %d", len(p))
		}
		if err := addMerge(i, p[0], p[1]); err != nil {
			return nil, err
		}
	}
	for b := range m.byteID {
		m.byteID[b] = -1
		if id, ok := m.vocab[fmt.Sprintf("<0x%02X>", b)]; ok {
			m.byteID[b] = id
		}
	}
	return m, nil
}

func parseNormalizer(o object, out []normalizer) ([]normalizer, error) {
	typ, err := o.typ()
	if err != nil {
		return nil, err
	}
	switch typ {
	case "Sequence":
		subs, err := o.list("normalizers")
		if err != nil {
			return nil, err
		}
		for _, s := range subs {
			if out, err = parseNormalizer(s, out); err != nil {
				return nil, err
			}
		}
		return out, nil
	case "Prepend":
		var p string
		if err := o.get("prepend", &p); err != nil {
			return nil, err
		}
		return append(out, prependNorm{p}), nil
	case "Replace":
		r, err := parseReplace(o)
		if err != nil {
			return nil, err
		}
		return append(out, r), nil
	case "ByteLevel":
		return append(out, byteLevelNorm{}), nil
	case "Strip":
		var left, right bool
		if err := o.get("strip_left", &left); err != nil {
			return nil, err
		}
		if err := o.get("strip_right", &right); err != nil {
			return nil, err
		}
		return append(out, stripNorm{left, right}), nil
	}
	return nil, fieldErr(o.path, o.sub("type"), "unsupported normalizer type %q", typ)
}

func parseReplace(o object) (replaceNorm, error) {
	lit, re, isRe, err := o.pattern("pattern")
	if err != nil {
		return replaceNorm{}, err
	}
	r := replaceNorm{literal: lit}
	if err := o.get("content", &r.content); err != nil {
		return r, err
	}
	if isRe {
		if r.re, err = compileRegex(re); err != nil {
			return r, fieldErr(o.path, o.sub("pattern"), "bad regex: %v", err)
		}
	}
	return r, nil
}

func parsePreTokenizer(o object) (preTokenizer, error) {
	typ, err := o.typ()
	if err != nil {
		return nil, err
	}
	switch typ {
	case "Sequence":
		subs, err := o.list("pretokenizers")
		if err != nil {
			return nil, err
		}
		var q sequencePT
		for _, s := range subs {
			p, err := parsePreTokenizer(s)
			if err != nil {
				return nil, err
			}
			q = append(q, p)
		}
		return q, nil
	case "Split":
		lit, re, isRe, err := o.pattern("pattern")
		if err != nil {
			return nil, err
		}
		p := &splitPT{literal: lit}
		var behavior string
		if err := o.get("behavior", &behavior); err != nil {
			return nil, err
		}
		b, ok := splitBehaviors[behavior]
		if !ok {
			return nil, fieldErr(o.path, o.sub("behavior"), "unknown split behavior %q", behavior)
		}
		p.behavior = b
		if err := o.get("invert", &p.invert); err != nil {
			return nil, err
		}
		if isRe {
			if p.re, err = compileRegex(re); err != nil {
				return nil, fieldErr(o.path, o.sub("pattern"), "bad regex: %v", err)
			}
		}
		return p, nil
	case "ByteLevel":
		p := &byteLevelPT{}
		useRegex := true
		if err := o.get("add_prefix_space", &p.addPrefixSpace); err != nil {
			return nil, err
		}
		if err := o.get("use_regex", &useRegex); err != nil {
			return nil, err
		}
		if useRegex {
			p.re = gpt2Regex()
		}
		return p, nil
	case "Metaspace":
		repl, scheme, err := parseMetaspace(o)
		if err != nil {
			return nil, err
		}
		p := &metaspacePT{repl: string(repl), scheme: scheme, splitOn: true}
		if err := o.get("split", &p.splitOn); err != nil {
			return nil, err
		}
		return p, nil
	case "Digits":
		p := &digitsPT{}
		if err := o.get("individual_digits", &p.individual); err != nil {
			return nil, err
		}
		return p, nil
	}
	return nil, fieldErr(o.path, o.sub("type"), "unsupported pre-tokenizer type %q", typ)
}

var gpt2Regex = func() func() *regexp2.Regexp {
	re, err := compileRegex(gpt2Pattern)
	if err != nil {
		panic(err)
	}
	return func() *regexp2.Regexp { return re }
}()

func parseMetaspace(o object) (rune, prependScheme, error) {
	var repl string
	if err := o.get("replacement", &repl); err != nil {
		return 0, 0, err
	}
	r, n := utf8.DecodeRuneInString(repl)
	if n == 0 || n != len(repl) {
		return 0, 0, fieldErr(o.path, o.sub("replacement"), "must be one character, not %q", repl)
	}
	scheme := prependAlways
	if o.has("prepend_scheme") {
		var s string
		if err := o.get("prepend_scheme", &s); err != nil {
			return 0, 0, err
		}
		switch s {
		case "always":
		case "first":
			scheme = prependFirst
		case "never":
			scheme = prependNever
		default:
			return 0, 0, fieldErr(o.path, o.sub("prepend_scheme"), "unknown scheme %q", s)
		}
	} else if o.has("add_prefix_space") {
		add := true
		if err := o.get("add_prefix_space", &add); err != nil {
			return 0, 0, err
		}
		if !add {
			scheme = prependNever
		}
	}
	return r, scheme, nil
}

// isLlama3Pre reports whether a pre_tokenizer is the Llama 3 one that
// llama3Split implements.
func isLlama3Pre(o object) bool {
	if t, _ := o.typ(); t != "Sequence" {
		return false
	}
	subs, err := o.list("pretokenizers")
	if err != nil || len(subs) != 2 {
		return false
	}
	if t, _ := subs[0].typ(); t != "Split" {
		return false
	}
	_, re, isRe, err := subs[0].pattern("pattern")
	var behavior string
	var invert bool
	if err != nil || !isRe || re != llama3Pattern ||
		subs[0].get("behavior", &behavior) != nil || behavior != "Isolated" ||
		subs[0].get("invert", &invert) != nil || invert {
		return false
	}
	if t, _ := subs[1].typ(); t != "ByteLevel" {
		return false
	}
	prefix, useRegex := false, true
	if subs[1].get("add_prefix_space", &prefix) != nil || subs[1].get("use_regex", &useRegex) != nil {
		return false
	}
	return !prefix && !useRegex
}

func parseDecoder(o object, out []decoder) ([]decoder, error) {
	typ, err := o.typ()
	if err != nil {
		return nil, err
	}
	switch typ {
	case "Sequence":
		subs, err := o.list("decoders")
		if err != nil {
			return nil, err
		}
		for _, s := range subs {
			if out, err = parseDecoder(s, out); err != nil {
				return nil, err
			}
		}
		return out, nil
	case "ByteLevel":
		return append(out, decoder{kind: decByteLevel}), nil
	case "ByteFallback":
		return append(out, decoder{kind: decByteFallback}), nil
	case "Fuse":
		return append(out, decoder{kind: decFuse}), nil
	case "Strip":
		var content string
		d := decoder{kind: decStrip}
		if err := o.get("content", &content); err != nil {
			return nil, err
		}
		r, n := utf8.DecodeRuneInString(content)
		if n == 0 || n != len(content) {
			return nil, fieldErr(o.path, o.sub("content"), "must be one character, not %q", content)
		}
		d.stripContent = r
		if err := o.get("start", &d.stripStart); err != nil {
			return nil, err
		}
		if err := o.get("stop", &d.stop); err != nil {
			return nil, err
		}
		if d.stripStart < 0 || d.stop < 0 {
			return nil, fieldErr(o.path, o.field, "start and stop must not be negative")
		}
		return append(out, d), nil
	case "Replace":
		r, err := parseReplace(o)
		if err != nil {
			return nil, err
		}
		return append(out, decoder{kind: decReplace, replace: r}), nil
	case "Metaspace":
		repl, scheme, err := parseMetaspace(o)
		if err != nil {
			return nil, err
		}
		return append(out, decoder{kind: decMetaspace, metaRepl: repl, metaDropFirstRepl: scheme != prependNever}), nil
	}
	return nil, fieldErr(o.path, o.sub("type"), "unsupported decoder type %q", typ)
}

// parsePostProcessor returns the ids the post-processor puts before and
// after a single sequence.
func (t *Tokenizer) parsePostProcessor(o object) (prefix, suffix []int32, err error) {
	typ, err := o.typ()
	if err != nil {
		return nil, nil, err
	}
	switch typ {
	case "ByteLevel":
		return nil, nil, nil
	case "Sequence":
		subs, err := o.list("processors")
		if err != nil {
			return nil, nil, err
		}
		for _, s := range subs {
			p, q, err := t.parsePostProcessor(s)
			if err != nil {
				return nil, nil, err
			}
			// Each processor wraps the result of the ones before it.
			prefix = append(p, prefix...)
			suffix = append(suffix, q...)
		}
		return prefix, suffix, nil
	case "TemplateProcessing":
		var single []map[string]struct {
			ID string `json:"id"`
		}
		var specials map[string]struct {
			IDs []int64 `json:"ids"`
		}
		if err := o.get("single", &single); err != nil {
			return nil, nil, err
		}
		if err := o.get("special_tokens", &specials); err != nil {
			return nil, nil, err
		}
		seenA := false
		for i, item := range single {
			if _, ok := item["Sequence"]; ok {
				seenA = true
				continue
			}
			st, ok := item["SpecialToken"]
			if !ok {
				return nil, nil, fieldErr(o.path, fmt.Sprintf("%s[%d]", o.sub("single"), i), "expected Sequence or SpecialToken")
			}
			sp, ok := specials[st.ID]
			if !ok {
				return nil, nil, fieldErr(o.path, fmt.Sprintf("%s[%d]", o.sub("single"), i), "special token %q is not in special_tokens", st.ID)
			}
			for _, id := range sp.IDs {
				if id < 0 || id >= maxTokenID {
					return nil, nil, fieldErr(o.path, o.sub("special_tokens"), "id %d out of range", id)
				}
				if seenA {
					suffix = append(suffix, int32(id))
				} else {
					prefix = append(prefix, int32(id))
				}
			}
		}
		return prefix, suffix, nil
	case "RobertaProcessing", "BertProcessing":
		var cls, sep []json.RawMessage
		if err := o.get("cls", &cls); err != nil {
			return nil, nil, err
		}
		if err := o.get("sep", &sep); err != nil {
			return nil, nil, err
		}
		var c, s int64
		if len(cls) != 2 || json.Unmarshal(cls[1], &c) != nil || c < 0 || c >= maxTokenID {
			return nil, nil, fieldErr(o.path, o.sub("cls"), "expected [token, id]")
		}
		if len(sep) != 2 || json.Unmarshal(sep[1], &s) != nil || s < 0 || s >= maxTokenID {
			return nil, nil, fieldErr(o.path, o.sub("sep"), "expected [token, id]")
		}
		return []int32{int32(c)}, []int32{int32(s)}, nil
	}
	return nil, nil, fieldErr(o.path, o.sub("type"), "unsupported post-processor type %q", typ)
}
