// Command openai-client talks to `bitnet serve` with the official OpenAI Go
// SDK, streaming a chat completion.
//
//	bitnet serve &   # listens on 127.0.0.1:8080
//	go run ./examples/openai-client
package main

import (
	"context"
	"flag"
	"fmt"
	"log"

	"github.com/openai/openai-go/v3"
	"github.com/openai/openai-go/v3/option"
)

func main() {
	base := flag.String("url", "http://127.0.0.1:8080/v1", "server base URL")
	key := flag.String("key", "none", "API key, if the server was started with --api-key")
	flag.Parse()
	client := openai.NewClient(option.WithBaseURL(*base), option.WithAPIKey(*key))
	stream := client.Chat.Completions.NewStreaming(context.Background(), openai.ChatCompletionNewParams{
		Model:     "bitnet",
		Messages:  []openai.ChatCompletionMessageParamUnion{openai.UserMessage("Tell me a story about a cat.")},
		MaxTokens: openai.Int(64),
	})
	for stream.Next() {
		chunk := stream.Current()
		if len(chunk.Choices) > 0 {
			fmt.Print(chunk.Choices[0].Delta.Content)
		}
	}
	if err := stream.Err(); err != nil {
		log.Fatal(err)
	}
	fmt.Println()
}
