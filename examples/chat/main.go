// Command chat keeps a conversation: each turn goes through the model's chat
// template, and a Session keeps the KV cache so earlier turns are not
// recomputed.
package main

import (
	"bufio"
	"context"
	"fmt"
	"log"
	"os"

	"github.com/bitnet-go/bitnet"
)

func main() {
	ctx := context.Background()
	eng, err := bitnet.NewEngine(bitnet.Options{})
	if err != nil {
		log.Fatal(err)
	}
	defer eng.Close()
	m, err := eng.Load(ctx, "")
	if err != nil {
		log.Fatal(err)
	}
	session := bitnet.NewSession()
	history := []bitnet.Message{{Role: "system", Content: "You tell short stories."}}
	in := bufio.NewScanner(os.Stdin)
	for fmt.Print("> "); in.Scan(); fmt.Print("> ") {
		history = append(history, bitnet.Message{Role: "user", Content: in.Text()})
		var reply string
		for tok, err := range m.Chat(ctx, history, bitnet.GenerateOptions{MaxTokens: 128, Temperature: 0.7, Session: session}) {
			if err != nil {
				log.Fatal(err)
			}
			fmt.Print(tok.Text)
			reply += tok.Text
			if tok.Final != nil {
				fmt.Printf("\n[%d prompt tokens reused]\n", tok.Final.CachedTokens)
			}
		}
		history = append(history, bitnet.Message{Role: "assistant", Content: reply})
	}
}
