package bitnet

import (
	"container/list"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/bitnet-go/bitnet/internal/engine"
	"github.com/bitnet-go/bitnet/internal/model"
	_ "github.com/bitnet-go/bitnet/internal/model/bitnet" // registers the BitNet family
	"github.com/bitnet-go/bitnet/internal/tokenizer"
)

// Model is a model known to an Engine. It is loaded on first use and may be
// unloaded by the engine's memory budget while idle; it reloads itself
// transparently when used again.
type Model struct {
	eng  *Engine
	name string
	path string
	elem *list.Element

	mu        sync.Mutex
	refs      int
	synthetic bool // built in memory: cannot be reloaded, so never evicted
	st        *state
	bytes     atomic.Int64
}

type state struct {
	m     model.Model
	sched *engine.Engine
	tok   *tokenizer.Tokenizer
	stops []int32
}

// Name returns the name the model was loaded by.
func (m *Model) Name() string { return m.name }

// Path returns the model's folder or file.
func (m *Model) Path() string { return m.path }

func (m *Model) loadedBytes() int64 { return m.bytes.Load() }

// acquire loads the model if needed and marks it in use.
func (m *Model) acquire() error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.st == nil {
		m.eng.ensureRoom(estimateBytes(m.path), m)
		st, err := m.load()
		if err != nil {
			return err
		}
		m.st = st
		s := st.m.Stats()
		m.bytes.Store(max(s.MappedBytes+s.HeapBytes, 1))
	}
	m.refs++
	m.eng.touch(m)
	return nil
}

func (m *Model) release() {
	m.mu.Lock()
	m.refs--
	m.mu.Unlock()
}

// tryUnload unloads an idle model and returns the bytes freed. A model
// that is busy (or being loaded) is skipped, never waited for.
func (m *Model) tryUnload() int64 {
	if !m.mu.TryLock() {
		return 0
	}
	defer m.mu.Unlock()
	if m.refs > 0 || m.st == nil || m.synthetic {
		return 0
	}
	return m.unloadLocked()
}

func (m *Model) unload() {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.st != nil {
		m.unloadLocked()
	}
}

func (m *Model) unloadLocked() int64 {
	m.st.sched.Close()
	m.st.m.Close()
	m.st = nil
	return m.bytes.Swap(0)
}

func (m *Model) load() (*state, error) {
	o := m.eng.opts
	mm, err := model.Load(m.path, m.eng.modelOptions())
	if err != nil {
		return nil, err
	}
	tok, err := tokenizer.Load(m.path)
	if err != nil {
		mm.Close()
		return nil, err
	}
	cfg := mm.Config()
	if tok.VocabSize() > cfg.Vocab {
		mm.Close()
		return nil, fmt.Errorf("%s: the tokenizer has %d tokens but the model only %d", m.path, tok.VocabSize(), cfg.Vocab)
	}
	st := &state{m: mm, tok: tok}
	st.stops = mergeStops(cfg.EOS, tok.EOS())
	st.sched = engine.New(mm, engine.Options{Slots: o.Slots, Queue: o.Queue, CtxLen: o.CtxLen})
	return st, nil
}

func mergeStops(lists ...[]int32) []int32 {
	var out []int32
	seen := map[int32]bool{}
	for _, l := range lists {
		for _, id := range l {
			if !seen[id] {
				seen[id] = true
				out = append(out, id)
			}
		}
	}
	return out
}

// estimateBytes guesses a model's footprint from its files before loading.
func estimateBytes(path string) int64 {
	var n int64
	filepath.WalkDir(path, func(p string, d os.DirEntry, err error) error {
		if err == nil && !d.IsDir() && (strings.HasSuffix(p, ".safetensors") || strings.HasSuffix(p, ".gguf")) {
			if info, err := d.Info(); err == nil {
				n += info.Size()
			}
		}
		return nil
	})
	return n
}

// use runs f with the model loaded and marked in use.
func (m *Model) use(f func(st *state) error) error {
	if err := m.acquire(); err != nil {
		return err
	}
	defer m.release()
	return f(m.st)
}

// Info describes a loaded model.
type Info struct {
	Name         string
	Path         string
	Arch         string
	Parameters   int64
	Layers       int
	Hidden       int
	Vocab        int
	Context      int
	EmbeddingTyp string
	Heads        int
	KVHeads      int
	HeadDim      int
	Intermediate int
	Activation   string
	RopeTheta    float64
	MappedBytes  int64
	WeightBytes  int64
	// KVType is the KV cache's element type ("f32" or "f16").
	KVType string
	// KVBytesPerToken is the KV-cache memory one context position takes.
	KVBytesPerToken int64
	TensorTypes     map[string]int
	Tokenizer       string
	BOS             int32
	StopIDs         []int32
	ChatTemplate    string
}

// Info returns the model's shape and memory figures.
func (m *Model) Info() (Info, error) {
	var in Info
	err := m.use(func(st *state) error {
		c, s := st.m.Config(), st.m.Stats()
		in = Info{Name: m.name, Path: m.path, Arch: c.SourceArch, Parameters: s.Parameters, Layers: c.Layers,
			Hidden: c.Hidden, Vocab: c.Vocab, Context: st.sched.CtxLen(), EmbeddingTyp: s.EmbeddingTyp,
			Heads: c.Heads, KVHeads: c.KVHeads, HeadDim: c.HeadDim, Intermediate: c.Intermediate, Activation: c.Act,
			RopeTheta: c.RopeTheta, MappedBytes: s.MappedBytes, WeightBytes: s.WeightBytes,
			KVType: m.eng.kv.String(), KVBytesPerToken: m.eng.kv.PositionBytes(c), TensorTypes: s.TensorTypes,
			BOS: c.BOS, StopIDs: st.stops}
		if st.tok != nil {
			in.Tokenizer, in.BOS, in.ChatTemplate = st.tok.Source(), st.tok.BOS(), st.tok.ChatTemplate()
		}
		return nil
	})
	return in, err
}

// Tokenize turns text into token ids; addSpecial adds BOS the way the
// model's tokenizer does.
func (m *Model) Tokenize(text string, addSpecial bool) ([]int32, error) {
	var ids []int32
	err := m.use(func(st *state) error {
		if st.tok == nil {
			return errNoTokenizer
		}
		ids = st.tok.Encode(text, tokenizer.EncodeOptions{AddSpecial: addSpecial})
		return nil
	})
	return ids, err
}

// Detokenize turns ids back into text.
func (m *Model) Detokenize(ids []int32) (string, error) {
	var s string
	err := m.use(func(st *state) error {
		if st.tok == nil {
			return errNoTokenizer
		}
		s = st.tok.Decode(ids)
		return nil
	})
	return s, err
}

var (
	errNoTokens    = errors.New("bitnet: empty prompt")
	errNoTokenizer = errors.New("bitnet: this model has no tokenizer (a synthetic model takes token ids only)")
)
