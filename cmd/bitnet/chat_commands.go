package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"unicode"

	"github.com/bitnet-go/bitnet"
)

// command runs a slash command. msg is feedback for the user; quit ends
// the chat.
func (c *chat) command(line string) (msg string, quit bool, err error) {
	name, arg := line, ""
	if i := strings.IndexFunc(line, unicode.IsSpace); i >= 0 {
		name, arg = line[:i], strings.TrimSpace(line[i:])
	}
	switch name {
	case "/help", "/?":
		return chatCommandHelp, false, nil
	case "/exit", "/quit", "/bye":
		return "", true, nil
	case "/reset", "/clear":
		c.reset()
		return "conversation cleared", false, nil
	case "/system":
		switch arg {
		case "":
			if c.system == "" {
				return "no system prompt", false, nil
			}
			return "system prompt: " + c.system, false, nil
		case "-":
			c.system = ""
			c.reset()
			return "system prompt removed; conversation cleared", false, nil
		}
		c.system = arg
		c.reset()
		return "system prompt set; conversation cleared", false, nil
	case "/set":
		msg, err := c.set(arg)
		return msg, false, err
	case "/save":
		if arg == "" {
			return "", false, fmt.Errorf("/save: name the file")
		}
		if err := c.save(expandHome(arg)); err != nil {
			return "", false, fmt.Errorf("/save: %w", err)
		}
		return fmt.Sprintf("saved %d messages to %s", len(c.msgs), arg), false, nil
	case "/load":
		if arg == "" {
			return "", false, fmt.Errorf("/load: name the file")
		}
		if err := c.load(expandHome(arg)); err != nil {
			return "", false, fmt.Errorf("/load: %w", err)
		}
		return fmt.Sprintf("loaded %d messages from %s", len(c.msgs), arg), false, nil
	}
	return "", false, fmt.Errorf("unknown command %s (/help lists them)", name)
}

func expandHome(path string) string {
	if rest, ok := strings.CutPrefix(path, "~/"); ok {
		if home, err := os.UserHomeDir(); err == nil {
			return filepath.Join(home, rest)
		}
	}
	return path
}

// chatParam is a setting /set may change. field points into sampleFlags,
// whose options() stays the one place GenerateOptions are built.
type chatParam struct {
	name  string
	rule  string // the valid values, for errors and /set's list
	field func(*sampleFlags) any
	ok    func(v float64) bool
}

var chatParams = []chatParam{
	{"temperature", ">= 0", func(s *sampleFlags) any { return &s.temperature }, func(v float64) bool { return v >= 0 }},
	{"top_k", ">= 0", func(s *sampleFlags) any { return &s.topK }, func(v float64) bool { return v >= 0 }},
	{"top_p", "in (0, 1]", func(s *sampleFlags) any { return &s.topP }, func(v float64) bool { return v > 0 && v <= 1 }},
	{"min_p", "in [0, 1]", func(s *sampleFlags) any { return &s.minP }, func(v float64) bool { return v >= 0 && v <= 1 }},
	{"repeat_penalty", "> 0", func(s *sampleFlags) any { return &s.repeatPenalty }, func(v float64) bool { return v > 0 }},
	{"seed", ">= -1", func(s *sampleFlags) any { return &s.seed }, func(v float64) bool { return v >= -1 }},
	{"max_tokens", ">= 0", func(s *sampleFlags) any { return &s.maxTokens }, func(v float64) bool { return v >= 0 }},
}

func (c *chat) set(arg string) (string, error) {
	fields := strings.Fields(arg)
	if len(fields) == 0 {
		var b strings.Builder
		for i, p := range chatParams {
			if i > 0 {
				b.WriteByte('\n')
			}
			fmt.Fprintf(&b, "%-15s %v", p.name, deref(p.field(&c.sf)))
		}
		return b.String(), nil
	}
	name := strings.ReplaceAll(strings.ToLower(fields[0]), "-", "_")
	var p *chatParam
	for i := range chatParams {
		if chatParams[i].name == name {
			p = &chatParams[i]
		}
	}
	if p == nil {
		names := make([]string, len(chatParams))
		for i, q := range chatParams {
			names[i] = q.name
		}
		return "", fmt.Errorf("/set: unknown setting %q (one of %s)", fields[0], strings.Join(names, ", "))
	}
	if len(fields) != 2 {
		return "", fmt.Errorf("/set %s: give one value", p.name)
	}
	val := fields[1]
	sf := c.sf
	var v float64
	var err error
	kind := "an integer"
	switch dst := p.field(&sf).(type) {
	case *float32:
		kind = "a number"
		v, err = strconv.ParseFloat(val, 32)
		*dst = float32(v)
	case *int:
		var i int
		i, err = strconv.Atoi(val)
		*dst, v = i, float64(i)
	case *int64:
		var i int64
		i, err = strconv.ParseInt(val, 10, 64)
		*dst, v = i, float64(i)
	}
	if err != nil || math.IsInf(v, 0) {
		return "", fmt.Errorf("/set %s: want %s, got %q", p.name, kind, val)
	}
	if !p.ok(v) {
		return "", fmt.Errorf("/set %s: must be %s, got %s", p.name, p.rule, val)
	}
	opts, err := sf.options()
	if err != nil {
		return "", fmt.Errorf("/set %s: %w", p.name, err)
	}
	c.sf, c.opts = sf, opts
	return fmt.Sprintf("%s = %s", p.name, val), nil
}

func deref(v any) any {
	switch p := v.(type) {
	case *float32:
		return *p
	case *int:
		return *p
	case *int64:
		return *p
	}
	return v
}

// chatFile is the /save format. Messages has the OpenAI shape, so the
// file also feeds other tools.
type chatFile struct {
	System   string           `json:"system,omitempty"`
	Messages []bitnet.Message `json:"messages"`
}

func (c *chat) save(path string) error {
	doc := chatFile{System: c.system, Messages: c.msgs}
	if doc.Messages == nil {
		doc.Messages = []bitnet.Message{}
	}
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	if err := enc.Encode(doc); err != nil {
		return err
	}
	return os.WriteFile(path, b.Bytes(), 0o644)
}

// load replaces the conversation. The session is kept: the engine reuses
// whatever prefix the loaded conversation shares with the cache, so
// loading back a conversation just saved costs nothing.
func (c *chat) load(path string) error {
	b, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	var doc chatFile
	if err := json.Unmarshal(b, &doc); err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	msgs, skipped := doc.Messages, 0
	// A leading system message is how OpenAI-style files carry it.
	if len(msgs) > 0 && msgs[0].Role == "system" && doc.System == "" {
		doc.System, msgs, skipped = msgs[0].Content, msgs[1:], 1
	}
	for i, m := range msgs {
		if m.Role != "user" && m.Role != "assistant" {
			return fmt.Errorf("%s: messages[%d].role is %q, not user or assistant", path, i+skipped, m.Role)
		}
	}
	c.system, c.msgs = doc.System, msgs
	return nil
}
