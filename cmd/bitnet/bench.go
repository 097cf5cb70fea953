package main

import (
	"encoding/csv"
	"encoding/json"
	"fmt"
	"os"
	"runtime"
	"runtime/pprof"
	"slices"
	"strconv"
	"strings"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/bitnet-go/bitnet"
)

func init() { register(newBenchCmd) }

func newBenchCmd() *cobra.Command {
	var (
		mf                  modelFlags
		synthetic           []string
		threads, isas       string
		depthList, parallel string
		pp, tg              string
		reps                int
		embd, kvType        string
		asJSON, asCSV, asMD bool
		bwBytes             int64
		cpuProfile          string
	)
	cmd := &cobra.Command{
		Use:   "bench",
		Short: "Measure prefill and decode speed against the memory-bandwidth limit",
		Long: `Measure prompt processing (pp: one batch of -p tokens) and text generation
(tg: -n tokens one at a time) in tokens/s, like llama-bench, with the spread
over -r repetitions. -d puts that many tokens in the KV cache before each
test, as in a long chat, so that attention reads that much context. Also
print the bytes read per decoded token, the memory read bandwidth measured
on the spot, and the fraction of the bandwidth limit that decode reaches.
A length of 0 skips its test, shown as "-". --parallel runs that many
sequences together, as the server batches concurrent requests: the rates
then count the tokens of all of them, and the bytes per token share the
weights among them.

-t, --isa, -p, -n, -d and --parallel take comma-separated lists; every
combination is measured, on one loaded model per thread count and level.
--synthetic builds random ternary weights with the exact shapes of a
published model, without any file (names: ` + strings.Join(bitnet.SyntheticModels(), ", ") + `).`,
		Example: `  bitnet bench
  bitnet bench --synthetic bitnet-b1.58-2B-4T -t 1,2 --isa generic,avx2 --md
  bitnet bench -m ggml-model-i2_s.gguf -p 128 -n 32 -r 3 --json
  bitnet bench --synthetic bitnet-b1.58-2B-4T -p 0 -n 32 -d 0,1024,2048
  bitnet bench -p 64,512 -n 0
  bitnet bench --synthetic bitnet-b1.58-2B-4T -p 0 -n 16 --parallel 1,4,8`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if reps < 1 {
				return usagef("-r must be >= 1, got %d", reps)
			}
			if mf.model != "" && len(synthetic) > 0 {
				return usagef("give -m or --synthetic, not both")
			}
			pps, err := countList("-p", "a prompt length", pp)
			if err != nil {
				return err
			}
			tgs, err := countList("-n", "a generation length", tg)
			if err != nil {
				return err
			}
			depths, err := countList("-d", "a token count", depthList)
			if err != nil {
				return err
			}
			npls, err := countList("--parallel", "a sequence count", parallel)
			if err != nil {
				return err
			}
			if slices.Contains(npls, 0) {
				return usagef("--parallel: need at least 1 sequence")
			}
			ts, err := countList("-t", "a thread count", threads)
			if err != nil {
				return err
			}
			for i, n := range ts {
				if n == 0 {
					ts[i] = runtime.NumCPU()
				}
				warnThreads(cmd, n)
			}
			isaList := strings.Split(isas, ",")
			if cpuProfile != "" {
				stop, err := startCPUProfile(cpuProfile)
				if err != nil {
					return err
				}
				defer stop()
			}
			models := synthetic
			if len(models) == 0 {
				models = []string{""}
			}
			var rows []bitnet.BenchResult
			for _, isa := range isaList {
				for _, t := range ts {
					for _, name := range models {
						eng, err := bitnet.NewEngine(bitnet.Options{Threads: t, ISA: strings.TrimSpace(isa), Offline: mf.offline, KVType: kvType})
						if err != nil {
							return err
						}
						var m *bitnet.Model
						if name != "" {
							m, err = eng.LoadSynthetic(name, embd)
						} else {
							m, err = eng.Load(cmd.Context(), mf.model)
						}
						if err != nil {
							eng.Close()
							return err
						}
						for _, npl := range npls {
							for _, d := range depths {
								for _, p := range pps {
									for _, n := range tgs {
										if p == 0 && n == 0 && (slices.Max(pps) > 0 || slices.Max(tgs) > 0) {
											continue // a combination that measures nothing
										}
										r, err := m.Bench(cmd.Context(), bitnet.BenchOptions{Prompt: p, Gen: n, Depth: d, Parallel: npl, Reps: reps, BandwidthBytes: bwBytes})
										if err != nil {
											eng.Close()
											return err
										}
										rows = append(rows, r)
										if !asJSON && !asCSV && !asMD && isTerminal(cmd.ErrOrStderr()) {
											fmt.Fprintf(cmd.ErrOrStderr(), "done: %s %s t=%d parallel=%d d=%d p=%d n=%d\n", r.Model, r.ISA, r.Threads, npl, d, p, n)
										}
									}
								}
							}
						}
						eng.Close()
					}
				}
			}
			return printBench(cmd, rows, asJSON, asCSV, asMD)
		},
	}
	fs := cmd.Flags()
	fs.StringVarP(&mf.model, "model", "m", "", "model to measure (default: the built-in bitnet-tiny)")
	fs.BoolVar(&mf.offline, "offline", false, "never use the network")
	fs.StringArrayVar(&synthetic, "synthetic", nil, "measure a synthetic model of this shape (repeatable)")
	fs.StringVarP(&threads, "threads", "t", "0", "thread counts, comma-separated (0: one per CPU)")
	fs.StringVar(&isas, "isa", "", "kernel levels, comma-separated: generic, avx2, avx512vnni, neon (default: best)")
	fs.StringVarP(&pp, "n-prompt", "p", "128", "prompt tokens for the prefill test, comma-separated (0: skip)")
	fs.StringVarP(&tg, "n-gen", "n", "32", "generated tokens for the decode test, comma-separated (0: skip)")
	fs.IntVarP(&reps, "repetitions", "r", 3, "repetitions of each test")
	fs.StringVarP(&depthList, "n-depth", "d", "0", "tokens already in the KV cache at the start of each test, comma-separated")
	fs.StringVar(&parallel, "parallel", "1", "sequences run together in each test, comma-separated")
	fs.StringVar(&embd, "embd-type", "f16", "embedding/lm_head type of synthetic models: f16, bf16, q8_0, q6_k")
	fs.StringVar(&kvType, "kv-type", "f32", "KV cache type: f32 or f16")
	fs.Int64Var(&bwBytes, "bandwidth-bytes", 1<<30, "buffer size of the memory bandwidth test")
	fs.StringVar(&cpuProfile, "cpuprofile", "", "write a CPU profile of the measurements to this file (read it with go tool pprof)")
	fs.BoolVar(&asJSON, "json", false, "print one JSON object per model")
	fs.BoolVar(&asCSV, "csv", false, "print CSV")
	fs.BoolVar(&asMD, "md", false, "print a Markdown table")
	return cmd
}

