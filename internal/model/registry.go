package model

import (
	"fmt"
	"slices"
	"sort"
	"strings"
	"sync"

	"github.com/bitnet-go/bitnet/internal/parallel"
)

// Options control how a model is built.
type Options struct {
	// Pool runs the matrix work; nil runs everything on the calling goroutine.
	Pool *parallel.Pool
	// FloatActivations skips the int8 activation quantisation before every
	// BitLinear. It is a test switch: it exposes structural errors that the
	// quantisation noise would hide.
	FloatActivations bool
	// KVType is the element type of the KV caches the model makes.
	KVType KVType
}

// Arch describes an architecture family. Families register themselves from
// an init function, so adding one touches only its own package.
type Arch struct {
	Name string
	// HF lists the config.json "architectures" names it serves.
	HF []string
	// GGUF lists the general.architecture values it serves.
	GGUF []string
	// Configure fills family defaults into a config read from a file
	// (e.g. the activation, which GGUF files often omit).
	Configure func(c *Config) error
	// New builds the model from its weights.
	New func(c *Config, w Tensors, o Options) (Model, error)
}

var (
	regMu sync.RWMutex
	archs = map[string]*Arch{}
)

// Register adds a family; it panics on a duplicate name, which is a
// programming error caught at start-up.
func Register(a Arch) {
	regMu.Lock()
	defer regMu.Unlock()
	for _, n := range append(append([]string{}, a.HF...), a.GGUF...) {
		for _, other := range archs {
			if slices.Contains(other.HF, n) || slices.Contains(other.GGUF, n) {
				panic("model: architecture " + n + " registered twice")
			}
		}
	}
	archs[a.Name] = &a
}

func lookup(name string, gguf bool) (*Arch, error) {
	regMu.RLock()
	defer regMu.RUnlock()
	var known []string
	for _, a := range archs {
		list := a.HF
		if gguf {
			list = a.GGUF
		}
		if slices.Contains(list, name) {
			return a, nil
		}
		known = append(known, list...)
	}
	sort.Strings(known)
	return nil, fmt.Errorf("unknown architecture %q (supported: %s)", name, strings.Join(known, ", "))
}
