package server

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"reflect"
	"strconv"
	"strings"

	"github.com/bitnet-go/bitnet"
)

// The request types follow OpenAI's API reference. Unknown fields are
// ignored, as OpenAI does, because SDKs send fields (user, store,
// metadata...) that have no meaning here; known fields are type-checked.

// sampling holds the fields that chat and completions share.
type sampling struct {
	Model            string             `json:"model"`
	Temperature      *float64           `json:"temperature"`
	TopP             *float64           `json:"top_p"`
	Seed             *int64             `json:"seed"`
	Stop             stopField          `json:"stop"`
	PresencePenalty  *float64           `json:"presence_penalty"`
	FrequencyPenalty *float64           `json:"frequency_penalty"`
	LogitBias        map[string]float64 `json:"logit_bias"`
	N                *int               `json:"n"`
	Stream           bool               `json:"stream"`
	StreamOptions    *struct {
		IncludeUsage bool `json:"include_usage"`
	} `json:"stream_options"`

	// llama.cpp's extensions, for clients written against llama-server.
	TopK          *int     `json:"top_k"`
	MinP          *float64 `json:"min_p"`
	RepeatPenalty *float64 `json:"repeat_penalty"`
	IgnoreEOS     bool     `json:"ignore_eos"`
}

type chatRequest struct {
	sampling
	Messages            []chatMessage `json:"messages"`
	MaxTokens           *int          `json:"max_tokens"`
	MaxCompletionTokens *int          `json:"max_completion_tokens"`
	Logprobs            *bool         `json:"logprobs"`
	TopLogprobs         *int          `json:"top_logprobs"`
}

type completionRequest struct {
	sampling
	Prompt    promptField `json:"prompt"`
	MaxTokens *int        `json:"max_tokens"`
	Logprobs  *int        `json:"logprobs"`
	Echo      bool        `json:"echo"`
	Suffix    *string     `json:"suffix"`
	BestOf    *int        `json:"best_of"`
}

type chatMessage struct {
	Role    string         `json:"role"`
	Content messageContent `json:"content"`
}

// fieldError is returned by the custom decoders so the 400 names the
// field even though encoding/json does not know which one failed.
type fieldError struct {
	param, msg string
}

func (e *fieldError) Error() string { return e.msg }

// stopField is OpenAI's "string or array of strings".
type stopField []string

func (s *stopField) UnmarshalJSON(b []byte) error {
	switch b = bytes.TrimSpace(b); {
	case string(b) == "null":
		*s = nil
		return nil
	case len(b) > 0 && b[0] == '"':
		var one string
		if err := json.Unmarshal(b, &one); err != nil {
			return err
		}
		*s = stopField{one}
		return nil
	}
	var many []string
	if err := json.Unmarshal(b, &many); err != nil {
		return &fieldError{"stop", "stop must be a string or an array of strings"}
	}
	*s = many
	return nil
}

// promptField is a completion prompt: a string, an array of strings, an
// array of token ids, or an array of such arrays.
type promptField struct {
	set   bool
	texts []string
	ids   [][]int32
}

func (p *promptField) UnmarshalJSON(b []byte) error {
	b = bytes.TrimSpace(b)
	if string(b) == "null" {
		return nil
	}
	p.set = true
	if len(b) > 0 && b[0] == '"' {
		var s string
		if err := json.Unmarshal(b, &s); err != nil {
			return err
		}
		p.texts = []string{s}
		return nil
	}
	bad := &fieldError{"prompt", "prompt must be a string, an array of strings, an array of token ids or an array of arrays of token ids"}
	var raw []json.RawMessage
	if err := json.Unmarshal(b, &raw); err != nil {
		return bad
	}
	if len(raw) == 0 {
		return &fieldError{"prompt", "prompt must not be an empty array"}
	}
	switch first := bytes.TrimSpace(raw[0]); {
	case len(first) > 0 && first[0] == '"':
		if err := json.Unmarshal(b, &p.texts); err != nil {
			return bad
		}
	case len(first) > 0 && first[0] == '[':
		if err := json.Unmarshal(b, &p.ids); err != nil {
			return bad
		}
	default:
		var ids []int32
		if err := json.Unmarshal(b, &ids); err != nil {
			return bad
		}
		p.ids = [][]int32{ids}
	}
	return nil
}

// messageContent is a string, null, or an array of content parts of which
// only text parts mean anything to a text model.
type messageContent struct {
	text string
	err  string
}

func (c *messageContent) UnmarshalJSON(b []byte) error {
	b = bytes.TrimSpace(b)
	switch {
	case string(b) == "null":
		return nil
	case len(b) > 0 && b[0] == '"':
		return json.Unmarshal(b, &c.text)
	}
	var parts []struct {
		Type string `json:"type"`
		Text string `json:"text"`
	}
	if err := json.Unmarshal(b, &parts); err != nil {
		return &fieldError{"messages", "message content must be a string or an array of content parts"}
	}
	var sb strings.Builder
	for _, p := range parts {
		if p.Type != "text" {
			// Kept rather than failed here so the error can name the
			// message's index, which only the caller knows.
			c.err = fmt.Sprintf("content parts of type %q are not supported; this model reads text only", p.Type)
			return nil
		}
		sb.WriteString(p.Text)
	}
	c.text = sb.String()
	return nil
}