func printBench(cmd *cobra.Command, rows []bitnet.BenchResult, asJSON, asCSV, asMD bool) error {
	out := cmd.OutOrStdout()
	switch {
	case asJSON:
		enc := json.NewEncoder(out)
		for _, r := range rows {
			if err := enc.Encode(r); err != nil {
				return err
			}
		}
		return nil
	case asCSV:
		w := csv.NewWriter(out)
		w.Write([]string{"model", "isa", "threads", "embd", "pp_tok_s", "pp_std", "tg_tok_s", "tg_std", "bytes_per_token", "bandwidth_gb_s", "bandwidth_fraction", "n_depth", "kv_type", "n_prompt", "n_gen", "cpu", "n_cpus", "n_parallel"})
		for _, r := range rows {
			w.Write([]string{r.Model, r.ISA, strconv.Itoa(r.Threads), r.EmbeddingType, f2(r.PPTokS), f2(r.PPStd), f2(r.TGTokS), f2(r.TGStd),
				strconv.FormatInt(r.BytesPerToken, 10), f2(r.BandwidthGBs), fmt.Sprintf("%.3f", r.BandwidthFrac), strconv.Itoa(r.Depth), r.KVType,
				strconv.Itoa(r.PromptTokens), strconv.Itoa(r.GenTokens), r.CPU, strconv.Itoa(r.CPUs), strconv.Itoa(r.Parallel)})
		}
		w.Flush()
		return w.Error()
	}
	// One prompt and generation length name the rate columns, as
	// llama-bench's pp128 and tg32; several get columns of their own. A
	// parallel column appears once a test runs several sequences.
	first := firstOr(rows)
	mixed := slices.ContainsFunc(rows, func(r bitnet.BenchResult) bool {
		return r.PromptTokens != first.PromptTokens || r.GenTokens != first.GenTokens
	})
	par := slices.ContainsFunc(rows, func(r bitnet.BenchResult) bool { return r.Parallel > 1 })
	header := []string{"model", "isa", "threads", "embd", "kv", "depth"}
	if par {
		header = append(header, "parallel")
	}
	if mixed {
		header = append(header, "p", "n", "pp tok/s", "tg tok/s")
	} else {
		header = append(header, fmt.Sprintf("pp%d tok/s", first.PromptTokens), fmt.Sprintf("tg%d tok/s", first.GenTokens))
	}
	header = append(header, "MB/token", "bandwidth GB/s", "tg limit tok/s", "of limit")
	cells := func(r bitnet.BenchResult) []string {
		// A skipped test (-p 0 or -n 0) shows "-", as no measurement,
		// rather than a rate of 0.
		rate, frac := "-", "-"
		if r.GenTokens > 0 {
			rate, frac = fmt.Sprintf("%.2f ± %.2f", r.TGTokS, r.TGStd), fmt.Sprintf("%.0f%%", 100*r.BandwidthFrac)
		}
		pp := "-"
		if r.PromptTokens > 0 {
			pp = fmt.Sprintf("%.2f ± %.2f", r.PPTokS, r.PPStd)
		}
		c := []string{r.Model, r.ISA, strconv.Itoa(r.Threads), r.EmbeddingType, r.KVType, strconv.Itoa(r.Depth)}
		if par {
			c = append(c, strconv.Itoa(r.Parallel))
		}
		if mixed {
			c = append(c, strconv.Itoa(r.PromptTokens), strconv.Itoa(r.GenTokens))
		}
		return append(c, pp, rate, fmt.Sprintf("%.1f", float64(r.BytesPerToken)/1e6),
			fmt.Sprintf("%.1f", r.BandwidthGBs), fmt.Sprintf("%.1f", r.TGLimitTokS), frac)
	}
	// The machine, as llama-bench names it, above the table.
	machine := fmt.Sprintf("cpu: %s, %d logical CPUs", first.CPU, first.CPUs)
	if asMD {
		fmt.Fprintf(out, "%s\n\n", machine)
		fmt.Fprintln(out, "| "+strings.Join(header, " | ")+" |")
		fmt.Fprintln(out, "|"+strings.Repeat("---|", len(header)))
		for _, r := range rows {
			fmt.Fprintln(out, "| "+strings.Join(cells(r), " | ")+" |")
		}
		return nil
	}
	fmt.Fprintln(out, machine)
	w := tabwriter.NewWriter(out, 0, 0, 2, ' ', 0)
	fmt.Fprintln(w, strings.Join(header, "\t"))
	for _, r := range rows {
		fmt.Fprintln(w, strings.Join(cells(r), "\t"))
	}
	return w.Flush()
}

// startCPUProfile profiles the whole bench run, model building included;
// the measurements dominate it.
func startCPUProfile(path string) (stop func(), err error) {
	f, err := os.Create(path)
	if err != nil {
		return nil, fmt.Errorf("--cpuprofile: %w", err)
	}
	if err := pprof.StartCPUProfile(f); err != nil {
		f.Close()
		return nil, fmt.Errorf("--cpuprofile %s: %w", path, err)
	}
	return func() {
		pprof.StopCPUProfile()
		f.Close()
	}, nil
}

func firstOr(rows []bitnet.BenchResult) bitnet.BenchResult {
	if len(rows) == 0 {
		return bitnet.BenchResult{}
	}
	return rows[0]
}

// countList parses a flag's comma-separated list of counts (>= 0).
func countList(flag, what, s string) ([]int, error) {
	var out []int
	for _, f := range strings.Split(s, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(f))
		if err != nil || n < 0 {
			return nil, usagef("%s: %q is not %s", flag, f, what)
		}
		out = append(out, n)
	}
	return out, nil
}

func f2(v float64) string { return strconv.FormatFloat(v, 'f', 2, 64) }
