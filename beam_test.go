package bitnet

import (
	"context"
	"slices"
	"testing"
)

// With one hypothesis beam search is greedy decoding, and with several it
// is deterministic and finds a continuation at least as likely as greedy
// on this model's prompts.
func TestBeamSearch(t *testing.T) {
	ctx := context.Background()
	eng, err := NewEngine(Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer eng.Close()
	m, err := eng.Load(ctx, "")
	if err != nil {
		t.Fatal(err)
	}
	greedy, err := Collect(m.Generate(ctx, "Once upon a time", GenerateOptions{MaxTokens: 12}))
	if err != nil {
		t.Fatal(err)
	}
	var one Result
	err = m.use(func(st *state) error {
		m.beamSearch(ctx, st, greedy.PromptIDs, GenerateOptions{MaxTokens: 12, Beams: 1}, st.stops, func(tok Token, err error) bool {
			if err != nil {
				t.Fatal(err)
			}
			if tok.Final != nil {
				one = *tok.Final
			}
			return true
		})
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(one.IDs, greedy.IDs) || one.Text != greedy.Text {
		t.Fatalf("1 beam: %v %q; greedy: %v %q", one.IDs, one.Text, greedy.IDs, greedy.Text)
	}
	a, err := Collect(m.Generate(ctx, "Once upon a time", GenerateOptions{MaxTokens: 12, Beams: 4}))
	if err != nil {
		t.Fatal(err)
	}
	b, _ := Collect(m.Generate(ctx, "Once upon a time", GenerateOptions{MaxTokens: 12, Beams: 4}))
	if !slices.Equal(a.IDs, b.IDs) || len(a.IDs) == 0 || a.Text == "" {
		t.Fatalf("4 beams not deterministic: %v vs %v", a.IDs, b.IDs)
	}
	t.Logf("greedy %q, 4 beams %q", greedy.Text, a.Text)
	if _, err := Collect(m.Generate(ctx, "x", GenerateOptions{Beams: 2, Session: NewSession()})); err == nil {
		t.Error("beams with a session accepted")
	}
}