// decodeError explains why a body did not decode, naming the field.
func decodeError(err error) *apiError {
	var fe *fieldError
	var se *json.SyntaxError
	var te *json.UnmarshalTypeError
	switch {
	case errors.As(err, &fe):
		return invalid(fe.param, "%s", fe.msg)
	case errors.As(err, &se):
		return invalid("", "the request body is not valid JSON: %v (at byte %d)", se, se.Offset)
	case errors.As(err, &te):
		if te.Field == "" {
			return invalid("", "the request body must be a JSON object, got a JSON %s", te.Value)
		}
		return invalid(te.Field, "%s must be %s, got a JSON %s", te.Field, jsonKind(te.Type), te.Value)
	case errors.Is(err, errEmptyBody):
		return invalid("", "the request body is empty; send a JSON object")
	}
	return invalid("", "the request body is not valid JSON: %v", err)
}

var errEmptyBody = errors.New("empty body")

func jsonKind(t reflect.Type) string {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	switch t.Kind() {
	case reflect.Bool:
		return "a boolean"
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return "an integer"
	case reflect.Float32, reflect.Float64:
		return "a number"
	case reflect.String:
		return "a string"
	case reflect.Slice, reflect.Array:
		return "an array"
	}
	return "an object"
}

// maxChoices bounds n (times the prompts) so one request cannot queue an
// unbounded number of sequences.
const maxChoices = 128

// options turns the shared fields into GenerateOptions. OpenAI's ranges
// are checked here because they are narrower than the sampler's own.
func (s *sampling) options(vocab int) (bitnet.GenerateOptions, int, *apiError) {
	o := bitnet.GenerateOptions{Temperature: 1, IgnoreEOS: s.IgnoreEOS}
	if t := s.Temperature; t != nil {
		if !(*t >= 0 && *t <= 2) {
			return o, 0, invalid("temperature", "temperature must be in [0, 2], got %v", *t)
		}
		o.Temperature = float32(*t)
	}
	if p := s.TopP; p != nil {
		if !(*p >= 0 && *p <= 1) {
			return o, 0, invalid("top_p", "top_p must be in [0, 1], got %v", *p)
		}
		if *p == 0 {
			// OpenAI accepts 0; a nucleus of no mass keeps only the
			// most likely token, which is greedy decoding.
			o.Temperature = 0
		} else {
			o.TopP = float32(*p)
		}
	}
	if s.Seed != nil {
		seed := uint64(*s.Seed)
		o.Seed = &seed
	}
	if len(s.Stop) > 16 {
		return o, 0, invalid("stop", "stop takes at most 16 strings, got %d", len(s.Stop))
	}
	for _, st := range s.Stop {
		if st == "" {
			return o, 0, invalid("stop", "stop strings must not be empty")
		}
	}
	o.Stop = s.Stop
	for name, v := range map[string]*float64{"presence_penalty": s.PresencePenalty, "frequency_penalty": s.FrequencyPenalty} {
		if v != nil && !(*v >= -2 && *v <= 2) {
			return o, 0, invalid(name, "%s must be in [-2, 2], got %v", name, *v)
		}
	}
	if s.PresencePenalty != nil {
		o.PresencePenalty = float32(*s.PresencePenalty)
	}
	if s.FrequencyPenalty != nil {
		o.FrequencyPenalty = float32(*s.FrequencyPenalty)
	}
	if len(s.LogitBias) > 0 {
		o.LogitBias = make(map[int32]float32, len(s.LogitBias))
		for k, v := range s.LogitBias {
			id, err := strconv.ParseInt(k, 10, 32)
			if err != nil || id < 0 || int(id) >= vocab {
				return o, 0, invalid("logit_bias", "logit_bias keys must be token ids in [0, %d), got %q", vocab, k)
			}
			if !(v >= -100 && v <= 100) {
				return o, 0, invalid("logit_bias", "logit_bias values must be in [-100, 100], got %v for token %s", v, k)
			}
			o.LogitBias[int32(id)] = float32(v)
		}
	}
	n := 1
	if s.N != nil {
		n = *s.N
		if n < 1 || n > maxChoices {
			return o, 0, invalid("n", "n must be in [1, %d], got %d", maxChoices, n)
		}
	}
	if s.TopK != nil {
		o.TopK = *s.TopK
	}
	if s.MinP != nil {
		o.MinP = float32(*s.MinP)
	}
	if s.RepeatPenalty != nil {
		o.RepeatPenalty = float32(*s.RepeatPenalty)
	}
	if s.StreamOptions != nil && !s.Stream {
		return o, 0, invalid("stream_options", "stream_options is only allowed when stream is true")
	}
	return o, n, nil
}

