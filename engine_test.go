package bitnet_test

import (
	"context"
	"iter"
	"os"
	"path/filepath"
	"testing"

	"github.com/bitnet-go/bitnet"
)

// copyModel copies the built-in model's folder so that the engine sees a
// distinct model.
func copyModel(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	src := "internal/embedded/tiny"
	entries, err := os.ReadDir(src)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		b, err := os.ReadFile(filepath.Join(src, e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, e.Name()), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

func loadedNames(e *bitnet.Engine) map[string]bool {
	out := map[string]bool{}
	for _, m := range e.Loaded() {
		out[m.Path()] = true
	}
	return out
}

func TestLRUEvictsIdleNeverBusy(t *testing.T) {
	ctx := context.Background()
	a, b, c := copyModel(t), copyModel(t), copyModel(t)
	fi, err := os.Stat(filepath.Join(a, "model.safetensors"))
	if err != nil {
		t.Fatal(err)
	}
	// Room for about two models.
	eng, err := bitnet.NewEngine(bitnet.Options{MemoryBudget: 2*fi.Size() + fi.Size()/2})
	if err != nil {
		t.Fatal(err)
	}
	defer eng.Close()
	ma, err := eng.Load(ctx, a)
	if err != nil {
		t.Fatal(err)
	}
	mb, err := eng.Load(ctx, b)
	if err != nil {
		t.Fatal(err)
	}
	if got := loadedNames(eng); !got[ma.Path()] || !got[mb.Path()] {
		t.Fatalf("loaded %v, want a and b", got)
	}
	// Use a so that b is the least recently used, then load c: b goes.
	if _, err := bitnet.Collect(ma.Generate(ctx, "Once", bitnet.GenerateOptions{MaxTokens: 1})); err != nil {
		t.Fatal(err)
	}
	mc, err := eng.Load(ctx, c)
	if err != nil {
		t.Fatal(err)
	}
	if got := loadedNames(eng); got[mb.Path()] || !got[ma.Path()] || !got[mc.Path()] {
		t.Fatalf("after loading c: %v, want a and c", got)
	}
	// An unloaded model reloads when used.
	if _, err := bitnet.Collect(mb.Generate(ctx, "Once", bitnet.GenerateOptions{MaxTokens: 1})); err != nil {
		t.Fatal(err)
	}
	if !loadedNames(eng)[mb.Path()] {
		t.Fatal("b did not reload")
	}

	// A model in the middle of a generation is never evicted: hold a's
	// stream open, then make every other model load.
	next, stop := iter.Pull2(ma.Generate(ctx, "Once upon a time", bitnet.GenerateOptions{MaxTokens: 64}))
	defer stop()
	if _, err, ok := next(); !ok || err != nil {
		t.Fatalf("first token: %v", err)
	}
	for _, m := range []*bitnet.Model{mb, mc, mb, mc} {
		if _, err := bitnet.Collect(m.Generate(ctx, "Once", bitnet.GenerateOptions{MaxTokens: 1})); err != nil {
			t.Fatal(err)
		}
		if !loadedNames(eng)[ma.Path()] {
			t.Fatal("the model that is generating was unloaded")
		}
	}
	for {
		tok, err, ok := next()
		if !ok || err != nil {
			t.Fatalf("stream broke: %v", err)
		}
		if tok.Final != nil {
			break
		}
	}
}
