// Command batch generates for several prompts at once: they share every
// forward pass through the engine's continuous batching.
package main

import (
	"context"
	"fmt"
	"log"

	"github.com/bitnet-go/bitnet"
)

func main() {
	ctx := context.Background()
	eng, err := bitnet.NewEngine(bitnet.Options{Slots: 8})
	if err != nil {
		log.Fatal(err)
	}
	defer eng.Close()
	m, err := eng.Load(ctx, "")
	if err != nil {
		log.Fatal(err)
	}
	prompts := []string{"Once upon a time", "The cat was very hungry. She", "Lily and her mom went to the store.", "Sara had a big red ball. She"}
	results, err := m.GenerateBatch(ctx, prompts, bitnet.GenerateOptions{MaxTokens: 24})
	if err != nil {
		log.Fatal(err)
	}
	for i, r := range results {
		if r.Err != nil {
			fmt.Printf("%d: error: %v\n", i, r.Err)
			continue
		}
		fmt.Printf("%d: %s%s\n", i, prompts[i], r.Text)
	}
	s := eng.Stats()
	for _, ms := range s.Models {
		fmt.Printf("%s: %d requests, %d tokens, %.1f tok/s per sequence\n", ms.Name, ms.Requests, ms.GenTokens, ms.TokensPerSec)
	}
}
