// Package bitnet implements the BitNet b1.58 transformer: Microsoft's
// BitNetForCausalLM (2B-4T: relu² FFN, sub-norms before o_proj and
// down_proj, GQA, NeoX RoPE, tied embeddings) and 1bitLLM's Llama-style
// BitnetForCausalLM (same graph with SiLU).
package bitnet

import (
	"fmt"
	"math"

	"github.com/bitnet-go/bitnet/internal/model"
	"github.com/bitnet-go/bitnet/internal/parallel"
	"github.com/bitnet-go/bitnet/internal/quant"
)

func init() {
	model.Register(model.Arch{
		Name:      "bitnet",
		HF:        []string{"BitNetForCausalLM", "BitnetForCausalLM"},
		GGUF:      []string{"bitnet-b1.58", "bitnet-25", "bitnet"},
		Configure: configure,
		New:       New,
	})
}

// configure supplies the activation where the file leaves it out: the
// 2B-4T family uses relu², 1bitLLM's models SiLU.
func configure(c *model.Config) error {
	if c.Act != "" {
		return nil
	}
	switch c.SourceArch {
	case "BitNetForCausalLM", "bitnet-b1.58", "bitnet-25":
		c.Act = "relu2"
	default:
		c.Act = "silu"
	}
	return nil
}

type layer struct {
	attnNorm, attnSubNorm, ffnNorm, ffnSubNorm []float32
	q, k, v, o, gate, up, down                 *quant.Ternary
}

// Model is a loaded BitNet b1.58 model.
type Model struct {
	cfg      model.Config
	w        model.Tensors
	embd     *quant.Dense
	output   *quant.Dense
	outNorm  []float32
	layers   []layer
	cos, sin []float32 // [MaxPos][HeadDim/2]
	pool     *parallel.Pool
	floatAct bool
	kvType   model.KVType
	stats    model.Stats
}

// New builds the model from its weights.
func New(c *model.Config, w model.Tensors, o model.Options) (model.Model, error) {
	m := &Model{cfg: *c, w: w, pool: o.Pool, floatAct: o.FloatActivations, kvType: o.KVType}
	H, I := c.Hidden, c.Intermediate
	qDim, kvDim := c.Heads*c.HeadDim, c.KVHeads*c.HeadDim
	var err error
	if m.embd, err = w.Dense("token_embd.weight", c.Vocab, H); err != nil {
		return nil, err
	}
	m.output = m.embd
	if w.Has("output.weight") {
		if m.output, err = w.Dense("output.weight", c.Vocab, H); err != nil {
			return nil, err
		}
	} else if !c.TiedEmbedding && w.Stats().TensorCount > 0 {
		// Some exports drop the flag; a missing lm_head means tied.
		m.cfg.TiedEmbedding = true
	}
	if m.outNorm, err = w.Vector("output_norm.weight", H); err != nil {
		return nil, err
	}
	m.layers = make([]layer, c.Layers)
	for i := range m.layers {
		L := &m.layers[i]
		name := func(s string) string { return fmt.Sprintf("blk.%d.%s.weight", i, s) }
		vecs := []struct {
			dst *[]float32
			n   string
			len int
		}{{&L.attnNorm, "attn_norm", H}, {&L.attnSubNorm, "attn_sub_norm", qDim}, {&L.ffnNorm, "ffn_norm", H}, {&L.ffnSubNorm, "ffn_sub_norm", I}}
		for _, v := range vecs {
			if *v.dst, err = w.Vector(name(v.n), v.len); err != nil {
				return nil, err
			}
		}
		mats := []struct {
			dst     **quant.Ternary
			n       string
			out, in int
		}{{&L.q, "attn_q", qDim, H}, {&L.k, "attn_k", kvDim, H}, {&L.v, "attn_v", kvDim, H}, {&L.o, "attn_output", H, qDim},
			{&L.gate, "ffn_gate", I, H}, {&L.up, "ffn_up", I, H}, {&L.down, "ffn_down", H, I}}
		for _, t := range mats {
			if *t.dst, err = w.Ternary(name(t.n), t.out, t.in); err != nil {
				return nil, err
			}
		}
	}
	m.initRope()
	m.stats = w.Stats()
	m.stats.Parameters = int64(c.Vocab*H) + int64(c.Layers)*int64(H*qDim+2*H*kvDim+qDim*H+3*H*I+2*H+qDim+I) + int64(H)
	if !m.cfg.TiedEmbedding && m.output != m.embd {
		m.stats.Parameters += int64(c.Vocab * H)
	}
	m.stats.EmbeddingTyp = m.embd.Type.String()
	for _, L := range m.layers {
		for _, t := range []*quant.Ternary{L.q, L.k, L.v, L.o, L.gate, L.up, L.down} {
			m.stats.WeightBytes += t.Bytes()
		}
	}
	m.stats.TokenBytes = m.stats.WeightBytes + m.output.Bytes()
	m.stats.WeightBytes += m.embd.Bytes()
	if m.output != m.embd {
		m.stats.WeightBytes += m.output.Bytes()
		m.stats.TokenBytes += m.embd.RowBytes()
	}
	return m, nil
}

func (m *Model) initRope() {
	c := &m.cfg
	half := c.HeadDim / 2
	inv := make([]float32, half)
	for i := range inv {
		inv[i] = float32(1 / math.Pow(c.RopeTheta, float64(2*i)/float64(c.HeadDim)))
	}
	m.cos = make([]float32, c.MaxPos*half)
	m.sin = make([]float32, c.MaxPos*half)
	for p := 0; p < c.MaxPos; p++ {
		for i := 0; i < half; i++ {
			a := float64(float32(p) * inv[i])
			m.cos[p*half+i] = float32(math.Cos(a))
			m.sin[p*half+i] = float32(math.Sin(a))
		}
	}
}

// Config returns the model's configuration.
func (m *Model) Config() *model.Config { return &m.cfg }

// NewCache returns an empty KV cache for up to maxLen positions (at most
// the model's trained context; 0 means that context).
func (m *Model) NewCache(maxLen int) *model.KVCache {
	if maxLen <= 0 || maxLen > m.cfg.MaxPos {
		maxLen = m.cfg.MaxPos
	}
	return model.NewKVCache(m.kvType, m.cfg.Layers, m.cfg.KVHeads, m.cfg.HeadDim, maxLen)
}

// Stats reports memory use.
func (m *Model) Stats() model.Stats { return m.stats }

// Close releases the mapped weights. The model must not be used afterwards.
func (m *Model) Close() error { return m.w.Close() }
