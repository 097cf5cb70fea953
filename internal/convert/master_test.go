package convert

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/bitnet-go/bitnet/internal/gguf"
	"github.com/bitnet-go/bitnet/internal/kernels"
	"github.com/bitnet-go/bitnet/internal/quant"
	"github.com/bitnet-go/bitnet/internal/safetensors"
)

type stTensor struct {
	dtype string
	shape []int
	data  []byte
}

// writeCheckpoint makes a checkpoint folder: golden-tiny-hf's JSON files
// (config.json edited by editConfig) and a model.safetensors of tensors.
func writeCheckpoint(t *testing.T, tensors map[string]stTensor, editConfig func(map[string]any)) string {
	t.Helper()
	dir := t.TempDir()
	for _, n := range []string{"config.json", "generation_config.json", "special_tokens_map.json", "tokenizer.json", "tokenizer_config.json"} {
		b, err := os.ReadFile(filepath.Join(goldenHF, n))
		if err != nil {
			t.Fatal(err)
		}
		if n == "config.json" && editConfig != nil {
			var cfg map[string]any
			if err := json.Unmarshal(b, &cfg); err != nil {
				t.Fatal(err)
			}
			editConfig(cfg)
			if b, err = json.Marshal(cfg); err != nil {
				t.Fatal(err)
			}
		}
		if err := os.WriteFile(filepath.Join(dir, n), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	names := make([]string, 0, len(tensors))
	for n := range tensors {
		names = append(names, n)
	}
	slices.Sort(names)
	header := map[string]any{}
	var body []byte
	for _, n := range names {
		st := tensors[n]
		header[n] = map[string]any{"dtype": st.dtype, "shape": st.shape, "data_offsets": []int{len(body), len(body) + len(st.data)}}
		body = append(body, st.data...)
	}
	h, err := json.Marshal(header)
	if err != nil {
		t.Fatal(err)
	}
	for len(h)%8 != 0 {
		h = append(h, ' ')
	}
	file := binary.LittleEndian.AppendUint64(nil, uint64(len(h)))
	file = append(append(file, h...), body...)
	if err := os.WriteFile(filepath.Join(dir, "model.safetensors"), file, 0o644); err != nil {
		t.Fatal(err)
	}
	return dir
}

// goldenTensors returns golden-tiny-hf's tensors, with the packed
// BitLinear weights (and their scales) replaced by what master makes of
// them.
func goldenTensors(t *testing.T, master func(name string, w *quant.Ternary) stTensor) map[string]stTensor {
	t.Helper()
	ck, err := safetensors.OpenDir(goldenHF)
	if err != nil {
		t.Fatal(err)
	}
	defer ck.Close()
	out := map[string]stTensor{}
	for _, n := range ck.Names() {
		st, _ := ck.Tensor(n)
		switch {
		case strings.HasSuffix(n, ".weight_scale"):
			if master == nil {
				out[n] = stTensor{string(st.DType), st.Shape, slices.Clone(st.Data)}
			}
		case st.DType == safetensors.U8 && master != nil:
			sc, _ := ck.Tensor(strings.TrimSuffix(n, ".weight") + ".weight_scale")
			rows, k := 4*st.Shape[0], st.Shape[1]
			w, err := quant.FromHFPacked(nil, st.Data, rows, k, kernels.BF16ToF32(binary.LittleEndian.Uint16(sc.Data)))
			if err != nil {
				t.Fatal(err)
			}
			out[n] = master(n, w)
		default:
			out[n] = stTensor{string(st.DType), st.Shape, slices.Clone(st.Data)}
		}
	}
	return out
}

// A bf16 master that is already ternary × scale converts to the same I2_S
// as the packed checkpoint: the scale is kept, not re-derived by absmean.
func TestTernaryMasterMatchesPacked(t *testing.T) {
	dir := writeCheckpoint(t, goldenTensors(t, func(_ string, w *quant.Ternary) stTensor {
		data := make([]byte, 2*w.Rows*w.K)
		for r := 0; r < w.Rows; r++ {
			for c := 0; c < w.K; c++ {
				binary.LittleEndian.PutUint16(data[2*(r*w.K+c):], kernels.F32ToBF16(float32(w.Get(r, c))*w.Scale))
			}
		}
		return stTensor{"BF16", []int{w.Rows, w.K}, data}
	}), nil)
	compareTensors(t, openGGUF(t, convertTo(t, dir, Options{Type: I2S})), openGGUF(t, golden(t, I2S)))
}

// Random f32 masters are ternarised per tensor with the absmean rule:
// q = clamp(round_half_even(w / mean|w|), -1, 1), scale mean|w|.
func TestFloatMasterAbsmean(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 8))
	masters := map[string][]float32{}
	dir := writeCheckpoint(t, goldenTensors(t, func(name string, w *quant.Ternary) stTensor {
		f := make([]float32, w.Rows*w.K)
		data := make([]byte, 4*len(f))
		for i := range f {
			f[i] = float32(rng.NormFloat64() * 0.02)
			binary.LittleEndian.PutUint32(data[4*i:], math.Float32bits(f[i]))
		}
		masters[name] = f
		return stTensor{"F32", []int{w.Rows, w.K}, data}
	}), nil)
	out := openGGUF(t, convertTo(t, dir, Options{Type: I2S}))
	for _, pair := range [][2]string{
		{"blk.0.ffn_down.weight", "model.layers.0.mlp.down_proj.weight"},
		{"blk.1.attn_k.weight", "model.layers.1.self_attn.k_proj.weight"},
	} {
		ti, _ := out.Tensor(pair[0])
		k, rows := int(ti.Dims[0]), int(ti.Dims[1])
		got, err := quant.FromI2S(out.Data(ti), rows, k)
		if err != nil {
			t.Fatal(err)
		}
		f := masters[pair[1]]
		var sum float64
		for _, v := range f {
			sum += math.Abs(float64(v))
		}
		mean := float32(sum / float64(len(f)))
		if got.Scale != mean {
			t.Errorf("%s: scale %g, want absmean %g", pair[0], got.Scale, mean)
		}
		nonzero := 0
		for r := 0; r < rows; r++ {
			for c := 0; c < k; c++ {
				want := int8(max(-1, min(1, math.RoundToEven(float64(f[r*k+c]/mean)))))
				if g := got.Get(r, c); g != want {
					t.Fatalf("%s[%d,%d]: %d, want %d (w %g, mean %g)", pair[0], r, c, g, want, f[r*k+c], mean)
				}
				if want != 0 {
					nonzero++
				}
			}
		}
		if nonzero == 0 || nonzero == rows*k {
			t.Errorf("%s: degenerate test data (%d non-zero)", pair[0], nonzero)
		}
	}
}

