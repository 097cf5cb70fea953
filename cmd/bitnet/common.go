package main

import (
	"context"
	"fmt"
	"os"
	"runtime"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
	"golang.org/x/term"

	"github.com/bitnet-go/bitnet"
)

// modelFlags are the flags of every command that loads a model.
type modelFlags struct {
	model   string
	threads int
	ctx     int
	isa     string
	kvType  string
	offline bool
	slots   int
	queue   int
}

func (f *modelFlags) register(fs *pflag.FlagSet) {
	fs.StringVarP(&f.model, "model", "m", "", "model: a checkpoint folder, a .gguf file or a Hub repo ORG/NAME[@REV] (default: the built-in bitnet-tiny)")
	fs.IntVarP(&f.threads, "threads", "t", 0, "threads for the matrix work (0: one per CPU)")
	fs.IntVar(&f.ctx, "ctx", 0, "context length per sequence (0: the model's)")
	fs.StringVar(&f.isa, "isa", "", "cap the kernel instruction set: generic, avx2, avx512vnni, neon (default: best available)")
	fs.StringVar(&f.kvType, "kv-type", "f32", "KV cache type: f32, or f16 for half the memory (and faster attention over long contexts)")
	fs.BoolVar(&f.offline, "offline", false, "never use the network (also HF_HUB_OFFLINE=1)")
}

func (f *modelFlags) validate() error {
	if f.threads < 0 {
		return usagef("--threads must be >= 0, got %d", f.threads)
	}
	if f.ctx < 0 {
		return usagef("--ctx must be >= 0, got %d", f.ctx)
	}
	return nil
}

// warnThreads says on stderr when n threads are more than the machine's
// CPUs. They still run, as asked (bench measures such counts on purpose):
// the pool's waiting threads yield, so four threads on two CPUs still
// decode bitnet-b1.58-2B-4T at 79 % of the bandwidth limit, against 87-88 %
// with two, but no thread has a core to itself.
func warnThreads(cmd *cobra.Command, n int) {
	if cpus := runtime.NumCPU(); n > cpus {
		fmt.Fprintf(cmd.ErrOrStderr(), "bitnet: warning: %d threads on %d CPUs; the threads beyond one per CPU share cores and slow the work down\n", n, cpus)
	}
}

// open makes an engine and loads the named model.
func (f *modelFlags) open(ctx context.Context, cmd *cobra.Command) (*bitnet.Engine, *bitnet.Model, error) {
	if err := f.validate(); err != nil {
		return nil, nil, err
	}
	warnThreads(cmd, f.threads)
	opts := bitnet.Options{Threads: f.threads, CtxLen: f.ctx, ISA: f.isa, KVType: f.kvType, Offline: f.offline, Slots: f.slots, Queue: f.queue}
	if isTerminal(cmd.ErrOrStderr()) {
		opts.Progress = cmd.ErrOrStderr()
	}
	eng, err := bitnet.NewEngine(opts)
	if err != nil {
		return nil, nil, err
	}
	m, err := eng.Load(ctx, f.model)
	if err != nil {
		eng.Close()
		return nil, nil, err
	}
	return eng, m, nil
}

func isTerminal(w any) bool {
	f, ok := w.(*os.File)
	return ok && term.IsTerminal(int(f.Fd()))
}

// sampleFlags are the generation controls shared by run, chat and serve.
type sampleFlags struct {
	maxTokens                    int
	temperature                  float32
	topK                         int
	topP, minP, typicalP         float32
	repeatPenalty                float32
	repeatLastN                  int
	freqPenalty, presencePenalty float32
	seed                         int64
	stop                         []string
	ignoreEOS                    bool
	beams                        int
}

