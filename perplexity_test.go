package bitnet_test

import (
	"context"
	"encoding/json"
	"math"
	"os"
	"testing"

	"github.com/bitnet-go/bitnet"
)

func TestPerplexityMatchesReference(t *testing.T) {
	if testing.Short() {
		t.Skip("scores 27k tokens")
	}
	var ref struct {
		PPL          float64 `json:"ppl"`
		Chunks       int     `json:"chunks"`
		ScoredTokens int     `json:"scored_tokens"`
		Tokens       int     `json:"text_tokens_with_bos"`
	}
	b, err := os.ReadFile("testdata/models/bitnet-tiny/perplexity.json")
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, &ref); err != nil {
		t.Fatal(err)
	}
	text, err := os.ReadFile("testdata/models/bitnet-tiny/val.txt")
	if err != nil {
		t.Fatal(err)
	}
	eng, err := bitnet.NewEngine(bitnet.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer eng.Close()
	m, err := eng.Load(context.Background(), "")
	if err != nil {
		t.Fatal(err)
	}
	res, err := m.Perplexity(context.Background(), string(text), 256, nil)
	if err != nil {
		t.Fatal(err)
	}
	if res.Chunks != ref.Chunks || res.ScoredTokens != ref.ScoredTokens || res.TextTokens != ref.Tokens {
		t.Errorf("got %d chunks, %d scored, %d tokens; want %d, %d, %d", res.Chunks, res.ScoredTokens, res.TextTokens, ref.Chunks, ref.ScoredTokens, ref.Tokens)
	}
	if rel := math.Abs(res.PPL-ref.PPL) / ref.PPL; rel > 0.005 {
		t.Errorf("ppl %.4f, reference %.4f (%.2f%% off)", res.PPL, ref.PPL, 100*rel)
	}
	t.Logf("ppl %.4f, reference %.4f", res.PPL, ref.PPL)
}
