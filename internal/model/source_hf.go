package model

import (
	"errors"
	"fmt"
	"math"
	"regexp"
	"slices"
	"strings"

	"github.com/bitnet-go/bitnet/internal/arena"
	"github.com/bitnet-go/bitnet/internal/kernels"
	"github.com/bitnet-go/bitnet/internal/quant"
	"github.com/bitnet-go/bitnet/internal/safetensors"
)

// hfTensors serves canonical names from a HF checkpoint folder.
type hfTensors struct {
	dir         string
	ck          *safetensors.Checkpoint
	linearClass string
	mem         *arena.Arena // repacked matrices
	stats       Stats
}

func openHFTensors(dir string, cfg *Config) (*hfTensors, error) {
	ck, err := safetensors.OpenDir(dir)
	if err != nil {
		return nil, err
	}
	h := &hfTensors{dir: dir, ck: ck, linearClass: cfg.LinearClass, mem: arena.New()}
	h.stats.MappedBytes = ck.MappedBytes()
	h.stats.TensorTypes = map[string]int{}
	for _, n := range ck.Names() {
		t, _ := ck.Tensor(n)
		h.stats.TensorTypes[string(t.DType)]++
		h.stats.TensorCount++
	}
	return h, nil
}

var blkName = regexp.MustCompile(`^blk\.(\d+)\.(.+)$`)

// hfNames maps a canonical name to the names HF checkpoints use for it,
// most common first (2B-4T names, then 1bitLLM's).
func hfNames(name string) []string {
	switch name {
	case "token_embd.weight":
		return []string{"model.embed_tokens.weight"}
	case "output.weight":
		return []string{"lm_head.weight"}
	case "output_norm.weight":
		return []string{"model.norm.weight"}
	}
	m := blkName.FindStringSubmatch(name)
	if m == nil {
		return []string{name}
	}
	p := "model.layers." + m[1] + "."
	var tails []string
	switch m[2] {
	case "attn_norm.weight":
		tails = []string{"input_layernorm.weight"}
	case "ffn_norm.weight":
		tails = []string{"post_attention_layernorm.weight"}
	case "attn_q.weight":
		tails = []string{"self_attn.q_proj.weight"}
	case "attn_k.weight":
		tails = []string{"self_attn.k_proj.weight"}
	case "attn_v.weight":
		tails = []string{"self_attn.v_proj.weight"}
	case "attn_output.weight":
		tails = []string{"self_attn.o_proj.weight"}
	case "attn_sub_norm.weight":
		tails = []string{"self_attn.attn_sub_norm.weight", "self_attn.inner_attn_ln.weight"}
	case "ffn_gate.weight":
		tails = []string{"mlp.gate_proj.weight"}
	case "ffn_up.weight":
		tails = []string{"mlp.up_proj.weight"}
	case "ffn_down.weight":
		tails = []string{"mlp.down_proj.weight"}
	case "ffn_sub_norm.weight":
		tails = []string{"mlp.ffn_sub_norm.weight", "mlp.ffn_layernorm.weight"}
	default:
		tails = []string{m[2]}
	}
	out := make([]string, len(tails))
	for i, t := range tails {
		out[i] = p + t
	}
	return out
}

func (h *hfTensors) find(name string) (*safetensors.Tensor, error) {
	for _, n := range hfNames(name) {
		if t, ok := h.ck.Tensor(n); ok {
			return t, nil
		}
	}
	return nil, &MissingTensorError{File: h.dir, Name: hfNames(name)[0]}
}

func (h *hfTensors) Has(name string) bool {
	_, err := h.find(name)
	return err == nil
}

func (h *hfTensors) Stats() Stats { return h.stats }

func (h *hfTensors) Close() error { return errors.Join(h.ck.Close(), h.mem.Close()) }

func denseType(d safetensors.DType) (quant.DenseType, bool) {
	switch d {
	case safetensors.F32:
		return quant.DenseF32, true
	case safetensors.F16:
		return quant.DenseF16, true
	case safetensors.BF16:
		return quant.DenseBF16, true
	}
	return 0, false
}

