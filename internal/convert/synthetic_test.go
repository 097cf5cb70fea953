package convert

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/bitnet-go/bitnet/internal/model"
	"github.com/bitnet-go/bitnet/internal/tokenizer"
)

func writeSynthetic(t *testing.T, name string, o Options, seed uint64) string {
	t.Helper()
	p, err := Synthetic(name, o, seed)
	if err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(t.TempDir(), "synthetic.gguf")
	if err := p.Write(context.Background(), out, nil); err != nil {
		t.Fatal(err)
	}
	return out
}

// A synthetic golden-tiny has the real conversion's layout (names, order,
// types, dims, keys) with other weights, and runs.
func TestSyntheticLayout(t *testing.T) {
	for _, typ := range Types {
		t.Run(string(typ), func(t *testing.T) {
			path := writeSynthetic(t, "golden-tiny", Options{Type: typ}, 1)
			got, want := openGGUF(t, path), openGGUF(t, convertTo(t, goldenHF, Options{Type: typ}))
			if len(got.Tensors) != len(want.Tensors) {
				t.Fatalf("%d tensors, want %d", len(got.Tensors), len(want.Tensors))
			}
			for i, wt := range want.Tensors {
				gt := got.Tensors[i]
				if gt.Name != wt.Name || gt.Type != wt.Type || !slices.Equal(gt.Dims, wt.Dims) {
					t.Errorf("tensor %d: %s %v%v, want %s %v%v", i, gt.Name, gt.Type, gt.Dims, wt.Name, wt.Type, wt.Dims)
				}
			}
			var gk, wk []string
			for _, kv := range got.KVs {
				gk = append(gk, kv.Key)
			}
			for _, kv := range want.KVs {
				wk = append(wk, kv.Key)
			}
			if !slices.Equal(gk, wk) {
				t.Errorf("keys %v, want %v", gk, wk)
			}
			m, err := model.Load(path, model.Options{})
			if err != nil {
				t.Fatal(err)
			}
			defer m.Close()
			out, err := m.Forward([]model.Input{{Seq: m.NewCache(0), Tokens: []int32{4086, 72, 105}}})
			if err != nil {
				t.Fatal(err)
			}
			for _, v := range out[0] {
				if v != v || v > 1e6 || v < -1e6 {
					t.Fatalf("logit %g", v)
				}
			}
			tok, err := tokenizer.LoadGGUF(path)
			if err != nil {
				t.Fatal(err)
			}
			if ids := tok.Encode("Hi!", tokenizer.EncodeOptions{AddSpecial: true}); len(ids) != 4 || ids[0] != 4086 {
				t.Errorf("Hi! encodes to %v", ids)
			}
		})
	}
}

func TestSyntheticDeterministic(t *testing.T) {
	a, _ := os.ReadFile(writeSynthetic(t, "golden-tiny", Options{Type: TQ1}, 5))
	b, _ := os.ReadFile(writeSynthetic(t, "golden-tiny", Options{Type: TQ1}, 5))
	c, _ := os.ReadFile(writeSynthetic(t, "golden-tiny", Options{Type: TQ1}, 6))
	if !bytes.Equal(a, b) || bytes.Equal(a, c) {
		t.Errorf("same seed equal: %v, different seed equal: %v", bytes.Equal(a, b), bytes.Equal(a, c))
	}
}

// The full-size plans are checked without writing gigabytes.
func TestSyntheticShapes(t *testing.T) {
	p, err := Synthetic("bitnet-b1.58-2B-4T", Options{Type: I2S}, 1)
	if err != nil {
		t.Fatal(err)
	}
	// 332 tensors and 2.41B parameters, as in the official I2_S file.
	if p.Tensors != 332 || p.Params != 2_412_820_480 || p.Arch != "bitnet-b1.58" {
		t.Errorf("2B-4T: %d tensors, %d parameters, arch %s", p.Tensors, p.Params, p.Arch)
	}
	if p, err := Synthetic("BITNET_B1_58-LARGE", Options{Type: TQ2}, 1); err != nil || p.Arch != "bitnet" {
		t.Errorf("large: %v", err)
	}
	for _, tc := range []struct {
		typ    Type
		tensor string
		k      int
	}{{I2S, "blk.0.ffn_down.weight", 8640}, {TQ2, "blk.0.attn_q.weight", 3200}} {
		// F16 embeddings: Q6_K would stop at the embedding first (3200 % 256).
		_, err := Synthetic("bitnet_b1_58-3B", Options{Type: tc.typ, EmbdType: EmbdF16}, 1)
		var se *ShapeError
		if !errors.As(err, &se) || se.Tensor != tc.tensor || se.K != tc.k {
			t.Errorf("3B as %s: %v", tc.typ, err)
		}
	}
	if _, err := Synthetic("bitnet_b1_58-3B", Options{Type: F16}, 1); err != nil {
		t.Errorf("3B as f16: %v", err)
	}
	if _, err := Synthetic("gpt-5", Options{}, 1); err == nil {
		t.Error("unknown name accepted")
	}
}
