package main

import (
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/bitnet-go/bitnet"
)

func init() { register(newRunCmd) }

type runFlags struct {
	modelFlags
	sampleFlags
	prompt    string
	promptIDs string
	json      bool
	verbose   bool
	batch     batchFlags
}

func newRunCmd() *cobra.Command {
	f := &runFlags{}
	cmd := &cobra.Command{
		Use:   "run [PROMPT]",
		Short: "Generate a continuation of a prompt, or process a file of prompts",
		Long: `Generate text from a prompt and print it as it is produced.

With -f, read JSON lines of prompts and write one result line per prompt
(see the batch flags below); the prompts run together through the batched
forward pass.`,
		Example: `  bitnet run "Once upon a time"
  bitnet run -m ./bitnet-b1.58-2B-4T -p "The capital of France is" -n 16 --temperature 0
  bitnet run --prompt-ids 4086,411,432 -n 8 --json
  bitnet run -f prompts.jsonl -o out.jsonl --resume`,
		Args: cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return f.run(cmd, args)
		},
	}
	fs := cmd.Flags()
	f.modelFlags.register(fs)
	f.sampleFlags.register(fs, 128)
	fs.StringVarP(&f.prompt, "prompt", "p", "", "the prompt (or give it as the argument)")
	fs.StringVar(&f.promptIDs, "prompt-ids", "", "comma-separated token ids to use as the prompt, bypassing the tokenizer")
	fs.BoolVar(&f.json, "json", false, "print one JSON object with ids, text and timings")
	fs.BoolVarP(&f.verbose, "verbose", "v", false, "print timings to stderr")
	f.batch.register(fs)
	return cmd
}

// runOutput is the --json document.
type runOutput struct {
	Model        string     `json:"model"`
	PromptIDs    []int32    `json:"prompt_ids"`
	IDs          []int32    `json:"ids"`
	Text         string     `json:"text"`
	FinishReason string     `json:"finish_reason"`
	Timings      runTimings `json:"timings"`
}

type runTimings struct {
	LoadMS       float64 `json:"load_ms"`
	PromptTokens int     `json:"prompt_tokens"`
	PromptMS     float64 `json:"prompt_ms"`
	GenTokens    int     `json:"gen_tokens"`
	GenMS        float64 `json:"gen_ms"`
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }

func parseIDs(s string) ([]int32, error) {
	var ids []int32
	for _, part := range strings.Split(s, ",") {
		part = strings.TrimSpace(part)
		if part == "" {
			continue
		}
		v, err := strconv.ParseInt(part, 10, 32)
		if err != nil || v < 0 {
			return nil, usagef("--prompt-ids: %q is not a token id", part)
		}
		ids = append(ids, int32(v))
	}
	if len(ids) == 0 {
		return nil, usagef("--prompt-ids: no ids given")
	}
	return ids, nil
}

func (f *runFlags) run(cmd *cobra.Command, args []string) error {
	opts, err := f.options()
	if err != nil {
		return err
	}
	if f.batch.input != "" {
		if len(args) > 0 || f.prompt != "" || f.promptIDs != "" {
			return usagef("-f reads prompts from a file; do not also give a prompt")
		}
		return f.runBatch(cmd, opts)
	}
	prompt := f.prompt
	if len(args) == 1 {
		if prompt != "" {
			return usagef("give the prompt either as an argument or with -p, not both")
		}
		prompt = args[0]
	}
	var ids []int32
	if f.promptIDs != "" {
		if prompt != "" {
			return usagef("--prompt-ids replaces the text prompt; do not give both")
		}
		if ids, err = parseIDs(f.promptIDs); err != nil {
			return err
		}
	} else if prompt == "" {
		return usagef("no prompt: give one as an argument, with -p, or with --prompt-ids")
	}
	ctx := cmd.Context()
	t0 := time.Now()
	eng, m, err := f.open(ctx, cmd)
	if err != nil {
		return err
	}
	defer eng.Close()
	loadDur := time.Since(t0)
	stream := m.GenerateIDs(ctx, ids, opts)
	if ids == nil {
		stream = m.Generate(ctx, prompt, opts)
	}
	out := cmd.OutOrStdout()
	var res bitnet.Result
	for tok, err := range stream {
		if err != nil {
			return err
		}
		if tok.Final != nil {
			res = *tok.Final
			break
		}
		if !f.json {
			fmt.Fprint(out, tok.Text)
		}
	}
	if f.json {
		doc := runOutput{Model: m.Name(), PromptIDs: res.PromptIDs, IDs: res.IDs, Text: res.Text, FinishReason: res.FinishReason,
			Timings: runTimings{LoadMS: ms(loadDur), PromptTokens: res.PromptTokens, PromptMS: ms(res.PromptTime), GenTokens: res.GenTokens, GenMS: ms(res.GenTime)}}
		if doc.IDs == nil {
			doc.IDs = []int32{}
		}
		enc := json.NewEncoder(out)
		enc.SetEscapeHTML(false)
		return enc.Encode(doc)
	}
	fmt.Fprintln(out)
	if f.verbose {
		fmt.Fprintf(cmd.ErrOrStderr(), "load %.0f ms | prompt %d tokens, %.1f tok/s | generated %d tokens, %.1f tok/s | %s\n",
			ms(loadDur), res.PromptTokens, perSec(res.PromptTokens, res.PromptTime), res.GenTokens, perSec(res.GenTokens-1, res.GenTime), res.FinishReason)
	}
	return nil
}

func perSec(n int, d time.Duration) float64 {
	if d <= 0 || n <= 0 {
		return 0
	}
	return float64(n) / d.Seconds()
}
