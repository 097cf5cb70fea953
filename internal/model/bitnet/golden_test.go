package bitnet_test

import (
	"compress/bzip2"
	"encoding/json"
	"io"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/bitnet-go/bitnet/internal/model"
)

const goldenDir = "../../../testdata/golden"

type goldenRef struct {
	Prompts []struct {
		Name string  `json:"name"`
		IDs  []int32 `json:"ids"`
	} `json:"prompts"`
	NGen  int `json:"n_gen"`
	Files map[string][]struct {
		GreedyIDs  []int32   `json:"greedy_ids"`
		LastLogits []float32 `json:"last_logits"`
	} `json:"files"`
	PyTorch []struct {
		GreedyIDs  []int32   `json:"greedy_ids"`
		LastLogits []float32 `json:"last_logits"`
	} `json:"pytorch"`
	PyTorchFloat []struct {
		LastLogits []float32 `json:"last_logits"`
	} `json:"pytorch_float_act"`
}

// unbz2 expands a compressed test file into the test's temp dir.
func unbz2(t *testing.T, path string) string {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	dst := filepath.Join(t.TempDir(), filepath.Base(path[:len(path)-4]))
	out, err := os.Create(dst)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := io.Copy(out, bzip2.NewReader(f)); err != nil {
		t.Fatal(err)
	}
	if err := out.Close(); err != nil {
		t.Fatal(err)
	}
	return dst
}

func greedyRun(t *testing.T, m model.Model, prompt []int32, n int) ([]int32, []float32) {
	t.Helper()
	seq := m.NewCache(0)
	out, err := m.Forward([]model.Input{{Seq: seq, Tokens: prompt}})
	if err != nil {
		t.Fatal(err)
	}
	last := out[0]
	var ids []int32
	for len(ids) < n {
		id := argmax(out[0])
		ids = append(ids, id)
		if out, err = m.Forward([]model.Input{{Seq: seq, Tokens: []int32{id}}}); err != nil {
			t.Fatal(err)
		}
	}
	return ids, last
}

// TestGoldenFiles loads every file the reference tools produced from the
// golden-tiny checkpoint and compares greedy ids (exact) and last logits
// (the tolerances the golden README recommends) with what bitnet.cpp,
// llama.cpp and PyTorch computed on them.
func TestGoldenFiles(t *testing.T) {
	b, err := os.ReadFile(filepath.Join(goldenDir, "golden-tiny.reference.min.json"))
	if err != nil {
		t.Fatal(err)
	}
	var ref goldenRef
	if err := json.Unmarshal(b, &ref); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name, path, refKey string
		tol                float64
	}{
		{"hf", filepath.Join(goldenDir, "golden-tiny-hf"), "", 5e-2},
		{"i2_s", "../../../testdata/gguf/golden-tiny.i2_s.gguf.bz2", "golden-tiny.i2_s.gguf", 5e-2},
		{"tq2_0", "../../../testdata/gguf/golden-tiny.tq2_0.gguf.bz2", "golden-tiny.tq2_0.gguf", 8e-2},
		{"tq1_0", filepath.Join(goldenDir, "golden-tiny.tq1_0.gguf.bz2"), "golden-tiny.tq1_0.gguf", 8e-2},
		{"f16", filepath.Join(goldenDir, "golden-tiny.f16.gguf.bz2"), "golden-tiny.f16.gguf", 5e-2},
	} {
		t.Run(tc.name, func(t *testing.T) {
			path := tc.path
			if filepath.Ext(path) == ".bz2" {
				path = unbz2(t, path)
			}
			m := load(t, path, model.Options{})
			for i, p := range ref.Prompts {
				wantIDs, wantLogits := ref.PyTorch[i].GreedyIDs, ref.PyTorch[i].LastLogits
				if tc.refKey != "" {
					wantIDs, wantLogits = ref.Files[tc.refKey][i].GreedyIDs, ref.Files[tc.refKey][i].LastLogits
				}
				ids, last := greedyRun(t, m, p.IDs, ref.NGen)
				if !slices.Equal(ids, wantIDs) {
					t.Errorf("prompt %s: greedy %v, want %v", p.Name, ids, wantIDs)
				}
				if r := maxRel(last, wantLogits); r > tc.tol {
					t.Errorf("prompt %s: last logits max rel %.3g > %.g", p.Name, r, tc.tol)
				} else {
					t.Logf("prompt %s: max rel %.3g", p.Name, r)
				}
			}
		})
	}
	// With float activations the F16 file is what llama.cpp computes.
	t.Run("f16/float-act", func(t *testing.T) {
		m := load(t, unbz2(t, filepath.Join(goldenDir, "golden-tiny.f16.gguf.bz2")), model.Options{FloatActivations: true})
		for i, p := range ref.Prompts {
			last := lastLogits(t, m, p.IDs)
			if r := maxRel(last, ref.Files["golden-tiny.f16.gguf"][i].LastLogits); r > 3e-3 {
				t.Errorf("prompt %s: max rel %.3g vs llama.cpp > 3e-3", p.Name, r)
			}
			if r := maxRel(last, ref.PyTorchFloat[i].LastLogits); r > 1e-3 {
				t.Errorf("prompt %s: max rel %.3g vs PyTorch float activations > 1e-3", p.Name, r)
			}
		}
	})
}
