package model

import (
	"errors"
	"fmt"
	"slices"

	"github.com/bitnet-go/bitnet/internal/arena"
	"github.com/bitnet-go/bitnet/internal/gguf"
	"github.com/bitnet-go/bitnet/internal/quant"
)

type ggufTensors struct {
	f     *gguf.File
	mem   *arena.Arena // matrices repacked from TQ1_0, TQ2_0 and floats
	stats Stats
}

// openGGUF reads the configuration from GGUF metadata and serves the
// tensors in place from the mapping.
func openGGUF(path string) (*Config, Tensors, *Arch, error) {
	f, err := gguf.Open(path)
	if err != nil {
		return nil, nil, nil, err
	}
	cfg, arch, err := ggufConfig(f)
	if err != nil {
		f.Close()
		return nil, nil, nil, err
	}
	g := &ggufTensors{f: f, mem: arena.New()}
	g.stats.MappedBytes = int64(f.DataOffset)
	g.stats.TensorTypes = map[string]int{}
	for _, t := range f.Tensors {
		g.stats.TensorTypes[t.Type.String()]++
		g.stats.TensorCount++
		g.stats.MappedBytes += int64(t.Size)
	}
	return cfg, g, arch, nil
}

func ggufConfig(f *gguf.File) (*Config, *Arch, error) {
	a := f.Arch()
	if a == "" {
		return nil, nil, fmt.Errorf("%s: missing general.architecture", f.Path)
	}
	arch, err := lookup(a, true)
	if err != nil {
		return nil, nil, fmt.Errorf("%s: %w", f.Path, err)
	}
	c := &Config{Arch: arch.Name, SourceArch: a, BOS: -1}
	need := func(key string, dst *int) error {
		v, ok := f.Uint(a + "." + key)
		if !ok {
			return fmt.Errorf("%s: missing metadata key %s.%s", f.Path, a, key)
		}
		if v > 1<<31 {
			return fmt.Errorf("%s: metadata key %s.%s = %d is out of range", f.Path, a, key, v)
		}
		*dst = int(v)
		return nil
	}
	for _, k := range []struct {
		key string
		dst *int
	}{{"embedding_length", &c.Hidden}, {"feed_forward_length", &c.Intermediate}, {"block_count", &c.Layers},
		{"attention.head_count", &c.Heads}, {"context_length", &c.MaxPos}} {
		if err := need(k.key, k.dst); err != nil {
			return nil, nil, err
		}
	}
	c.KVHeads = c.Heads
	if v, ok := f.Uint(a + ".attention.head_count_kv"); ok {
		c.KVHeads = int(v)
	}
	if c.Heads > 0 {
		c.HeadDim = c.Hidden / c.Heads
	}
	if v, ok := f.Uint(a + ".attention.key_length"); ok {
		c.HeadDim = int(v)
	}
	if v, ok := f.Uint(a + ".rope.dimension_count"); ok && int(v) != c.HeadDim {
		return nil, nil, fmt.Errorf("%s: %s.rope.dimension_count %d: partial rotary embeddings are not supported (head dim %d)", f.Path, a, v, c.HeadDim)
	}
	c.RopeTheta = 10000
	if v, ok := f.Float(a + ".rope.freq_base"); ok {
		c.RopeTheta = v
	}
	c.RMSEps = 1e-5
	if v, ok := f.Float(a + ".attention.layer_norm_rms_epsilon"); ok {
		c.RMSEps = float32(v)
	}
	if v, ok := f.String(a + ".hidden_activation"); ok {
		c.Act = v
	}
	if v, ok := f.Uint(a + ".vocab_size"); ok {
		c.Vocab = int(v)
	} else if toks, ok := f.Strings("tokenizer.ggml.tokens"); ok {
		c.Vocab = len(toks)
	} else if t, ok := f.Tensor("token_embd.weight"); ok && len(t.Dims) == 2 {
		c.Vocab = int(t.Dims[1])
	}
	if v, ok := f.Uint("tokenizer.ggml.bos_token_id"); ok {
		c.BOS = int32(v)
	}
	for _, k := range []string{"tokenizer.ggml.eos_token_id", "tokenizer.ggml.eot_token_id"} {
		if v, ok := f.Uint(k); ok {
			c.EOS = mergeIDs(c.EOS, []int32{int32(v)})
		}
	}
	_, hasOutput := f.Tensor("output.weight")
	c.TiedEmbedding = !hasOutput
	c.LinearClass = "autobitlinear"
	if arch.Configure != nil {
		if err := arch.Configure(c); err != nil {
			return nil, nil, fmt.Errorf("%s: %w", f.Path, err)
		}
	}
	if err := c.Validate(f.Path); err != nil {
		return nil, nil, err
	}
	return c, arch, nil
}

