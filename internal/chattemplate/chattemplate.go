// Package chattemplate renders the Jinja chat templates that models ship in
// tokenizer_config.json (or GGUF metadata) into prompt text, byte for byte
// as transformers' apply_chat_template does with Python Jinja2:
// trim_blocks and lstrip_blocks on, raise_exception and strftime_now
// defined, tojson as json.dumps(ensure_ascii=False) with keys in insertion
// order, and Python's str.strip and str.capitalize behind trim and
// capitalize.
//
// Rendering uses github.com/ardanlabs/jinja. Where its v1.8.0 filters differ
// from Python (tojson with indent sorts keys; trim, capitalize and
// strftime_now follow Go's rules), the template is compiled so that those
// filters call the Python-exact versions in this package instead.
package chattemplate

import (
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/ardanlabs/jinja"
)

// Message is one turn of a conversation.
type Message struct {
	Role    string `json:"role"`
	Content string `json:"content"`
}

// Options are the template variables besides messages.
type Options struct {
	// AddGenerationPrompt ends the prompt with the assistant's header
	// ("Assistant: " for BitNet) so the model writes the reply.
	AddGenerationPrompt bool
	// BOSToken and EOSToken are the strings of the tokenizer's BOS and EOS
	// tokens (bos_token, eos_token).
	BOSToken, EOSToken string
	// Vars are further variables (tools, date_string, ...). Values are
	// JSON-like Go values; a json.RawMessage keeps the key order of its
	// objects, which tojson then reproduces.
	Vars map[string]any
	// Now is the clock of strftime_now; nil means time.Now.
	Now func() time.Time
}

// Fallback is the template used when a model ships none: the chat template
// of microsoft/bitnet-b1.58-2B-4T (tokenizer_config.json), which is the
// format its SFT used:
//
//	System: {content}<|eot_id|>User: {content}<|eot_id|>Assistant: {content}<|eot_id|>...Assistant:␠
//
// It has no bos_token: encode the prompt with the tokenizer's BOS added
// (one BOS). It is not the GGUF's "Human: ... BITNETAssistant:" placeholder
// nor bitnet.cpp's rendering, which leaves out <|eot_id|> after the system
// message.
const Fallback = "{% set loop_messages = messages %}{% for message in loop_messages %}{% set content = message['role'] | capitalize + ': '+ message['content'] | trim + '<|eot_id|>' %}{{ content }}{% endfor %}{% if add_generation_prompt %}{{ 'Assistant: ' }}{% endif %}"

// FallbackName is the name Compile gives the fallback template.
const FallbackName = "built-in BitNet b1.58 2B-4T template"

// Template is a compiled chat template. It is safe for concurrent use.
type Template struct {
	name   string
	source string
	tmpl   *jinja.Template
}

// Error is a chat template that failed to compile or render.
type Error struct {
	Template string // the template's name
	Op       string // "compile" or "render"
	Err      error
}

func (e *Error) Error() string {
	return fmt.Sprintf("chattemplate: %s %q: %v", e.Op, e.Template, e.Err)
}

func (e *Error) Unwrap() error { return e.Err }

// Compile compiles a chat template. name says where it came from (for
// example "models/x/tokenizer_config.json chat_template") and appears in
// errors. An empty source selects Fallback.
func Compile(name, source string) (*Template, error) {
	if source == "" {
		name, source = FallbackName, Fallback
	}
	tmpl, err := jinja.Compile(rewriteFilters(normalizeNewlines(source)))
	if err != nil {
		return nil, &Error{Template: name, Op: "compile", Err: err}
	}
	return &Template{name: name, source: source, tmpl: tmpl}, nil
}

// normalizeNewlines does what Jinja2's lexer does to a template: "\r\n" and
// "\r" become "\n", and one trailing newline is dropped
// (keep_trailing_newline=False), which matters for chat_template.jinja
// files.
func normalizeNewlines(s string) string {
	s = strings.ReplaceAll(s, "\r\n", "\n")
	s = strings.ReplaceAll(s, "\r", "\n")
	return strings.TrimSuffix(s, "\n")
}

// Name returns the template's name.
func (t *Template) Name() string { return t.name }

// Source returns the Jinja source.
func (t *Template) Source() string { return t.source }

