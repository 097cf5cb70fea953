package bitnet_test

import (
	"encoding/binary"
	"encoding/json"
	"errors"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/bitnet-go/bitnet/internal/gguf"
	"github.com/bitnet-go/bitnet/internal/model"
)

// copyTiny copies the tiny model folder, letting edit change any file.
func copyTiny(t *testing.T, edit func(name string, data []byte) []byte) string {
	t.Helper()
	dir := t.TempDir()
	entries, err := os.ReadDir(tinyDir)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		b, err := os.ReadFile(filepath.Join(tinyDir, e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		if edit != nil {
			b = edit(e.Name(), b)
		}
		if b != nil {
			if err := os.WriteFile(filepath.Join(dir, e.Name()), b, 0o644); err != nil {
				t.Fatal(err)
			}
		}
	}
	return dir
}

// editHeader rewrites the safetensors JSON header with f.
func editHeader(t *testing.T, data []byte, f func(h map[string]any)) []byte {
	n := binary.LittleEndian.Uint64(data)
	var h map[string]any
	if err := json.Unmarshal(data[8:8+n], &h); err != nil {
		t.Fatal(err)
	}
	f(h)
	nh, err := json.Marshal(h)
	if err != nil {
		t.Fatal(err)
	}
	for len(nh)%8 != 0 {
		nh = append(nh, ' ')
	}
	out := binary.LittleEndian.AppendUint64(nil, uint64(len(nh)))
	out = append(out, nh...)
	return append(out, data[8+n:]...)
}

func editConfig(t *testing.T, data []byte, f func(c map[string]any)) []byte {
	var c map[string]any
	if err := json.Unmarshal(data, &c); err != nil {
		t.Fatal(err)
	}
	f(c)
	b, _ := json.Marshal(c)
	return b
}

func TestBadModelFiles(t *testing.T) {
	const st = "model.safetensors"
	cases := []struct {
		name string
		edit func(t *testing.T, name string, b []byte) []byte
		want string // substring of the error
	}{
		{"truncated file", func(t *testing.T, n string, b []byte) []byte {
			if n == st {
				return b[:len(b)/2]
			}
			return b
		}, "past the end"},
		{"wrong magic", func(t *testing.T, n string, b []byte) []byte {
			if n == st {
				return append([]byte("GGUF\x03\x00\x00\x00"), b[8:]...)
			}
			return b
		}, "header length"},
		{"header length past end", func(t *testing.T, n string, b []byte) []byte {
			if n == st {
				b = append([]byte(nil), b...)
				binary.LittleEndian.PutUint64(b, uint64(len(b)))
			}
			return b
		}, "runs past the end"},
		{"not json", func(t *testing.T, n string, b []byte) []byte {
			if n == st {
				b = append([]byte(nil), b...)
				b[8] = '['
			}
			return b
		}, "not a safetensors file"},
		{"overlapping tensors", func(t *testing.T, n string, b []byte) []byte {
			if n != st {
				return b
			}
			return editHeader(t, b, func(h map[string]any) {
				a := h["model.norm.weight"].(map[string]any)["data_offsets"].([]any)
				e := h["model.layers.0.input_layernorm.weight"].(map[string]any)
				e["data_offsets"] = []any{a[0], a[1]}
			})
		}, "overlap"},
		{"missing tensor", func(t *testing.T, n string, b []byte) []byte {
			if n != st {
				return b
			}
			return editHeader(t, b, func(h map[string]any) { delete(h, "model.layers.2.mlp.ffn_sub_norm.weight") })
		}, "missing tensor \"model.layers.2.mlp.ffn_sub_norm.weight\""},
		{"shape disagrees with config", func(t *testing.T, n string, b []byte) []byte {
			if n != "config.json" {
				return b
			}
			return editConfig(t, b, func(c map[string]any) { c["intermediate_size"] = 768 })
		}, "has shape"},
		{"unknown architecture", func(t *testing.T, n string, b []byte) []byte {
			if n != "config.json" {
				return b
			}
			return editConfig(t, b, func(c map[string]any) { c["architectures"] = []string{"MambaForCausalLM"} })
		}, "unknown architecture \"MambaForCausalLM\""},
		{"malformed config", func(t *testing.T, n string, b []byte) []byte {
			if n == "config.json" {
				return b[:len(b)/2]
			}
			return b
		}, "config.json: malformed JSON"},
		{"missing weights", func(t *testing.T, n string, b []byte) []byte {
			if n == st {
				return nil
			}
			return b
		}, "no such file"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			dir := copyTiny(t, func(n string, b []byte) []byte { return tc.edit(t, n, b) })
			m, err := model.Load(dir, model.Options{})
			if err == nil {
				m.Close()
				t.Fatal("loaded a broken model")
			}
			if !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error %q does not mention %q", err, tc.want)
			}
			t.Log(err)
		})
	}
}