func (g *ggufTensors) find(name string, dims ...int) (*gguf.TensorInfo, error) {
	t, ok := g.f.Tensor(name)
	if !ok {
		return nil, &MissingTensorError{File: g.f.Path, Name: name}
	}
	got := make([]int, len(t.Dims))
	for i, d := range t.Dims {
		got[i] = int(d)
	}
	if !slices.Equal(got, dims) {
		return nil, &ShapeError{File: g.f.Path, Name: name, Got: got, Want: dims}
	}
	return t, nil
}

func (g *ggufTensors) Has(name string) bool {
	_, ok := g.f.Tensor(name)
	return ok
}

func (g *ggufTensors) Stats() Stats { return g.stats }

func (g *ggufTensors) Close() error { return errors.Join(g.f.Close(), g.mem.Close()) }

// denseTypes maps the GGUF types an embedding or norm may have.
var denseTypes = map[gguf.Type]quant.DenseType{
	gguf.F32: quant.DenseF32, gguf.F16: quant.DenseF16, gguf.BF16: quant.DenseBF16,
	gguf.Q8_0: quant.DenseQ8_0, gguf.Q6_K: quant.DenseQ6_K,
}

func (g *ggufTensors) floats(t *gguf.TensorInfo) ([]float32, error) {
	dt, ok := denseTypes[t.Type]
	if !ok || (dt != quant.DenseF32 && dt != quant.DenseF16 && dt != quant.DenseBF16) {
		return nil, fmt.Errorf("%s: tensor %q has type %s, want F32, F16 or BF16", g.f.Path, t.Name, t.Type)
	}
	return quant.ToFloat32(dt, g.f.Data(t))
}

func (g *ggufTensors) Vector(name string, n int) ([]float32, error) {
	t, err := g.find(name, n)
	if err != nil {
		return nil, err
	}
	return g.floats(t)
}

func (g *ggufTensors) Dense(name string, rows, cols int) (*quant.Dense, error) {
	t, err := g.find(name, cols, rows)
	if err != nil {
		return nil, err
	}
	dt, ok := denseTypes[t.Type]
	if !ok {
		return nil, fmt.Errorf("%s: tensor %q has type %s; embeddings must be F32, F16, BF16, Q8_0 or Q6_K", g.f.Path, name, t.Type)
	}
	d, err := quant.NewDense(dt, rows, cols, g.f.Data(t))
	if err != nil {
		return nil, fmt.Errorf("%s: tensor %q: %v", g.f.Path, name, err)
	}
	return d, nil
}

func (g *ggufTensors) Ternary(name string, out, in int) (*quant.Ternary, error) {
	t, err := g.find(name, in, out)
	if err != nil {
		return nil, err
	}
	data := g.f.Data(t)
	var w *quant.Ternary
	switch t.Type {
	case gguf.I2_S:
		w, err = quant.FromI2S(data, out, in)
	case gguf.TQ2_0:
		w, err = quant.FromTQ2(g.mem, data, out, in)
	case gguf.TQ1_0:
		w, err = quant.FromTQ1(g.mem, data, out, in)
	case gguf.F32, gguf.F16, gguf.BF16:
		var f []float32
		if f, err = g.floats(t); err == nil {
			w, err = quant.FromFloat(g.mem, f, out, in)
		}
	default:
		return nil, fmt.Errorf("%s: tensor %q has type %s, which cannot hold BitNet weights (want I2_S, TQ1_0, TQ2_0, F16, BF16 or F32)", g.f.Path, name, t.Type)
	}
	if err != nil {
		return nil, fmt.Errorf("%s: tensor %q: %v", g.f.Path, name, err)
	}
	// A per-tensor scale tensor (llama.cpp's bitnet arch) multiplies.
	if st, ok := g.f.Tensor(name[:len(name)-len(".weight")] + ".scale"); ok {
		sv, err := g.floats(st)
		if err != nil || len(sv) != 1 {
			return nil, fmt.Errorf("%s: tensor %q must be one float", g.f.Path, st.Name)
		}
		w.Scale *= sv[0]
	}
	if t.Type != gguf.I2_S {
		g.stats.HeapBytes += w.Bytes()
	}
	return w, nil
}
