package bitnet_test

import (
	"context"
	"fmt"
	"log"
	"strings"

	"github.com/bitnet-go/bitnet"
)

// Generate streams tokens as they are produced; the last element carries
// the result.
func ExampleModel_Generate() {
	ctx := context.Background()
	eng, err := bitnet.NewEngine(bitnet.Options{})
	if err != nil {
		log.Fatal(err)
	}
	defer eng.Close()
	m, err := eng.Load(ctx, "") // the built-in bitnet-tiny model
	if err != nil {
		log.Fatal(err)
	}
	var text strings.Builder
	for tok, err := range m.Generate(ctx, "Once upon a time", bitnet.GenerateOptions{MaxTokens: 12}) {
		if err != nil {
			log.Fatal(err)
		}
		text.WriteString(tok.Text)
		if tok.Final != nil {
			fmt.Println(tok.Final.GenTokens, "tokens,", tok.Final.FinishReason)
		}
	}
	fmt.Println(text.String())
	// Output:
	// 12 tokens, length
	// , there was a little girl named Lily. She loved to
}

// GenerateBatch runs several prompts through shared forward passes.
func ExampleModel_GenerateBatch() {
	ctx := context.Background()
	eng, _ := bitnet.NewEngine(bitnet.Options{})
	defer eng.Close()
	m, _ := eng.Load(ctx, "")
	res, err := m.GenerateBatch(ctx, []string{"Once upon a time", "Sara had a big red ball. She"}, bitnet.GenerateOptions{MaxTokens: 10, Stop: []string{"."}})
	if err != nil {
		log.Fatal(err)
	}
	for _, r := range res {
		fmt.Printf("%q %s\n", r.Text, r.FinishReason)
	}
	// Output:
	// ", there was a little girl named Lily" stop
	// " liked to play with her toys and play with her" length
}

// Chat renders the conversation with the model's chat template. A Session
// keeps the KV cache, so the next turn only computes the new tokens.
func ExampleModel_Chat() {
	ctx := context.Background()
	eng, _ := bitnet.NewEngine(bitnet.Options{})
	defer eng.Close()
	m, _ := eng.Load(ctx, "")
	session := bitnet.NewSession()
	msgs := []bitnet.Message{{Role: "user", Content: "Tell me a story."}}
	res, err := bitnet.Collect(m.Chat(ctx, msgs, bitnet.GenerateOptions{MaxTokens: 10, Session: session}))
	if err != nil {
		log.Fatal(err)
	}
	prompt, _, _ := m.ChatPrompt(msgs)
	fmt.Printf("%q\n", prompt)
	msgs = append(msgs, bitnet.Message{Role: "assistant", Content: res.Text}, bitnet.Message{Role: "user", Content: "More!"})
	res, err = bitnet.Collect(m.Chat(ctx, msgs, bitnet.GenerateOptions{MaxTokens: 10, Session: session}))
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(res.CachedTokens > 0)
	// Output:
	// "<|begin_of_text|>User: Tell me a story.<|eot_id|>Assistant: "
	// true
}

// Options configure the engine; here a half-precision KV cache, which
// halves the memory each position of a context takes.
func ExampleOptions() {
	ctx := context.Background()
	eng, err := bitnet.NewEngine(bitnet.Options{Threads: 2, KVType: "f16"})
	if err != nil {
		log.Fatal(err)
	}
	defer eng.Close()
	m, err := eng.Load(ctx, "")
	if err != nil {
		log.Fatal(err)
	}
	in, err := m.Info()
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(in.KVType, "cache:", in.KVBytesPerToken, "bytes per position")
	var text strings.Builder
	for tok, err := range m.Generate(ctx, "Once upon a time", bitnet.GenerateOptions{MaxTokens: 12}) {
		if err != nil {
			log.Fatal(err)
		}
		text.WriteString(tok.Text)
	}
	fmt.Println(text.String())
	// Output:
	// f16 cache: 1024 bytes per position
	// , there was a little girl named Lily. She loved to
}
