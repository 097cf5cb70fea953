// Package bitnet runs BitNet b1.58 (ternary-weight) language models on the
// CPU. An Engine loads models from a folder, a GGUF file or the Hugging Face
// Hub and keeps the recently used ones in memory under a budget; a Model
// generates text, streams it, batches prompts and chats.
//
//	eng, _ := bitnet.NewEngine(bitnet.Options{})
//	m, _ := eng.Load(ctx, "") // the small model built into the binary
//	for tok, err := range m.Generate(ctx, "Once upon a time", bitnet.GenerateOptions{MaxTokens: 32}) {
//		...
//	}
package bitnet

import (
	"container/list"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"sync"

	"github.com/bitnet-go/bitnet/internal/embedded"
	"github.com/bitnet-go/bitnet/internal/kernels"
	"github.com/bitnet-go/bitnet/internal/model"
	"github.com/bitnet-go/bitnet/internal/parallel"
)

// Options configure an Engine.
type Options struct {
	// MemoryBudget bounds the bytes of loaded models (mapped weights plus
	// repacked copies). When a new model would exceed it, the least recently
	// used idle models are unloaded first. 0 means no limit.
	MemoryBudget int64
	// Threads for the matrix work; 0 means one per CPU. More than one per
	// CPU still work (waiting threads yield) but share cores, which costs
	// speed.
	Threads int
	// CacheDir is the Hugging Face hub cache; "" follows HF_HUB_CACHE and
	// HF_HOME like huggingface_hub does.
	CacheDir string
	// Offline never touches the network (HF_HUB_OFFLINE=1 also sets it).
	Offline bool
	// Slots is how many sequences of one model advance together
	// (continuous batching); 0 means 4.
	Slots int
	// Queue is how many requests may wait beyond the slots; 0 means 64,
	// a negative value none.
	Queue int
	// CtxLen is the context of each sequence; 0 means the model's.
	CtxLen int
	// ISA caps the kernel instruction set: "generic", "avx2", "avx512vnni",
	// "neon"; "" uses the best the CPU has.
	ISA string
	// KVType is the element type of the KV caches: "f32" (the default, as
	// the reference implementations) or "f16" (half the memory, and half
	// the bytes attention reads per token, for a rounding of keys and
	// values to half precision).
	KVType string
	// Progress receives download progress bars (usually os.Stderr); nil
	// is silent.
	Progress io.Writer
}

// Engine loads models and shares one worker pool between them.
type Engine struct {
	opts Options
	kv   model.KVType
	pool *parallel.Pool

	mu     sync.Mutex
	models map[string]*Model
	lru    *list.List // of *Model, most recent at the front
	closed bool

	bwMu sync.Mutex
	bw   *bandwidthTest // Bench's memory test buffer, kept until Close
}

// NewEngine makes an engine.
func NewEngine(o Options) (*Engine, error) {
	if o.Threads < 0 {
		return nil, fmt.Errorf("threads must be >= 0, got %d", o.Threads)
	}
	if o.Threads == 0 {
		o.Threads = runtime.NumCPU()
	}
	if o.MemoryBudget < 0 {
		return nil, fmt.Errorf("memory budget must be >= 0, got %d", o.MemoryBudget)
	}
	kv, err := model.ParseKVType(o.KVType)
	if err != nil {
		return nil, err
	}
	if o.ISA != "" {
		l, err := kernels.ParseLevel(o.ISA)
		if err != nil {
			return nil, err
		}
		kernels.SetLevel(l)
	}
	if os.Getenv("HF_HUB_OFFLINE") == "1" || os.Getenv("HF_HUB_OFFLINE") == "true" {
		o.Offline = true
	}
	return &Engine{opts: o, kv: kv, pool: parallel.New(o.Threads), models: map[string]*Model{}, lru: list.New()}, nil
}

// ISA returns the kernel instruction set in use.
func ISA() string { return kernels.Current().String() }

// modelOptions are the options of every model the engine loads.
func (e *Engine) modelOptions() model.Options {
	return model.Options{Pool: e.pool, KVType: e.kv}
}