func (h *hfTensors) floats(t *safetensors.Tensor) ([]float32, error) {
	dt, ok := denseType(t.DType)
	if !ok {
		return nil, fmt.Errorf("%s: tensor %q has dtype %s, want F32, F16 or BF16", t.File, t.Name, t.DType)
	}
	return quant.ToFloat32(dt, t.Data)
}

func (h *hfTensors) Vector(name string, n int) ([]float32, error) {
	t, err := h.find(name)
	if err != nil {
		return nil, err
	}
	if len(t.Shape) != 1 || t.Shape[0] != n {
		return nil, &ShapeError{File: t.File, Name: t.Name, Got: t.Shape, Want: []int{n}}
	}
	return h.floats(t)
}

func (h *hfTensors) Dense(name string, rows, cols int) (*quant.Dense, error) {
	t, err := h.find(name)
	if err != nil {
		return nil, err
	}
	if !slices.Equal(t.Shape, []int{rows, cols}) {
		return nil, &ShapeError{File: t.File, Name: t.Name, Got: t.Shape, Want: []int{rows, cols}}
	}
	dt, ok := denseType(t.DType)
	if !ok {
		return nil, fmt.Errorf("%s: tensor %q has dtype %s, want F32, F16 or BF16", t.File, t.Name, t.DType)
	}
	d, err := quant.NewDense(dt, rows, cols, t.Data)
	if err != nil {
		return nil, fmt.Errorf("%s: tensor %q: %v", t.File, t.Name, err)
	}
	return d, nil
}

func (h *hfTensors) Ternary(name string, out, in int) (*quant.Ternary, error) {
	t, err := h.find(name)
	if err != nil {
		return nil, err
	}
	var w *quant.Ternary
	if t.DType == safetensors.U8 || t.DType == safetensors.I8 {
		if !slices.Equal(t.Shape, []int{out / 4, in}) || out%4 != 0 {
			return nil, &ShapeError{File: t.File, Name: t.Name, Got: t.Shape, Want: []int{out / 4, in}}
		}
		scaleName := strings.TrimSuffix(t.Name, ".weight") + ".weight_scale"
		st, ok := h.ck.Tensor(scaleName)
		if !ok {
			return nil, &MissingTensorError{File: h.dir, Name: scaleName}
		}
		sv, err := h.floats(st)
		if err != nil {
			return nil, err
		}
		if len(sv) != 1 {
			return nil, fmt.Errorf("%s: tensor %q must hold one value, holds %d", st.File, scaleName, len(sv))
		}
		scale := sv[0]
		if !(scale > 0) || math.IsInf(float64(scale), 0) {
			return nil, fmt.Errorf("%s: tensor %q is %v, want a positive scale", st.File, scaleName, scale)
		}
		if h.linearClass == "bitlinear" {
			scale = 1 / scale
		}
		w, err = quant.FromHFPacked(h.mem, t.Data, out, in, scale)
		if err != nil {
			return nil, fmt.Errorf("%s: tensor %q: %v", t.File, t.Name, err)
		}
	} else {
		if !slices.Equal(t.Shape, []int{out, in}) {
			return nil, &ShapeError{File: t.File, Name: t.Name, Got: t.Shape, Want: []int{out, in}}
		}
		f, err := h.floats(t)
		if err != nil {
			return nil, err
		}
		w, err = quant.FromFloat(h.mem, f, out, in)
		if err != nil {
			return nil, fmt.Errorf("%s: tensor %q: %v", t.File, t.Name, err)
		}
		// A half-precision master dequantises to W_q·scale in its own
		// dtype (transformers' online WeightQuant), so the effective
		// scale is rounded to that dtype.
		switch t.DType {
		case safetensors.BF16:
			w.Scale = kernels.BF16ToF32(kernels.F32ToBF16(w.Scale))
		case safetensors.F16:
			w.Scale = kernels.F16ToF32(kernels.F32ToF16(w.Scale))
		}
	}
	h.stats.HeapBytes += w.Bytes()
	return w, nil
}
