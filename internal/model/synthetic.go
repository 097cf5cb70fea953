package model

import (
	"fmt"
	"math/rand/v2"
	"sort"
	"strings"

	"github.com/bitnet-go/bitnet/internal/arena"
	"github.com/bitnet-go/bitnet/internal/kernels"
	"github.com/bitnet-go/bitnet/internal/quant"
)

// SyntheticShapes are the published shapes of the BitNet models, for
// benchmarks that need the real sizes without the files.
var SyntheticShapes = map[string]Config{
	"bitnet-b1.58-2B-4T": {SourceArch: "BitNetForCausalLM", Hidden: 2560, Intermediate: 6912, Layers: 30, Heads: 20, KVHeads: 5, HeadDim: 128,
		Vocab: 128256, MaxPos: 4096, RopeTheta: 500000, RMSEps: 1e-5, Act: "relu2", TiedEmbedding: true, BOS: 128000, EOS: []int32{128001, 128009}},
	"bitnet_b1_58-large": {SourceArch: "BitnetForCausalLM", Hidden: 1536, Intermediate: 4096, Layers: 24, Heads: 16, KVHeads: 16, HeadDim: 96,
		Vocab: 32002, MaxPos: 2048, RopeTheta: 10000, RMSEps: 1e-5, Act: "silu", TiedEmbedding: true, BOS: 1, EOS: []int32{2}},
	"bitnet_b1_58-3B": {SourceArch: "BitnetForCausalLM", Hidden: 3200, Intermediate: 8640, Layers: 26, Heads: 32, KVHeads: 32, HeadDim: 100,
		Vocab: 32002, MaxPos: 2048, RopeTheta: 10000, RMSEps: 1e-5, Act: "silu", TiedEmbedding: true, BOS: 1, EOS: []int32{2}},
	// Llama3-8B-1.58 has no sub-norms and an untied head; the synthetic
	// model keeps the BitNet block (two extra norms, negligible) with the
	// real matrix shapes, which is what decides the speed.
	"Llama3-8B-1.58": {SourceArch: "BitNetForCausalLM", Hidden: 4096, Intermediate: 14336, Layers: 32, Heads: 32, KVHeads: 8, HeadDim: 128,
		Vocab: 128256, MaxPos: 8192, RopeTheta: 500000, RMSEps: 1e-5, Act: "silu", TiedEmbedding: false, BOS: 128000, EOS: []int32{128001, 128009}},
}

// SyntheticNames lists the shapes, sorted.
func SyntheticNames() []string {
	names := make([]string, 0, len(SyntheticShapes))
	for n := range SyntheticShapes {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

// Synthetic builds a model of a published shape from random ternary
// weights held in memory, with an embedding of type embd (f16 by default).
func Synthetic(name string, embd quant.DenseType, seed uint64, o Options) (Model, error) {
	cfg, ok := SyntheticShapes[name]
	if !ok {
		return nil, fmt.Errorf("unknown synthetic model %q (have %s)", name, strings.Join(SyntheticNames(), ", "))
	}
	cfg.LinearClass = "autobitlinear"
	arch, err := lookup(cfg.SourceArch, false)
	if err != nil {
		return nil, err
	}
	cfg.Arch = arch.Name
	if err := cfg.Validate("synthetic " + name); err != nil {
		return nil, err
	}
	w := &synthTensors{tied: cfg.TiedEmbedding, rng: rand.New(rand.NewPCG(seed, 1)), embd: embd, mem: arena.New()}
	m, err := arch.New(&cfg, w, o)
	if err != nil {
		w.Close() // the arena's mappings are not garbage collected
		return nil, err
	}
	return m, nil
}

var validBytes = func() (b [81]byte) {
	for i := range b {
		v := i
		for s := 0; s < 4; s++ {
			b[i] |= byte(v%3) << (2 * s)
			v /= 3
		}
	}
	return
}()

type synthTensors struct {
	tied  bool
	rng   *rand.Rand
	embd  quant.DenseType
	mem   *arena.Arena
	stats Stats
}

func (s *synthTensors) Ternary(name string, out, in int) (*quant.Ternary, error) {
	t := quant.NewTernary(s.mem, out, in)
	// Every byte is one of the 81 that hold four valid codes; ten of them
	// come from one random word. Padding weights get codes too, which is
	// harmless: padded activations are zero.
	for i := 0; i < len(t.Data); {
		x := s.rng.Uint64()
		for k := 0; k < 10 && i < len(t.Data); k++ {
			t.Data[i] = validBytes[x%81]
			x /= 81
			i++
		}
	}
	t.Scale = 0.02 + 0.01*s.rng.Float32()
	s.stats.HeapBytes += t.Bytes()
	s.count("I2_S")
	return t, nil
}

func (s *synthTensors) Dense(name string, rows, cols int) (*quant.Dense, error) {
	var data []byte
	switch s.embd {
	case quant.DenseF16, quant.DenseBF16:
		// Draw from a table of 4096 normal values: converting hundreds of
		// millions of fresh normals would dominate start-up.
		var table [4096]uint16
		for i := range table {
			v := float32(s.rng.NormFloat64() * 0.05)
			table[i] = kernels.F32ToF16(v)
			if s.embd == quant.DenseBF16 {
				table[i] = kernels.F32ToBF16(v)
			}
		}
		data = s.mem.Alloc(rows * cols * 2)
		for i := 0; i < len(data); {
			x := s.rng.Uint64()
			for k := 0; k < 5 && i < len(data); k++ {
				h := table[x&4095]
				x >>= 12
				data[i], data[i+1] = byte(h), byte(h>>8)
				i += 2
			}
		}
	case quant.DenseQ8_0:
		data = s.mem.Alloc(rows * cols / 32 * 34)
		for i := 0; i < len(data); i += 34 {
			h := kernels.F32ToF16(0.002)
			data[i], data[i+1] = byte(h), byte(h>>8)
			for j := 2; j < 34; j++ {
				data[i+j] = byte(s.rng.IntN(256))
			}
		}
	case quant.DenseQ6_K:
		data = s.mem.Alloc(rows * cols / 256 * 210)
		for i := range data {
			data[i] = byte(s.rng.IntN(256))
		}
		for i := 208; i < len(data); i += 210 {
			h := kernels.F32ToF16(0.0005)
			data[i], data[i+1] = byte(h), byte(h>>8)
		}
	default:
		return nil, fmt.Errorf("synthetic embeddings of type %s are not supported", s.embd)
	}
	s.stats.HeapBytes += int64(len(data))
	s.count(strings.ToUpper(s.embd.String()))
	return quant.NewDense(s.embd, rows, cols, data)
}

func (s *synthTensors) Vector(name string, n int) ([]float32, error) {
	v := make([]float32, n)
	for i := range v {
		v[i] = 1
	}
	s.count("F32")
	return v, nil
}

// Has reports the optional lm_head, which untied shapes have.
func (s *synthTensors) Has(name string) bool { return name == "output.weight" && !s.tied }

func (s *synthTensors) count(typ string) {
	if s.stats.TensorTypes == nil {
		s.stats.TensorTypes = map[string]int{}
	}
	s.stats.TensorTypes[typ]++
	s.stats.TensorCount++
}

func (s *synthTensors) Stats() Stats { return s.stats }

func (s *synthTensors) Close() error { return s.mem.Close() }