// Threads returns the engine's thread count.
func (e *Engine) Threads() int { return e.pool.Threads() }

// Load returns the model named by ref: "" for the built-in model, a
// checkpoint folder, a .gguf file, or a Hugging Face repo "org/name[@rev]"
// (pulled into the cache unless offline). The model stays loaded while
// the memory budget allows; Close on the engine unloads everything.
func (e *Engine) Load(ctx context.Context, ref string) (*Model, error) {
	path, name, err := e.resolve(ctx, ref)
	if err != nil {
		return nil, err
	}
	e.mu.Lock()
	if e.closed {
		e.mu.Unlock()
		return nil, errors.New("bitnet: engine is closed")
	}
	m, ok := e.models[path]
	if !ok {
		m = &Model{eng: e, name: name, path: path}
		e.addLocked(m)
	}
	e.mu.Unlock()
	// Load now so errors surface here, not at the first generation.
	if err := m.acquire(); err != nil {
		e.mu.Lock()
		if m.st == nil {
			e.lru.Remove(m.elem)
			delete(e.models, path)
		}
		e.mu.Unlock()
		return nil, err
	}
	m.release()
	return m, nil
}

// addLocked makes m known to the engine, most recently used; e.mu is held.
func (e *Engine) addLocked(m *Model) {
	e.models[m.path] = m
	m.elem = e.lru.PushFront(m)
}

func (e *Engine) resolve(ctx context.Context, ref string) (path, name string, err error) {
	if ref == "" {
		dir, err := embeddedDir()
		if err != nil {
			return "", "", err
		}
		return dir, embedded.Name, nil
	}
	if _, err := os.Stat(ref); err == nil {
		abs, err := filepath.Abs(ref)
		if err != nil {
			return "", "", err
		}
		return abs, ref, nil
	}
	if isRepoRef(ref) {
		p, err := e.pull(ctx, ref)
		return p, ref, err
	}
	return "", "", fmt.Errorf("model %q: no such file or folder", ref)
}

// embeddedDir materialises the built-in model once per user cache.
func embeddedDir() (string, error) {
	base, err := os.UserCacheDir()
	if err == nil {
		if dir, err := embedded.Dir(filepath.Join(base, "bitnet")); err == nil {
			return dir, nil
		}
	}
	return embedded.Dir(filepath.Join(os.TempDir(), fmt.Sprintf("bitnet-%d", os.Getuid())))
}

// ensureRoom unloads idle models, least recently used first, until need
// more bytes fit the budget. Models in use are never unloaded.
func (e *Engine) ensureRoom(need int64, except *Model) {
	if e.opts.MemoryBudget == 0 {
		return
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	var used int64
	for el := e.lru.Front(); el != nil; el = el.Next() {
		used += el.Value.(*Model).loadedBytes()
	}
	for el := e.lru.Back(); el != nil && used+need > e.opts.MemoryBudget; el = el.Prev() {
		m := el.Value.(*Model)
		if m == except {
			continue
		}
		used -= m.tryUnload()
	}
}

func (e *Engine) touch(m *Model) {
	e.mu.Lock()
	if m.elem != nil {
		e.lru.MoveToFront(m.elem)
	}
	e.mu.Unlock()
}

// Loaded lists the models currently in memory, most recently used first.
func (e *Engine) Loaded() []*Model {
	e.mu.Lock()
	defer e.mu.Unlock()
	var out []*Model
	for el := e.lru.Front(); el != nil; el = el.Next() {
		if m := el.Value.(*Model); m.loadedBytes() > 0 {
			out = append(out, m)
		}
	}
	return out
}

// Close unloads every model and stops the workers.
func (e *Engine) Close() error {
	e.mu.Lock()
	e.closed = true
	models := make([]*Model, 0, len(e.models))
	for _, m := range e.models {
		models = append(models, m)
	}
	e.mu.Unlock()
	for _, m := range models {
		m.unload()
	}
	e.bwMu.Lock()
	if e.bw != nil {
		e.bw.close()
		e.bw = nil
	}
	e.bwMu.Unlock()
	e.pool.Close()
	return nil
}