func (s *sampleFlags) register(fs *pflag.FlagSet, defaultN int) {
	fs.IntVarP(&s.maxTokens, "n-predict", "n", defaultN, "tokens to generate at most (0: until a stop token or the context is full)")
	fs.Float32Var(&s.temperature, "temperature", 0.8, "sampling temperature; 0 picks the most likely token")
	fs.IntVar(&s.topK, "top-k", 40, "keep the K most likely tokens (0: off)")
	fs.Float32Var(&s.topP, "top-p", 0.95, "nucleus sampling mass (1: off)")
	fs.Float32Var(&s.minP, "min-p", 0.05, "drop tokens below this fraction of the top probability (0: off)")
	fs.Float32Var(&s.typicalP, "typical-p", 1, "locally typical sampling mass (1: off)")
	fs.Float32Var(&s.repeatPenalty, "repeat-penalty", 1, "penalise recently seen tokens (1: off)")
	fs.IntVar(&s.repeatLastN, "repeat-last-n", 64, "window of the penalties in tokens (-1: all)")
	fs.Float32Var(&s.freqPenalty, "frequency-penalty", 0, "OpenAI frequency penalty")
	fs.Float32Var(&s.presencePenalty, "presence-penalty", 0, "OpenAI presence penalty")
	fs.Int64Var(&s.seed, "seed", -1, "random seed (-1: random)")
	fs.StringArrayVar(&s.stop, "stop", nil, "stop string (repeatable)")
	fs.BoolVar(&s.ignoreEOS, "ignore-eos", false, "keep generating past end-of-sequence tokens")
	fs.IntVar(&s.beams, "beams", 0, "beam search with N hypotheses (deterministic; replaces sampling)")
}

// options turns the flags into GenerateOptions, naming the flag on error.
func (s *sampleFlags) options() (bitnet.GenerateOptions, error) {
	o := bitnet.GenerateOptions{
		MaxTokens: s.maxTokens, Temperature: s.temperature, TopK: s.topK, TopP: s.topP, MinP: s.minP,
		TypicalP: s.typicalP, RepeatPenalty: s.repeatPenalty, RepeatLastN: s.repeatLastN,
		FrequencyPenalty: s.freqPenalty, PresencePenalty: s.presencePenalty, Stop: s.stop, IgnoreEOS: s.ignoreEOS,
		Beams: s.beams,
	}
	switch {
	case s.maxTokens < 0:
		return o, usagef("--n-predict must be >= 0, got %d", s.maxTokens)
	case !(s.temperature >= 0):
		return o, usagef("--temperature must be >= 0, got %v", s.temperature)
	case s.topK < 0:
		return o, usagef("--top-k must be >= 0, got %d", s.topK)
	case !(s.topP > 0 && s.topP <= 1):
		return o, usagef("--top-p must be in (0, 1], got %v", s.topP)
	case !(s.minP >= 0 && s.minP <= 1):
		return o, usagef("--min-p must be in [0, 1], got %v", s.minP)
	case !(s.typicalP > 0 && s.typicalP <= 1):
		return o, usagef("--typical-p must be in (0, 1], got %v", s.typicalP)
	case !(s.repeatPenalty > 0):
		return o, usagef("--repeat-penalty must be > 0, got %v", s.repeatPenalty)
	case s.repeatLastN < -1:
		return o, usagef("--repeat-last-n must be >= -1, got %d", s.repeatLastN)
	case !(s.freqPenalty >= -2 && s.freqPenalty <= 2):
		return o, usagef("--frequency-penalty must be in [-2, 2], got %v", s.freqPenalty)
	case !(s.presencePenalty >= -2 && s.presencePenalty <= 2):
		return o, usagef("--presence-penalty must be in [-2, 2], got %v", s.presencePenalty)
	case s.beams < 0 || s.beams > 64:
		return o, usagef("--beams must be in [0, 64], got %d", s.beams)
	case s.seed < -1:
		return o, usagef("--seed must be >= -1, got %d", s.seed)
	}
	if s.seed >= 0 {
		seed := uint64(s.seed)
		o.Seed = &seed
	}
	if err := o.Validate(); err != nil {
		return o, usageError{fmt.Errorf("invalid generation options: %w", err)}
	}
	return o, nil
}
