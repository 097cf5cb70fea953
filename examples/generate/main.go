// Command generate prints a greedy continuation of a prompt.
//
//	go run ./examples/generate -m microsoft/bitnet-b1.58-2B-4T "The capital of France is"
package main

import (
	"context"
	"flag"
	"fmt"
	"log"
	"strings"

	"github.com/bitnet-go/bitnet"
)

func main() {
	model := flag.String("m", "", "model folder, .gguf file or Hub repo (default: built-in)")
	n := flag.Int("n", 32, "tokens to generate")
	flag.Parse()
	prompt := strings.Join(flag.Args(), " ")
	if prompt == "" {
		prompt = "Once upon a time"
	}
	ctx := context.Background()
	eng, err := bitnet.NewEngine(bitnet.Options{})
	if err != nil {
		log.Fatal(err)
	}
	defer eng.Close()
	m, err := eng.Load(ctx, *model)
	if err != nil {
		log.Fatal(err)
	}
	res, err := bitnet.Collect(m.Generate(ctx, prompt, bitnet.GenerateOptions{MaxTokens: *n}))
	if err != nil {
		log.Fatal(err)
	}
	fmt.Printf("%s%s\n(%d tokens, %s, %.1f tok/s)\n", prompt, res.Text, res.GenTokens, res.FinishReason,
		float64(res.GenTokens)/res.GenTime.Seconds())
}
