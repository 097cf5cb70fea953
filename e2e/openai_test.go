package e2e

import (
	"errors"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/openai/openai-go/v3"
	"github.com/openai/openai-go/v3/option"

	"github.com/bitnet-go/bitnet"
	"github.com/bitnet-go/bitnet/internal/server/servertest"
)

func newClient(inst *servertest.Instance, opts ...option.RequestOption) openai.Client {
	return openai.NewClient(append([]option.RequestOption{
		option.WithBaseURL(inst.URL + "/v1/"),
		option.WithAPIKey("unused"),
		// Retries would hide a 429 or 5xx this suite should see.
		option.WithMaxRetries(0),
	}, opts...)...)
}

// greedy is what the server's temperature 0 must reproduce: the public
// API's zero options, which is also what `bitnet run --temperature 0` uses.
func greedy(t *testing.T, m *bitnet.Model, prompt string, maxTokens int) bitnet.Result {
	t.Helper()
	r, err := bitnet.Collect(m.Generate(t.Context(), prompt, bitnet.GenerateOptions{MaxTokens: maxTokens}))
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func greedyChat(t *testing.T, m *bitnet.Model, msgs []bitnet.Message, maxTokens int) bitnet.Result {
	t.Helper()
	r, err := bitnet.Collect(m.Chat(t.Context(), msgs, bitnet.GenerateOptions{MaxTokens: maxTokens}))
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func TestChatCompletions(t *testing.T) {
	inst := servertest.Start(t, servertest.Options{Slots: 4})
	client := newClient(inst)
	ctx := t.Context()
	conv := []bitnet.Message{
		{Role: "system", Content: "You tell short stories."},
		{Role: "user", Content: "Tell me about a cat and a dog."},
	}
	for _, maxTokens := range []int{48, 0} {
		t.Run(fmt.Sprintf("max_tokens=%d", maxTokens), func(t *testing.T) {
			want := greedyChat(t, inst.Model, conv, maxTokens)
			params := openai.ChatCompletionNewParams{
				Model:       "bitnet-tiny",
				Messages:    []openai.ChatCompletionMessageParamUnion{openai.SystemMessage(conv[0].Content), openai.UserMessage(conv[1].Content)},
				Temperature: openai.Float(0),
			}
			if maxTokens > 0 {
				params.MaxTokens = openai.Int(int64(maxTokens))
			}

			res, err := client.Chat.Completions.New(ctx, params)
			if err != nil {
				t.Fatal(err)
			}
			if !strings.HasPrefix(res.ID, "chatcmpl-") || res.Object != "chat.completion" || res.Model != "bitnet-tiny" || res.Created == 0 {
				t.Errorf("envelope: id %q object %q model %q created %d", res.ID, res.Object, res.Model, res.Created)
			}
			if len(res.Choices) != 1 {
				t.Fatalf("%d choices", len(res.Choices))
			}
			c := res.Choices[0]
			if c.Message.Content != want.Text || c.FinishReason != want.FinishReason || c.Message.Role != "assistant" {
				t.Errorf("got %q (%s), want %q (%s)", c.Message.Content, c.FinishReason, want.Text, want.FinishReason)
			}
			wantUsage := [3]int64{int64(want.PromptTokens), int64(want.GenTokens), int64(want.PromptTokens + want.GenTokens)}
			if got := [3]int64{res.Usage.PromptTokens, res.Usage.CompletionTokens, res.Usage.TotalTokens}; got != wantUsage {
				t.Errorf("usage %v, want %v", got, wantUsage)
			}

			params.StreamOptions = openai.ChatCompletionStreamOptionsParam{IncludeUsage: openai.Bool(true)}
			stream := client.Chat.Completions.NewStreaming(ctx, params)
			var acc openai.ChatCompletionAccumulator
			chunks := 0
			for stream.Next() {
				if !acc.AddChunk(stream.Current()) {
					t.Fatalf("the SDK rejected chunk %d: %s", chunks, stream.Current().RawJSON())
				}
				chunks++
			}
			if err := stream.Err(); err != nil {
				t.Fatal(err)
			}
			if got := acc.Choices[0].Message.Content; got != want.Text {
				t.Errorf("streamed %q, want %q", got, want.Text)
			}
			if acc.Choices[0].FinishReason != want.FinishReason {
				t.Errorf("streamed finish %q, want %q", acc.Choices[0].FinishReason, want.FinishReason)
			}
			if got := [3]int64{acc.Usage.PromptTokens, acc.Usage.CompletionTokens, acc.Usage.TotalTokens}; got != wantUsage {
				t.Errorf("streamed usage %v, want %v", got, wantUsage)
			}
			if chunks < 4 {
				t.Errorf("only %d chunks: the reply was not streamed", chunks)
			}
		})
	}
}

func TestCompletions(t *testing.T) {
	inst := servertest.Start(t, servertest.Options{Slots: 4})
	client := newClient(inst)
	ctx := t.Context()
	const prompt = "Once upon a time"
	want := greedy(t, inst.Model, prompt, 32)
	params := openai.CompletionNewParams{
		Model:       "bitnet-tiny",
		Prompt:      openai.CompletionNewParamsPromptUnion{OfString: openai.String(prompt)},
		MaxTokens:   openai.Int(32),
		Temperature: openai.Float(0),
	}
	res, err := client.Completions.New(ctx, params)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(res.ID, "cmpl-") || res.Object != "text_completion" || len(res.Choices) != 1 {
		t.Fatalf("envelope: %s", res.RawJSON())
	}
	if c := res.Choices[0]; c.Text != want.Text || string(c.FinishReason) != want.FinishReason {
		t.Errorf("got %q (%s), want %q (%s)", c.Text, c.FinishReason, want.Text, want.FinishReason)
	}
	if res.Usage.PromptTokens != int64(want.PromptTokens) || res.Usage.CompletionTokens != int64(want.GenTokens) {
		t.Errorf("usage %+v, want %d+%d", res.Usage, want.PromptTokens, want.GenTokens)
	}

	params.StreamOptions = openai.ChatCompletionStreamOptionsParam{IncludeUsage: openai.Bool(true)}
	stream := client.Completions.NewStreaming(ctx, params)
	var text strings.Builder
	var finish string
	var usage openai.CompletionUsage
	chunks := 0
	for stream.Next() {
		ch := stream.Current()
		chunks++
		for _, c := range ch.Choices {
			text.WriteString(c.Text)
			if c.FinishReason != "" {
				finish = string(c.FinishReason)
			}
		}
		if ch.Usage.TotalTokens > 0 {
			usage = ch.Usage
		}
	}
	if err := stream.Err(); err != nil {
		t.Fatal(err)
	}
	if text.String() != want.Text || finish != want.FinishReason {
		t.Errorf("streamed %q (%s), want %q (%s)", text.String(), finish, want.Text, want.FinishReason)
	}
	if usage.CompletionTokens != int64(want.GenTokens) || usage.PromptTokens != int64(want.PromptTokens) {
		t.Errorf("streamed usage %+v", usage)
	}
	if chunks < 4 {
		t.Errorf("only %d chunks", chunks)
	}
}

// Several prompts times n give prompts*n choices, in prompt-major order,
// all generated together.
func TestCompletionsPromptsTimesN(t *testing.T) {
	inst := servertest.Start(t, servertest.Options{Slots: 4})
	client := newClient(inst)
	prompts := []string{"Once upon a time", "The little dog"}
	res, err := client.Completions.New(t.Context(), openai.CompletionNewParams{
		Model:       "bitnet-tiny",
		Prompt:      openai.CompletionNewParamsPromptUnion{OfArrayOfStrings: prompts},
		MaxTokens:   openai.Int(16),
		Temperature: openai.Float(0),
		N:           openai.Int(2),
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Choices) != 4 {
		t.Fatalf("%d choices, want 4", len(res.Choices))
	}
	promptTokens := 0
	for i, p := range prompts {
		want := greedy(t, inst.Model, p, 16)
		promptTokens += want.PromptTokens
		for j := range 2 {
			c := res.Choices[i*2+j]
			if c.Index != int64(i*2+j) || c.Text != want.Text {
				t.Errorf("choice %d: index %d text %q, want %q", i*2+j, c.Index, c.Text, want.Text)
			}
		}
	}
	if res.Usage.PromptTokens != int64(promptTokens) {
		t.Errorf("prompt tokens %d, want %d", res.Usage.PromptTokens, promptTokens)
	}
}

func TestChatLogprobs(t *testing.T) {
	inst := servertest.Start(t, servertest.Options{Slots: 2})
	client := newClient(inst)
	res, err := client.Chat.Completions.New(t.Context(), openai.ChatCompletionNewParams{
		Model:       "bitnet-tiny",
		Messages:    []openai.ChatCompletionMessageParamUnion{openai.UserMessage("Tell me a story.")},
		Temperature: openai.Float(0),
		MaxTokens:   openai.Int(12),
		Logprobs:    openai.Bool(true),
		TopLogprobs: openai.Int(3),
	})
	if err != nil {
		t.Fatal(err)
	}
	c := res.Choices[0]
	var joined strings.Builder
	for i, e := range c.Logprobs.Content {
		joined.WriteString(e.Token)
		if len(e.TopLogprobs) != 3 {
			t.Fatalf("token %d: %d alternatives", i, len(e.TopLogprobs))
		}
		// Greedy picks the most likely token, which leads the list.
		if e.Token != e.TopLogprobs[0].Token || e.Logprob != e.TopLogprobs[0].Logprob || e.Logprob > 0 {
			t.Errorf("token %d: %q %v, top %q %v", i, e.Token, e.Logprob, e.TopLogprobs[0].Token, e.TopLogprobs[0].Logprob)
		}
		if string(int64sToBytes(e.Bytes)) != e.Token {
			t.Errorf("token %d: bytes %v for %q", i, e.Bytes, e.Token)
		}
	}
	if joined.String() != c.Message.Content {
		t.Errorf("tokens join to %q, content is %q", joined.String(), c.Message.Content)
	}
}

func int64sToBytes(v []int64) []byte {
	b := make([]byte, len(v))
	for i, x := range v {
		b[i] = byte(x)
	}
	return b
}

// The SDK must be able to read the server's errors as its own.
func TestSDKErrors(t *testing.T) {
	inst := servertest.Start(t, servertest.Options{Slots: 1, APIKey: "k"})
	anon := newClient(inst)
	_, err := anon.Models.List(t.Context())
	var apiErr *openai.Error
	if !errors.As(err, &apiErr) || apiErr.StatusCode != http.StatusUnauthorized || apiErr.Code != "invalid_api_key" {
		t.Fatalf("no key: %v", err)
	}
	client := newClient(inst, option.WithAPIKey("k"))
	page, err := client.Models.List(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]string{"bitnet-tiny"}, modelIDs(page.Data)); diff != "" {
		t.Errorf("models (-want +got):\n%s", diff)
	}
	_, err = client.Chat.Completions.New(t.Context(), openai.ChatCompletionNewParams{
		Model:    "gpt-4o",
		Messages: []openai.ChatCompletionMessageParamUnion{openai.UserMessage("hi")},
	})
	if !errors.As(err, &apiErr) || apiErr.StatusCode != http.StatusNotFound || apiErr.Code != "model_not_found" || apiErr.Param != "model" {
		t.Fatalf("unknown model: %v", err)
	}
}

func modelIDs(ms []openai.Model) []string {
	var ids []string
	for _, m := range ms {
		ids = append(ids, m.ID)
	}
	return ids
}

// Sixteen streams at once share the engine's batches (and its queue); with
// greedy decoding each must still get exactly the text it gets alone.
func TestConcurrentStreamsMatchAlone(t *testing.T) {
	inst := servertest.Start(t, servertest.Options{Slots: 8, Queue: 16})
	client := newClient(inst)
	subjects := []string{"cat", "dog", "bird", "fish", "girl", "boy", "king", "frog",
		"tree", "ball", "bear", "car", "sun", "cake", "mouse", "duck"}
	const maxTokens = 40
	stream := func(i int) (string, string, int64, error) {
		s := client.Chat.Completions.NewStreaming(t.Context(), openai.ChatCompletionNewParams{
			Model:         "bitnet-tiny",
			Messages:      []openai.ChatCompletionMessageParamUnion{openai.UserMessage("Tell me a story about a " + subjects[i] + ".")},
			Temperature:   openai.Float(0),
			MaxTokens:     openai.Int(maxTokens),
			StreamOptions: openai.ChatCompletionStreamOptionsParam{IncludeUsage: openai.Bool(true)},
		})
		var acc openai.ChatCompletionAccumulator
		for s.Next() {
			acc.AddChunk(s.Current())
		}
		if err := s.Err(); err != nil {
			return "", "", 0, err
		}
		return acc.Choices[0].Message.Content, acc.Choices[0].FinishReason, acc.Usage.CompletionTokens, nil
	}
	type out struct {
		text, finish string
		tokens       int64
	}
	alone := make([]out, len(subjects))
	for i := range subjects {
		text, finish, n, err := stream(i)
		if err != nil {
			t.Fatal(err)
		}
		alone[i] = out{text, finish, n}
	}
	together := make([]out, len(subjects))
	errs := make([]error, len(subjects))
	var wg sync.WaitGroup
	start := make(chan struct{})
	for i := range subjects {
		wg.Go(func() {
			<-start
			text, finish, n, err := stream(i)
			together[i], errs[i] = out{text, finish, n}, err
		})
	}
	close(start)
	wg.Wait()
	for i := range subjects {
		if errs[i] != nil {
			t.Errorf("stream %d: %v", i, errs[i])
			continue
		}
		if together[i] != alone[i] {
			t.Errorf("stream %d (%s) differs when batched:\n alone    %+v\n together %+v", i, subjects[i], alone[i], together[i])
		}
	}
}

// n streamed choices arrive interleaved, each tagged with its index; the
// SDK's accumulator must put each back together.
func TestChatStreamN(t *testing.T) {
	inst := servertest.Start(t, servertest.Options{Slots: 4})
	client := newClient(inst)
	const q = "Tell me a story about a frog."
	want := greedyChat(t, inst.Model, []bitnet.Message{{Role: "user", Content: q}}, 24)
	s := client.Chat.Completions.NewStreaming(t.Context(), openai.ChatCompletionNewParams{
		Messages:    []openai.ChatCompletionMessageParamUnion{openai.UserMessage(q)},
		Temperature: openai.Float(0),
		MaxTokens:   openai.Int(24),
		N:           openai.Int(3),
	})
	var acc openai.ChatCompletionAccumulator
	for s.Next() {
		acc.AddChunk(s.Current())
	}
	if err := s.Err(); err != nil {
		t.Fatal(err)
	}
	if len(acc.Choices) != 3 {
		t.Fatalf("%d choices", len(acc.Choices))
	}
	for i, c := range acc.Choices {
		if c.Message.Content != want.Text || c.FinishReason != want.FinishReason {
			t.Errorf("choice %d: %q (%s), want %q (%s)", i, c.Message.Content, c.FinishReason, want.Text, want.FinishReason)
		}
	}
}

// A seed makes sampling repeatable across requests.
func TestSeedRepeats(t *testing.T) {
	inst := servertest.Start(t, servertest.Options{Slots: 2})
	client := newClient(inst)
	ask := func(seed int64) string {
		res, err := client.Completions.New(t.Context(), openai.CompletionNewParams{
			Model:       "bitnet-tiny",
			Prompt:      openai.CompletionNewParamsPromptUnion{OfString: openai.String("Once upon a time")},
			MaxTokens:   openai.Int(24),
			Temperature: openai.Float(1),
			TopP:        openai.Float(0.95),
			Seed:        openai.Int(seed),
		})
		if err != nil {
			t.Fatal(err)
		}
		return res.Choices[0].Text
	}
	if a, b := ask(42), ask(42); a != b {
		t.Errorf("seed 42 gave %q, then %q", a, b)
	}
}
