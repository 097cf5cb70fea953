package bitnet_test

import (
	"encoding/json"
	"math"
	"os"
	"path/filepath"
	"runtime"
	"testing"

	"github.com/bitnet-go/bitnet/internal/model"
	_ "github.com/bitnet-go/bitnet/internal/model/bitnet"
	"github.com/bitnet-go/bitnet/internal/parallel"
)

const (
	tinyDir     = "../../embedded/tiny"
	tinyBF16Dir = "../../../testdata/models/bitnet-tiny-bf16"
	tinyRef     = "../../../testdata/models/bitnet-tiny/reference.json"
)

type refVariant struct {
	LastLogits    []float32      `json:"last_logits"`
	GreedyIDs     []int32        `json:"greedy_ids"`
	GreedyMargins []float32      `json:"greedy_margins"`
	GreedyTop10   [][][2]float64 `json:"greedy_top10"`
}

type reference struct {
	Prompts []struct {
		Prompt   string     `json:"prompt"`
		InputIDs []int32    `json:"input_ids"`
		A8       refVariant `json:"w158a8"`
		Float    refVariant `json:"w158_float_act"`
	} `json:"prompts"`
}

func loadRef(t *testing.T) *reference {
	t.Helper()
	b, err := os.ReadFile(tinyRef)
	if err != nil {
		t.Fatal(err)
	}
	var r reference
	if err := json.Unmarshal(b, &r); err != nil {
		t.Fatal(err)
	}
	return &r
}

func load(t testing.TB, dir string, o model.Options) model.Model {
	t.Helper()
	m, err := model.Load(dir, o)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { m.Close() })
	return m
}

// maxRel is max|a-b| / max|b|, the agreement measure of the reference data.
func maxRel(a, b []float32) float64 {
	var d, mx float64
	for i := range b {
		d = math.Max(d, math.Abs(float64(a[i]-b[i])))
		mx = math.Max(mx, math.Abs(float64(b[i])))
	}
	return d / mx
}

func argmax(x []float32) int32 {
	best := 0
	for i, v := range x {
		if v > x[best] {
			best = i
		}
	}
	return int32(best)
}

func lastLogits(t *testing.T, m model.Model, ids []int32) []float32 {
	t.Helper()
	out, err := m.Forward([]model.Input{{Seq: m.NewCache(0), Tokens: ids}})
	if err != nil {
		t.Fatal(err)
	}
	return out[0]
}

func TestLogitsMatchReference(t *testing.T) {
	ref := loadRef(t)
	pool := parallel.New(runtime.NumCPU())
	defer pool.Close()
	for _, tc := range []struct {
		name    string
		dir     string
		float   bool
		tol     float64
		variant func(i int) []float32
	}{
		{"packed/float-act", tinyDir, true, 1e-3, func(i int) []float32 { return ref.Prompts[i].Float.LastLogits }},
		{"packed/int8", tinyDir, false, 5e-2, func(i int) []float32 { return ref.Prompts[i].A8.LastLogits }},
		{"bf16-master/float-act", tinyBF16Dir, true, 1e-3, func(i int) []float32 { return ref.Prompts[i].Float.LastLogits }},
		{"bf16-master/int8", tinyBF16Dir, false, 5e-2, func(i int) []float32 { return ref.Prompts[i].A8.LastLogits }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m := load(t, tc.dir, model.Options{Pool: pool, FloatActivations: tc.float})
			for i, p := range ref.Prompts {
				got := lastLogits(t, m, p.InputIDs)
				want := tc.variant(i)
				if r := maxRel(got, want); r > tc.tol {
					t.Errorf("prompt %d %q: max rel error %.3g > %.g", i, p.Prompt, r, tc.tol)
				} else {
					t.Logf("prompt %d: max rel error %.3g", i, r)
				}
			}
		})
	}
}

// TestGreedyMatchesReference decodes with the KV cache, one token a step,
// and compares with the reference chain up to the first step whose top-1
// margin is too small for engines with different rounding to agree on. A
// half-precision cache must agree as far.
func TestGreedyMatchesReference(t *testing.T) {
	for _, kv := range []model.KVType{model.KVF32, model.KVF16} {
		t.Run(kv.String(), func(t *testing.T) { testGreedyMatchesReference(t, kv) })
	}
}

func testGreedyMatchesReference(t *testing.T, kv model.KVType) {
	ref := loadRef(t)
	m := load(t, tinyDir, model.Options{KVType: kv})
	for i, p := range ref.Prompts {
		seq := m.NewCache(0)
		out, err := m.Forward([]model.Input{{Seq: seq, Tokens: p.InputIDs}})
		if err != nil {
			t.Fatal(err)
		}
		for s, want := range p.A8.GreedyIDs {
			got := argmax(out[0])
			if p.A8.GreedyMargins[s] < 0.05 {
				t.Logf("prompt %d: stop comparing at step %d (margin %.3f)", i, s, p.A8.GreedyMargins[s])
				break
			}
			if got != want {
				t.Fatalf("prompt %d step %d: got %d, want %d (margin %.3f)", i, s, got, want, p.A8.GreedyMargins[s])
			}
			if out, err = m.Forward([]model.Input{{Seq: seq, Tokens: []int32{got}}}); err != nil {
				t.Fatal(err)
			}
		}
	}
}

// TestTeacherForced feeds prompt + reference continuation in one batch and
// checks the top-1 at every step whose margin is at least 0.05, with either
// cache type.
func TestTeacherForced(t *testing.T) {
	for _, kv := range []model.KVType{model.KVF32, model.KVF16} {
		t.Run(kv.String(), func(t *testing.T) { testTeacherForced(t, kv) })
	}
}