func maxTokens(param string, v *int) (int, *apiError) {
	if v == nil {
		return 0, nil
	}
	if *v < 0 {
		return 0, invalid(param, "%s must be >= 0, got %d", param, *v)
	}
	// 0 is read as "no limit but the context", which is also what an
	// absent field means, rather than as a request for nothing.
	return *v, nil
}

// messages converts and checks a conversation.
func (r *chatRequest) messages() ([]bitnet.Message, *apiError) {
	if r.Messages == nil {
		return nil, invalid("messages", "messages is required")
	}
	if len(r.Messages) == 0 {
		return nil, invalid("messages", "messages must not be empty")
	}
	out := make([]bitnet.Message, len(r.Messages))
	for i, m := range r.Messages {
		param := fmt.Sprintf("messages[%d]", i)
		if m.Content.err != "" {
			return nil, invalid(param+".content", "%s: %s", param, m.Content.err)
		}
		role := m.Role
		switch role {
		case "system", "user", "assistant":
		case "developer":
			role = "system" // OpenAI's newer name for the system role
		case "":
			return nil, invalid(param+".role", "%s.role is required", param)
		default:
			return nil, invalid(param+".role", "%s.role %q is not supported; use system, user or assistant", param, m.Role)
		}
		out[i] = bitnet.Message{Role: role, Content: m.Content.text}
	}
	return out, nil
}

// Response types, in OpenAI's shapes.

type usage struct {
	PromptTokens            int           `json:"prompt_tokens"`
	CompletionTokens        int           `json:"completion_tokens"`
	TotalTokens             int           `json:"total_tokens"`
	PromptTokensDetails     promptDetails `json:"prompt_tokens_details"`
	CompletionTokensDetails complDetails  `json:"completion_tokens_details"`
}

type promptDetails struct {
	CachedTokens int `json:"cached_tokens"`
}

type complDetails struct {
	ReasoningTokens int `json:"reasoning_tokens"`
}

type chatCompletion struct {
	ID                string       `json:"id"`
	Object            string       `json:"object"`
	Created           int64        `json:"created"`
	Model             string       `json:"model"`
	SystemFingerprint string       `json:"system_fingerprint"`
	Choices           []chatChoice `json:"choices"`
	Usage             *usage       `json:"usage,omitempty"`
}

type chatChoice struct {
	Index        int           `json:"index"`
	Message      chatOut       `json:"message"`
	Logprobs     *chatLogprobs `json:"logprobs"`
	FinishReason string        `json:"finish_reason"`
}

type chatOut struct {
	Role    string  `json:"role"`
	Content string  `json:"content"`
	Refusal *string `json:"refusal"`
}

type chatChunk struct {
	ID                string            `json:"id"`
	Object            string            `json:"object"`
	Created           int64             `json:"created"`
	Model             string            `json:"model"`
	SystemFingerprint string            `json:"system_fingerprint"`
	Choices           []chatChunkChoice `json:"choices"`
	// Usage is null on every chunk but the last when include_usage is
	// set, and absent otherwise, as OpenAI sends it.
	Usage any `json:"usage,omitempty"`
}

type chatChunkChoice struct {
	Index        int           `json:"index"`
	Delta        chatDelta     `json:"delta"`
	Logprobs     *chatLogprobs `json:"logprobs"`
	FinishReason *string       `json:"finish_reason"`
}

type chatDelta struct {
	Role    string  `json:"role,omitempty"`
	Content *string `json:"content,omitempty"`
}

type chatLogprobs struct {
	Content []logprobEntry `json:"content"`
	Refusal []logprobEntry `json:"refusal"`
}

type logprobEntry struct {
	Token       string       `json:"token"`
	Logprob     float64      `json:"logprob"`
	Bytes       []int        `json:"bytes"`
	TopLogprobs []topLogprob `json:"top_logprobs"`
}

type topLogprob struct {
	Token   string  `json:"token"`
	Logprob float64 `json:"logprob"`
	Bytes   []int   `json:"bytes"`
}

type completion struct {
	ID                string             `json:"id"`
	Object            string             `json:"object"`
	Created           int64              `json:"created"`
	Model             string             `json:"model"`
	SystemFingerprint string             `json:"system_fingerprint"`
	Choices           []completionChoice `json:"choices"`
	Usage             any                `json:"usage,omitempty"`
}

type completionChoice struct {
	Text         string              `json:"text"`
	Index        int                 `json:"index"`
	Logprobs     *completionLogprobs `json:"logprobs"`
	FinishReason *string             `json:"finish_reason"`
}

type completionLogprobs struct {
	Tokens        []string             `json:"tokens"`
	TokenLogprobs []float64            `json:"token_logprobs"`
	TopLogprobs   []map[string]float64 `json:"top_logprobs"`
	TextOffset    []int                `json:"text_offset"`
}

func byteList(s string) []int {
	out := make([]int, len(s))
	for i := range len(s) {
		out[i] = int(s[i])
	}
	return out
}

// logprob converts for JSON, which has no -Inf: a banned alternative is
// reported as the most negative finite value instead of breaking encoding.
func logprob(v float32) float64 {
	if math.IsInf(float64(v), -1) || v != v {
		return -math.MaxFloat32
	}
	return float64(v)
}
