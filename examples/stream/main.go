// Command stream prints tokens as they are generated, with sampling, and
// stops cleanly on Ctrl-C.
package main

import (
	"context"
	"fmt"
	"log"
	"os"
	"os/signal"

	"github.com/bitnet-go/bitnet"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	eng, err := bitnet.NewEngine(bitnet.Options{})
	if err != nil {
		log.Fatal(err)
	}
	defer eng.Close()
	m, err := eng.Load(ctx, "")
	if err != nil {
		log.Fatal(err)
	}
	seed := uint64(42)
	opts := bitnet.GenerateOptions{MaxTokens: 200, Temperature: 0.8, TopK: 40, TopP: 0.95, MinP: 0.05, Seed: &seed, Stop: []string{"The end"}}
	for tok, err := range m.Generate(ctx, "One day, a little boy named Tim", opts) {
		if err != nil {
			log.Fatal(err) // includes context.Canceled after Ctrl-C
		}
		fmt.Print(tok.Text)
		if tok.Final != nil {
			fmt.Printf("\n[%s after %d tokens]\n", tok.Final.FinishReason, tok.Final.GenTokens)
		}
	}
}