func testTeacherForced(t *testing.T, kv model.KVType) {
	ref := loadRef(t)
	m := load(t, tinyDir, model.Options{KVType: kv})
	V := m.Config().Vocab
	for i, p := range ref.Prompts {
		ids := append(append([]int32{}, p.InputIDs...), p.A8.GreedyIDs[:len(p.A8.GreedyIDs)-1]...)
		out, err := m.Forward([]model.Input{{Seq: m.NewCache(0), Tokens: ids, AllLogits: true}})
		if err != nil {
			t.Fatal(err)
		}
		if len(out[0]) != len(ids)*V {
			t.Fatalf("got %d logits, want %d", len(out[0]), len(ids)*V)
		}
		for s, want := range p.A8.GreedyIDs {
			if p.A8.GreedyMargins[s] < 0.05 {
				continue
			}
			row := out[0][(len(p.InputIDs)-1+s)*V : (len(p.InputIDs)+s)*V]
			if got := argmax(row); got != want {
				t.Errorf("prompt %d step %d: top-1 %d, want %d (margin %.3f)", i, s, got, want, p.A8.GreedyMargins[s])
			}
		}
	}
}

// TestBatchEqualsSingle advances several sequences of different lengths in
// one call and checks each equals running it alone.
func TestBatchEqualsSingle(t *testing.T) {
	ref := loadRef(t)
	pool := parallel.New(2)
	defer pool.Close()
	m := load(t, tinyDir, model.Options{Pool: pool})
	var batch []model.Input
	for _, p := range ref.Prompts {
		batch = append(batch, model.Input{Seq: m.NewCache(0), Tokens: p.InputIDs})
	}
	got, err := m.Forward(batch)
	if err != nil {
		t.Fatal(err)
	}
	// One decode step for all, each at its own position.
	next := make([]model.Input, len(batch))
	for i := range batch {
		next[i] = model.Input{Seq: batch[i].Seq, Tokens: []int32{argmax(got[i])}}
	}
	got2, err := m.Forward(next)
	if err != nil {
		t.Fatal(err)
	}
	for i, p := range ref.Prompts {
		seq := m.NewCache(0)
		want, _ := m.Forward([]model.Input{{Seq: seq, Tokens: p.InputIDs}})
		if r := maxRel(got[i], want[0]); r != 0 {
			t.Errorf("prompt %d: batched prefill differs from single by %.3g", i, r)
		}
		want2, _ := m.Forward([]model.Input{{Seq: seq, Tokens: []int32{argmax(want[0])}}})
		if r := maxRel(got2[i], want2[0]); r != 0 {
			t.Errorf("prompt %d: batched decode differs from single by %.3g", i, r)
		}
	}
}

// TestPrefillEqualsDecode runs a prompt in one pass, where attention takes
// blocks of consecutive tokens together, and one token at a time: every
// token's logits must be the same, bit for bit, with either cache type.
// A prompt's logits are those of decoding it token by token, bit for bit,
// for both cache types, whether it is prefilled in one piece or in two
// (the second attending over a cache the first wrote). The prompt is the
// reference prompts three times over, 159 tokens, so that the attention
// kernels' vector steps, tails and prefetches all take part.
func TestPrefillEqualsDecode(t *testing.T) {
	ref := loadRef(t)
	pool := parallel.New(2)
	defer pool.Close()
	var ids []int32
	for range 3 {
		for _, p := range ref.Prompts {
			ids = append(ids, p.InputIDs...)
		}
	}
	for _, kv := range []model.KVType{model.KVF32, model.KVF16} {
		m := load(t, tinyDir, model.Options{Pool: pool, KVType: kv})
		V := m.Config().Vocab
		all, err := m.Forward([]model.Input{{Seq: m.NewCache(0), Tokens: ids, AllLogits: true}})
		if err != nil {
			t.Fatal(err)
		}
		seq := m.NewCache(0)
		for i, id := range ids {
			one, err := m.Forward([]model.Input{{Seq: seq, Tokens: []int32{id}}})
			if err != nil {
				t.Fatal(err)
			}
			if r := maxRel(all[0][i*V:(i+1)*V], one[0]); r != 0 {
				t.Fatalf("%v: token %d of %d: prefill differs from decode by %.3g", kv, i, len(ids), r)
			}
		}
		const cut = 70
		seq = m.NewCache(0)
		if _, err := m.Forward([]model.Input{{Seq: seq, Tokens: ids[:cut]}}); err != nil {
			t.Fatal(err)
		}
		rest, err := m.Forward([]model.Input{{Seq: seq, Tokens: ids[cut:], AllLogits: true}})
		if err != nil {
			t.Fatal(err)
		}
		if r := maxRel(all[0][cut*V:], rest[0]); r != 0 {
			t.Fatalf("%v: prefill in two pieces differs from one by %.3g", kv, r)
		}
	}
}

func TestContextFull(t *testing.T) {
	m := load(t, tinyDir, model.Options{})
	seq := m.NewCache(8)
	_, err := m.Forward([]model.Input{{Seq: seq, Tokens: make([]int32, 9)}})
	if err == nil {
		t.Fatal("a 9-token prompt fit an 8-token context")
	}
	t.Log(err)
	if seq.Len() != 0 {
		t.Fatalf("failed call left %d positions in the cache", seq.Len())
	}
	if _, err := m.Forward([]model.Input{{Seq: seq, Tokens: []int32{99999}}}); err == nil {
		t.Fatal("out-of-vocabulary id accepted")
	}
}

var _ = filepath.Join
