package convert

import (
	"cmp"
	"context"
	"fmt"
	"io"
	"math"
	"math/rand/v2"
	"slices"
	"strings"

	"github.com/bitnet-go/bitnet/internal/gguf"
	"github.com/bitnet-go/bitnet/internal/model"
	"github.com/bitnet-go/bitnet/internal/quant"
)

// syntheticModel is a published model's shape, for files with random
// weights: benchmarks and memory tests at real sizes without downloading
// gigabytes.
type syntheticModel struct {
	name     string
	cfg      model.Config
	specials map[int32]string // id → text of the control tokens
	bos, eos int32
	eot      int32 // -1 if none
	template string
}

// llama3Specials names Llama 3's 256 control tokens (128000…128255).
func llama3Specials(base int32) map[int32]string {
	m := map[int32]string{}
	named := map[int32]string{0: "<|begin_of_text|>", 1: "<|end_of_text|>", 6: "<|start_header_id|>", 7: "<|end_header_id|>", 9: "<|eot_id|>"}
	reserved := 0
	for i := int32(0); i < 256; i++ {
		if n, ok := named[i]; ok {
			m[base+i] = n
			continue
		}
		m[base+i] = fmt.Sprintf("<|reserved_special_token_%d|>", reserved)
		reserved++
	}
	return m
}

// The 2B-4T chat template of its tokenizer_config.json.
const bitnet2BTemplate = `{% set loop_messages = messages %}{% for message in loop_messages %}{% set content = message['role'] | capitalize + ': '+ message['content'] | trim + '<|eot_id|>' %}{% if loop.index0 == 0 %}{% set content = bos_token + content %}{% endif %}{{ content }}{% endfor %}{% if add_generation_prompt %}{{ 'Assistant: ' }}{% endif %}`

var syntheticModels = []syntheticModel{
	{
		name: "bitnet-b1.58-2B-4T",
		cfg: model.Config{SourceArch: "BitNetForCausalLM", Hidden: 2560, Intermediate: 6912, Layers: 30, Heads: 20, KVHeads: 5, HeadDim: 128,
			Vocab: 128256, MaxPos: 4096, RopeTheta: 500000, RMSEps: 1e-5, Act: "relu2", TiedEmbedding: true},
		specials: llama3Specials(128000), bos: 128000, eos: 128001, eot: 128009, template: bitnet2BTemplate,
	},
	{
		name: "bitnet_b1_58-large",
		cfg: model.Config{SourceArch: "BitnetForCausalLM", Hidden: 1536, Intermediate: 4096, Layers: 24, Heads: 16, KVHeads: 16, HeadDim: 96,
			Vocab: 32002, MaxPos: 2048, RopeTheta: 10000, RMSEps: 1e-5, Act: "silu", TiedEmbedding: true},
		specials: map[int32]string{0: "<unk>", 1: "<s>", 2: "</s>", 32000: "<pad>", 32001: "</line>"}, bos: 1, eos: 2, eot: -1,
	},
	{
		// FFN width 8640 fits neither I2_S nor TQ; f16 only (bitnet.cpp
		// runs it with its TL kernels).
		name: "bitnet_b1_58-3B",
		cfg: model.Config{SourceArch: "BitnetForCausalLM", Hidden: 3200, Intermediate: 8640, Layers: 26, Heads: 32, KVHeads: 32, HeadDim: 100,
			Vocab: 32002, MaxPos: 2048, RopeTheta: 10000, RMSEps: 1e-5, Act: "silu", TiedEmbedding: true},
		specials: map[int32]string{0: "<unk>", 1: "<s>", 2: "</s>", 32000: "<pad>", 32001: "</line>"}, bos: 1, eos: 2, eot: -1,
	},
	{
		// The golden test model's shapes: a synthetic file small enough
		// for tests.
		name: "golden-tiny",
		cfg: model.Config{SourceArch: "BitNetForCausalLM", Hidden: 256, Intermediate: 768, Layers: 2, Heads: 4, KVHeads: 2, HeadDim: 64,
			Vocab: 4096, MaxPos: 4096, RopeTheta: 500000, RMSEps: 1e-5, Act: "relu2", TiedEmbedding: true},
		specials: map[int32]string{4086: "<|begin_of_text|>", 4087: "<|end_of_text|>", 4095: "<|eot_id|>"}, bos: 4086, eos: 4087, eot: 4095,
		template: bitnet2BTemplate,
	},
}

// SyntheticNames lists the model shapes Synthetic knows.
func SyntheticNames() []string {
	out := make([]string, len(syntheticModels))
	for i, m := range syntheticModels {
		out[i] = m.name
	}
	return out
}