// Render renders the conversation.
func (t *Template) Render(msgs []Message, opts Options) (string, error) {
	now := opts.Now
	if now == nil {
		now = time.Now
	}
	data := map[string]jinja.Value{}
	for k, v := range opts.Vars {
		val, err := toValue(v)
		if err != nil {
			return "", &Error{Template: t.name, Op: "render", Err: fmt.Errorf("variable %s: %w", k, err)}
		}
		data[k] = val
	}
	list := make([]jinja.Value, len(msgs))
	for i, m := range msgs {
		d := jinja.NewDict()
		d.AsDict().Set("role", jinja.NewString(m.Role))
		d.AsDict().Set("content", jinja.NewString(m.Content))
		list[i] = d
	}
	data["messages"] = jinja.NewList(list)
	data["add_generation_prompt"] = jinja.NewBool(opts.AddGenerationPrompt)
	data["bos_token"] = jinja.NewString(opts.BOSToken)
	data["eos_token"] = jinja.NewString(opts.EOSToken)
	data["strftime_now"] = jinja.NewCallable("strftime_now", func(args []jinja.Value, _ map[string]jinja.Value) (jinja.Value, error) {
		if len(args) != 1 || !args[0].IsString() {
			return jinja.Undefined(), fmt.Errorf("strftime_now takes one format string")
		}
		return jinja.NewString(strftime(args[0].AsString(), now())), nil
	})
	data["raise_exception"] = jinja.NewCallable("raise_exception", func(args []jinja.Value, _ map[string]jinja.Value) (jinja.Value, error) {
		msg := ""
		if len(args) > 0 {
			msg = pyStr(args[0])
		}
		return jinja.Undefined(), fmt.Errorf("the template raised an exception: %s", msg)
	})
	for name, fn := range pyFilters {
		data[filterPrefix+name] = jinja.NewCallable(name, fn)
	}
	out, err := t.tmpl.RenderValues(data)
	if err != nil {
		return "", &Error{Template: t.name, Op: "render", Err: err}
	}
	return out, nil
}

// toValue converts a JSON-like Go value. Maps have no order, so their keys
// are sorted; a json.RawMessage keeps its order.
func toValue(v any) (jinja.Value, error) {
	switch x := v.(type) {
	case json.RawMessage:
		return decodeOrdered(x)
	case []byte:
		return jinja.NewString(string(x)), nil
	case []any:
		items := make([]jinja.Value, len(x))
		for i, it := range x {
			val, err := toValue(it)
			if err != nil {
				return jinja.Value{}, err
			}
			items[i] = val
		}
		return jinja.NewList(items), nil
	case map[string]any:
		// Convert nested raw messages ourselves; FromGoValue does the rest.
		d := jinja.NewDict()
		for _, k := range sortedKeys(x) {
			val, err := toValue(x[k])
			if err != nil {
				return jinja.Value{}, err
			}
			d.AsDict().Set(k, val)
		}
		return d, nil
	case int32:
		return jinja.NewInt(int64(x)), nil
	case float32:
		return jinja.NewFloat(float64(x)), nil
	}
	val := jinja.FromGoValue(v)
	if val.IsUndefined() && v != nil {
		return val, fmt.Errorf("unsupported type %T", v)
	}
	return val, nil
}

// decodeOrdered decodes JSON into Values with objects in document order.
func decodeOrdered(data []byte) (jinja.Value, error) {
	dec := json.NewDecoder(strings.NewReader(string(data)))
	dec.UseNumber()
	v, err := decodeValue(dec)
	if err != nil {
		return jinja.Value{}, err
	}
	if dec.More() {
		return jinja.Value{}, fmt.Errorf("trailing data after JSON value")
	}
	return v, nil
}

func decodeValue(dec *json.Decoder) (jinja.Value, error) {
	tok, err := dec.Token()
	if err != nil {
		return jinja.Value{}, err
	}
	switch t := tok.(type) {
	case json.Delim:
		switch t {
		case '{':
			d := jinja.NewDict()
			for dec.More() {
				kt, err := dec.Token()
				if err != nil {
					return jinja.Value{}, err
				}
				k, _ := kt.(string)
				v, err := decodeValue(dec)
				if err != nil {
					return jinja.Value{}, err
				}
				d.AsDict().Set(k, v)
			}
			_, err := dec.Token()
			return d, err
		case '[':
			var items []jinja.Value
			for dec.More() {
				v, err := decodeValue(dec)
				if err != nil {
					return jinja.Value{}, err
				}
				items = append(items, v)
			}
			_, err := dec.Token()
			return jinja.NewList(items), err
		}
	case json.Number:
		return jinja.FromGoValue(t), nil
	case string:
		return jinja.NewString(t), nil
	case bool:
		return jinja.NewBool(t), nil
	case nil:
		return jinja.None(), nil
	}
	return jinja.Value{}, fmt.Errorf("unexpected JSON token %v", tok)
}
