package convert

import (
	"cmp"
	"fmt"
	"strconv"
	"strings"
)

// tensorKind says how a tensor is stored in the output.
type tensorKind int

const (
	kindNorm      tensorKind = iota // 1-D, always F32
	kindEmbedding                   // token_embd / output: the --embd-type
	kindBitLinear                   // ternary: the --type
)

// layerTensor is one per-block tensor of the BitNet b1.58 graph with the
// names HF checkpoints use for it, 2B-4T's first and 1bitLLM's second
// (the same list internal/model resolves when it loads a folder).
type layerTensor struct {
	gguf string
	hf   []string
	kind tensorKind
}

var layerTensors = []layerTensor{
	{"attn_norm", []string{"input_layernorm"}, kindNorm},
	{"attn_q", []string{"self_attn.q_proj"}, kindBitLinear},
	{"attn_k", []string{"self_attn.k_proj"}, kindBitLinear},
	{"attn_v", []string{"self_attn.v_proj"}, kindBitLinear},
	{"attn_output", []string{"self_attn.o_proj"}, kindBitLinear},
	{"attn_sub_norm", []string{"self_attn.attn_sub_norm", "self_attn.inner_attn_ln"}, kindNorm},
	{"ffn_norm", []string{"post_attention_layernorm"}, kindNorm},
	{"ffn_gate", []string{"mlp.gate_proj"}, kindBitLinear},
	{"ffn_up", []string{"mlp.up_proj"}, kindBitLinear},
	{"ffn_down", []string{"mlp.down_proj"}, kindBitLinear},
	{"ffn_sub_norm", []string{"mlp.ffn_sub_norm", "mlp.ffn_layernorm"}, kindNorm},
}

// ignoredHF are checkpoint tensors that carry nothing the GGUF needs
// (llama.cpp's converters skip them too).
func ignoredHF(name string) bool {
	return strings.HasSuffix(name, ".rotary_emb.inv_freq")
}

// layerOf returns N for "blk.N.*" names and -1 for the others.
func layerOf(name string) int {
	rest, ok := strings.CutPrefix(name, "blk.")
	if !ok {
		return -1
	}
	n, _, ok := strings.Cut(rest, ".")
	if !ok {
		return -1
	}
	i, err := strconv.Atoi(n)
	if err != nil {
		return -1
	}
	return i
}

// quantizeOrder is the order llama-quantize writes tensors in (its model
// loader's name comparator): global tensors first, then blocks by number,
// names compared as strings within a group.
func quantizeOrder(a, b string) int {
	if c := cmp.Compare(layerOf(a), layerOf(b)); c != 0 {
		return c
	}
	return strings.Compare(a, b)
}

func blkName(layer int, t string) string { return fmt.Sprintf("blk.%d.%s.weight", layer, t) }