// Synthetic plans a file with the exact shapes, metadata and tensor types
// of the named model but random weights: ternary codes with P(0) = 1/2 and
// a per-tensor scale √(2/K) that keeps activations at unit scale, N(0,
// 0.05²) embeddings and unit norms. The vocabulary has the model's size
// and special tokens, but only byte tokens are reachable (no merges). The
// same seed gives the same file.
func Synthetic(name string, o Options, seed uint64) (*Plan, error) {
	i := slices.IndexFunc(syntheticModels, func(m syntheticModel) bool { return strings.EqualFold(m.name, name) })
	if i < 0 {
		return nil, fmt.Errorf("unknown synthetic model %q (want %s)", name, strings.Join(SyntheticNames(), ", "))
	}
	sm := syntheticModels[i]
	cfg := sm.cfg
	if err := o.normalize(); err != nil {
		return nil, err
	}
	p := &Plan{In: "synthetic " + sm.name, Type: o.Type, EmbdType: o.EmbdType, ctx: context.Background()}
	var tensors []*outTensor
	for idx, sp := range specs(&cfg) {
		tseed := uint64(idx) + 1
		var (
			t   *outTensor
			err error
		)
		switch sp.kind {
		case kindNorm:
			n := sp.k
			t = &outTensor{name: sp.name, hfName: sp.hfNames[0], typ: gguf.F32, dims: []uint64{uint64(n)},
				fill: func(w io.Writer) error {
					ones := make([]float32, n)
					for i := range ones {
						ones[i] = 1
					}
					_, err := w.Write(f32Bytes(ones))
					return err
				}}
		case kindEmbedding:
			t, err = p.embeddingTensor(sp.name, sp.hfNames[0], sp.rows, sp.k, func(r int, dst []float32) {
				rng := rand.New(rand.NewPCG(seed^0x9e3779b97f4a7c15, uint64(r)))
				for i := range dst {
					dst[i] = float32(rng.NormFloat64() * 0.05)
				}
			})
		default:
			rows, k := sp.rows, sp.k
			t, err = p.ternaryTensor(sp.name, sp.hfNames[0], rows, k, func() (*quant.Ternary, error) {
				return randomTernary(rand.New(rand.NewPCG(seed, tseed)), rows, k), nil
			})
		}
		if err != nil {
			return nil, err
		}
		tensors = append(tensors, t)
	}
	voc := syntheticVocab(sm)
	if err := p.finish(&cfg, voc, cmp.Or(o.Name, sm.name+"-synthetic"), tensors, true); err != nil {
		return nil, err
	}
	return p, nil
}

func randomTernary(rng *rand.Rand, rows, k int) *quant.Ternary {
	t := quant.NewTernary(nil, rows, k)
	for i := 0; i < len(t.Data); i += 8 {
		v := rng.Uint64()
		for j := 0; j < 8 && i+j < len(t.Data); j++ {
			b := byte(v >> (8 * j))
			// Code 3 is invalid; turning it into 1 (weight 0) gives
			// P(-1) = P(+1) = 1/4, P(0) = 1/2.
			b ^= (b >> 1 & b & 0x55) << 1
			t.Data[i+j] = b
		}
	}
	t.Scale = float32(math.Sqrt(2 / float64(k)))
	return t
}

// byteChars is GPT-2's byte-to-character map of byte-level BPE: printable
// Latin-1 bytes stand for themselves, the others for U+0100 onwards.
func byteChars() [256]string {
	var out [256]string
	n := 0
	for b := 0; b < 256; b++ {
		if b >= '!' && b <= '~' || b >= 0xa1 && b <= 0xac || b >= 0xae {
			out[b] = string(rune(b))
		} else {
			out[b] = string(rune(256 + n))
			n++
		}
	}
	return out
}

func syntheticVocab(sm syntheticModel) *vocab {
	n := sm.cfg.Vocab
	v := &vocab{pre: "llama-bpe", tokens: make([]string, n), types: make([]int32, n), merges: []string{},
		bos: sm.bos, eos: sm.eos, pad: -1, eot: sm.eot, chatTemplate: sm.template}
	t, f := true, false
	v.addBOS, v.addSEP = &t, &f
	chars := byteChars()
	next := 0
	for id := 0; id < n; id++ {
		if s, ok := sm.specials[int32(id)]; ok {
			v.tokens[id], v.types[id] = s, tokControl
			continue
		}
		if next < 256 {
			v.tokens[id] = chars[next]
			next++
		} else {
			v.tokens[id] = fmt.Sprintf("[SYNTHETIC%d]", id)
		}
		v.types[id] = tokNormal
	}
	return v
}