func TestBadGGUF(t *testing.T) {
	src := unbz2(t, "../../../testdata/gguf/golden-tiny.i2_s.gguf.bz2")
	good, err := os.ReadFile(src)
	if err != nil {
		t.Fatal(err)
	}
	write := func(t *testing.T, b []byte) string {
		p := filepath.Join(t.TempDir(), "m.gguf")
		if err := os.WriteFile(p, b, 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	// rewrite rebuilds the file through the writer with one change.
	rewrite := func(t *testing.T, f func(w *gguf.Writer, g *gguf.File) error) string {
		g, err := gguf.Parse(good, src)
		if err != nil {
			t.Fatal(err)
		}
		w := gguf.NewWriter()
		for _, kv := range g.KVs {
			if err := w.AddKV(kv.Key, kv.Value); err != nil {
				t.Fatal(err)
			}
		}
		if err := f(w, g); err != nil {
			t.Fatal(err)
		}
		p := filepath.Join(t.TempDir(), "m.gguf")
		if err := w.WriteFile(p); err != nil {
			t.Fatal(err)
		}
		return p
	}
	addAll := func(w *gguf.Writer, g *gguf.File, skip string, typ map[string]gguf.Type) error {
		for _, ti := range g.Tensors {
			if ti.Name == skip {
				continue
			}
			tt := ti.Type
			if v, ok := typ[ti.Name]; ok {
				tt = v
			}
			if err := w.AddTensor(ti.Name, tt, ti.Dims, g.Data(ti)); err != nil {
				return err
			}
		}
		return nil
	}
	cases := []struct {
		name string
		path func(t *testing.T) string
		want string
	}{
		{"truncated", func(t *testing.T) string { return write(t, good[:len(good)-1000]) }, "past the end"},
		{"wrong magic", func(t *testing.T) string { return write(t, append([]byte("GGUX"), good[4:]...)) }, "not a GGUF file"},
		{"unknown architecture", func(t *testing.T) string {
			return rewrite(t, func(w *gguf.Writer, g *gguf.File) error {
				if err := w.SetKV("general.architecture", "mamba"); err != nil {
					return err
				}
				return addAll(w, g, "", nil)
			})
		}, "unknown architecture \"mamba\""},
		{"missing tensor", func(t *testing.T) string {
			return rewrite(t, func(w *gguf.Writer, g *gguf.File) error { return addAll(w, g, "blk.1.ffn_down.weight", nil) })
		}, "missing tensor \"blk.1.ffn_down.weight\""},
		{"unsupported weight type", func(t *testing.T) string {
			return rewrite(t, func(w *gguf.Writer, g *gguf.File) error {
				return addAll(w, g, "", map[string]gguf.Type{"output_norm.weight": gguf.I32})
			})
		}, "output_norm.weight"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			m, err := model.Load(tc.path(t), model.Options{})
			if err == nil {
				m.Close()
				t.Fatal("loaded a broken file")
			}
			if !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error %q does not mention %q", err, tc.want)
			}
			t.Log(err)
		})
	}
}

func TestPromptLongerThanContext(t *testing.T) {
	m := load(t, tinyDir, model.Options{})
	_, err := m.Forward([]model.Input{{Seq: m.NewCache(0), Tokens: make([]int32, m.Config().MaxPos+1)}})
	if !errors.Is(err, model.ErrContextFull) {
		t.Fatalf("got %v, want ErrContextFull", err)
	}
}

// An untied copy of the tiny model (lm_head.weight holding the embedding's
// bytes, tie_word_embeddings false) gives the tied model's logits bit for
// bit, holds the table twice, and decoding reads one row of the input
// table: the bytes per token bench divides by.
func TestUntiedHead(t *testing.T) {
	dir := copyTiny(t, func(name string, b []byte) []byte {
		switch name {
		case "config.json":
			return editConfig(t, b, func(c map[string]any) { c["tie_word_embeddings"] = false })
		case "model.safetensors":
			var embd []byte
			n := binary.LittleEndian.Uint64(b)
			body := b[8+n:]
			b = editHeader(t, b, func(h map[string]any) {
				e := h["model.embed_tokens.weight"].(map[string]any)
				off := e["data_offsets"].([]any)
				s, end := int(off[0].(float64)), int(off[1].(float64))
				embd = body[s:end]
				h["lm_head.weight"] = map[string]any{"dtype": e["dtype"], "shape": e["shape"],
					"data_offsets": []int{len(body), len(body) + len(embd)}}
			})
			return append(b, embd...)
		}
		return b
	})
	tied, untied := load(t, tinyDir, model.Options{}), load(t, dir, model.Options{})
	if untied.Config().TiedEmbedding {
		t.Fatal("the copy loaded as tied")
	}
	ids := []int32{1, 450, 3996, 1354, 1701}
	a, b := lastLogits(t, tied, ids), lastLogits(t, untied, ids)
	for i := range a {
		if math.Float32bits(a[i]) != math.Float32bits(b[i]) {
			t.Fatalf("logit %d: untied %v, tied %v", i, b[i], a[i])
		}
	}
	ts, us := tied.Stats(), untied.Stats()
	c := tied.Config()
	if ts.TokenBytes != ts.WeightBytes {
		t.Errorf("tied: reads %d of %d weight bytes per token", ts.TokenBytes, ts.WeightBytes)
	}
	head := us.WeightBytes - ts.WeightBytes // the second copy
	if head <= 0 || head%int64(c.Vocab) != 0 {
		t.Fatalf("untied holds %d bytes more", head)
	}
	if want := us.WeightBytes - head + head/int64(c.Vocab); us.TokenBytes != want {
		t.Errorf("untied reads %d bytes per token, want %d (one row of the %d-byte table)", us.TokenBytes, want, head)
	}
}
