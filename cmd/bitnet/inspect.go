package main

import (
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/bitnet-go/bitnet"
)

func init() { register(newInspectCmd) }

func newInspectCmd() *cobra.Command {
	var mf modelFlags
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "inspect [MODEL]",
		Short: "Show a model's architecture, tensors, tokenizer, chat template and memory needs",
		Example: `  bitnet inspect
  bitnet inspect ./golden-tiny.i2_s.gguf --json
  bitnet inspect microsoft/bitnet-b1.58-2B-4T`,
		Args: cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if len(args) == 1 {
				if mf.model != "" {
					return usagef("name the model either as the argument or with -m, not both")
				}
				mf.model = args[0]
			}
			eng, m, err := mf.open(cmd.Context(), cmd)
			if err != nil {
				return err
			}
			defer eng.Close()
			info, err := m.Info()
			if err != nil {
				return err
			}
			if asJSON {
				enc := json.NewEncoder(cmd.OutOrStdout())
				enc.SetIndent("", "  ")
				return enc.Encode(inspectDoc(info))
			}
			printInfo(cmd, info)
			return nil
		},
	}
	mf.register(cmd.Flags())
	cmd.Flags().BoolVar(&asJSON, "json", false, "print JSON")
	return cmd
}

type inspectJSON struct {
	Name            string         `json:"name"`
	Path            string         `json:"path"`
	Architecture    string         `json:"architecture"`
	Parameters      int64          `json:"parameters"`
	Layers          int            `json:"layers"`
	Hidden          int            `json:"hidden_size"`
	Intermediate    int            `json:"intermediate_size"`
	Heads           int            `json:"heads"`
	KVHeads         int            `json:"kv_heads"`
	HeadDim         int            `json:"head_dim"`
	Vocab           int            `json:"vocab_size"`
	Context         int            `json:"context_length"`
	Activation      string         `json:"activation"`
	RopeTheta       float64        `json:"rope_theta"`
	EmbeddingType   string         `json:"embedding_type"`
	TensorTypes     map[string]int `json:"tensor_types"`
	FileBytes       int64          `json:"file_bytes"`
	WeightBytes     int64          `json:"weight_bytes"`
	KVType          string         `json:"kv_type"`
	KVBytesPerToken int64          `json:"kv_bytes_per_token"`
	MemoryFullCtx   int64          `json:"memory_bytes_full_context"`
	Tokenizer       string         `json:"tokenizer"`
	BOS             int32          `json:"bos_token_id"`
	StopIDs         []int32        `json:"stop_token_ids"`
	ChatTemplate    string         `json:"chat_template"`
}

func inspectDoc(in bitnet.Info) inspectJSON {
	return inspectJSON{in.Name, in.Path, in.Arch, in.Parameters, in.Layers, in.Hidden, in.Intermediate, in.Heads, in.KVHeads,
		in.HeadDim, in.Vocab, in.Context, in.Activation, in.RopeTheta, in.EmbeddingTyp, in.TensorTypes, in.MappedBytes,
		in.WeightBytes, in.KVType, in.KVBytesPerToken, in.WeightBytes + in.KVBytesPerToken*int64(in.Context), in.Tokenizer, in.BOS,
		in.StopIDs, in.ChatTemplate}
}

func human(n int64) string {
	f := float64(n)
	for _, u := range []string{"B", "KiB", "MiB", "GiB"} {
		if f < 1024 || u == "GiB" {
			if u == "B" {
				return fmt.Sprintf("%d B", n)
			}
			return fmt.Sprintf("%.1f %s", f, u)
		}
		f /= 1024
	}
	return ""
}

func printInfo(cmd *cobra.Command, in bitnet.Info) {
	w := tabwriter.NewWriter(cmd.OutOrStdout(), 0, 0, 2, ' ', 0)
	row := func(k, format string, a ...any) { fmt.Fprintf(w, "%s\t"+format+"\n", append([]any{k}, a...)...) }
	row("model", "%s", in.Name)
	row("path", "%s", in.Path)
	row("architecture", "%s (%s FFN)", in.Arch, in.Activation)
	row("parameters", "%.2f M", float64(in.Parameters)/1e6)
	row("layers", "%d", in.Layers)
	row("hidden / intermediate", "%d / %d", in.Hidden, in.Intermediate)
	row("heads / kv heads / head dim", "%d / %d / %d", in.Heads, in.KVHeads, in.HeadDim)
	row("vocabulary", "%d", in.Vocab)
	row("context", "%d (RoPE theta %g)", in.Context, in.RopeTheta)
	types := make([]string, 0, len(in.TensorTypes))
	for t, n := range in.TensorTypes {
		types = append(types, fmt.Sprintf("%s×%d", t, n))
	}
	slices.Sort(types)
	row("tensor types", "%s", strings.Join(types, ", "))
	row("embedding", "%s", in.EmbeddingTyp)
	row("file size", "%s", human(in.MappedBytes))
	row("weights in memory", "%s", human(in.WeightBytes))
	row("KV cache", "%s per token, %s at full context (%s)", human(in.KVBytesPerToken), human(in.KVBytesPerToken*int64(in.Context)), in.KVType)
	row("tokenizer", "%s", in.Tokenizer)
	row("BOS / stop ids", "%d / %v", in.BOS, in.StopIDs)
	tmpl := in.ChatTemplate
	if tmpl == "" {
		tmpl = "(none; a default is used)"
	}
	row("chat template", "%s", tmpl)
	w.Flush()
}