// linear_class "bitlinear" (HF1BitLLM, Falcon3) divides by weight_scale;
// every GGUF format multiplies, so the stored scale is its inverse.
func TestBitLinearClassInvertsScale(t *testing.T) {
	dir := writeCheckpoint(t, goldenTensors(t, nil), func(cfg map[string]any) {
		cfg["quantization_config"].(map[string]any)["linear_class"] = "bitlinear"
	})
	got := openGGUF(t, convertTo(t, dir, Options{Type: I2S}))
	want := openGGUF(t, golden(t, I2S))
	for _, wt := range want.Tensors {
		if wt.Type != gguf.I2_S {
			continue
		}
		gt, _ := got.Tensor(wt.Name)
		k, rows := int(wt.Dims[0]), int(wt.Dims[1])
		a, err := quant.FromI2S(got.Data(gt), rows, k)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := quant.FromI2S(want.Data(wt), rows, k)
		if a.Scale != 1/b.Scale || !bytes.Equal(a.Data, b.Data) {
			t.Errorf("%s: scale %g, want 1/%g", wt.Name, a.Scale, b.Scale)
		}
	}
}

func TestRejectsUnknownTensors(t *testing.T) {
	ts := goldenTensors(t, nil)
	ts["model.layers.0.self_attn.q_proj.bias"] = stTensor{"BF16", []int{256}, make([]byte, 512)}
	_, err := Prepare(writeCheckpoint(t, ts, nil), Options{Type: I2S})
	if err == nil || !strings.Contains(err.Error(), "q_proj.bias") {
		t.Errorf("error %v, want one naming the bias", err)
	}
	ts = goldenTensors(t, nil)
	delete(ts, "model.layers.1.mlp.up_proj.weight_scale")
	_, err = Prepare(writeCheckpoint(t, ts, nil), Options{Type: I2S})
	if err == nil || !strings.Contains(err.Error(), "up_proj.weight_scale") {
		t.Errorf("error %v, want one naming the missing scale", err)
	}
}
