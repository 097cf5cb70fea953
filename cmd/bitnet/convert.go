package main

import (
	"fmt"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/bitnet-go/bitnet"
	"github.com/bitnet-go/bitnet/internal/progress"
)

func init() { register(newConvertCmd) }

func newConvertCmd() *cobra.Command {
	var (
		typ, embdType, output, name, synthetic string
		seed                                   uint64
		quiet                                  bool
	)
	cmd := &cobra.Command{
		Use:   "convert IN OUT --type i2_s|tq2_0|tq1_0|f16",
		Short: "Convert a Hugging Face BitNet checkpoint to a GGUF file",
		Long: `convert writes a GGUF file from a Hugging Face BitNet b1.58 checkpoint folder
(config.json, *.safetensors, tokenizer.json). The folder may hold the packed
uint8 weights with their weight_scale (microsoft/bitnet-b1.58-2B-4T; the
scale multiplies for linear_class autobitlinear and divides for bitlinear)
or bf16/f16/f32 master weights, which are ternarised per tensor with the
absmean rule.

Types of the BitLinear weights (--type, default i2_s):
  i2_s   bitnet.cpp's format: arch bitnet-b1.58, 2 bits per weight and one
         float32 scale per tensor; identical to what bitnet.cpp's converter
         writes. Needs every row length to be a multiple of 128.
  tq2_0  llama.cpp's 2-bit ternary blocks (arch bitnet with
         bitnet.hidden_activation, general.file_type 37); rows % 256 == 0.
  tq1_0  llama.cpp's 1.69-bit ternary blocks (general.file_type 36); rows % 256 == 0.
  f16    llama.cpp's F16 file: the ternary weights times their scale; any shape.

The token embedding (also the output matrix of a tied model) is stored as
--embd-type: f16 (default for i2_s and f16), q6_k (default for tq2_0 and
tq1_0, as llama-quantize does), q8_0 or f32. Norm weights are always F32.

Every shape is checked before anything is written, OUT's folder must be
writable, and the file appears under its name only once it is complete.

--synthetic NAME writes random ternary weights in the exact shapes and
format of a published model instead of converting a folder (for benchmarks
and memory tests without a download): ` + strings.Join(bitnet.SyntheticConvertNames(), ", ") + `.`,
		Example: `  bitnet convert ./bitnet-b1.58-2B-4T ggml-model-i2_s.gguf
  bitnet convert ./bitnet-b1.58-2B-4T model-tq2_0.gguf --type tq2_0
  bitnet convert ./bitnet-b1.58-2B-4T model-q6k.gguf --type i2_s --embd-type q6_k
  bitnet convert ./my-finetune model-f16.gguf --type f16
  bitnet convert ./bitnet-b1.58-2B-4T -o model.gguf && bitnet run -m model.gguf -p "Hello"
  bitnet convert --synthetic bitnet-b1.58-2B-4T --type i2_s -o synthetic-2b.gguf`,
		RunE: func(cmd *cobra.Command, args []string) error {
			in, out, err := convertArgs(args, output, synthetic != "")
			if err != nil {
				return err
			}
			t, err := bitnet.ParseConvertType(typ)
			if err != nil {
				return usagef("--type: %v", err)
			}
			o := bitnet.ConvertOptions{Type: t, Name: name}
			if embdType != "" {
				if o.EmbdType, err = bitnet.ParseEmbdType(embdType); err != nil {
					return usagef("--embd-type: %v", err)
				}
			}
			if synthetic != "" && !slices.ContainsFunc(bitnet.SyntheticConvertNames(), func(n string) bool { return strings.EqualFold(n, synthetic) }) {
				return usagef("--synthetic: unknown model %q (want %s)", synthetic, strings.Join(bitnet.SyntheticConvertNames(), ", "))
			}
			// A bad OUT must fail before minutes of conversion, and the
			// checkpoint must never be overwritten.
			if err := bitnet.CheckConvertOutput(in, out); err != nil {
				return err
			}
			start := time.Now()
			var plan *bitnet.ConvertPlan
			if synthetic != "" {
				plan, err = bitnet.PrepareSyntheticConvert(synthetic, o, seed)
			} else {
				plan, err = bitnet.PrepareConvert(in, o)
			}
			if err != nil {
				return err
			}
			defer plan.Close()

			stderr := cmd.ErrOrStderr()
			showBar := !quiet && progress.IsTerminal(stderr)
			var (
				bar     *progress.Bar
				written int64
			)
			report := func(done, total int64) {
				if showBar {
					if bar == nil {
						bar = progress.New(stderr, filepath.Base(out), total, 0)
					}
					bar.Add(done - written)
				}
				written = done
			}
			if !quiet {
				fmt.Fprintf(stderr, "converting %s → %s: %s BitLinear weights, %s embedding, arch %s, %d tensors\n",
					plan.In, out, plan.Type, plan.EmbdType, plan.Arch, plan.Tensors)
			}
			err = plan.Write(cmd.Context(), out, report)
			if bar != nil {
				bar.Finish()
			}
			if err != nil {
				return err
			}
			if !quiet {
				fmt.Fprintf(stderr, "wrote %s (%s) in %s\n", out, progress.FormatBytes(written), time.Since(start).Round(time.Millisecond))
			}
			return nil
		},
	}
	cmd.SetFlagErrorFunc(func(_ *cobra.Command, err error) error { return usagef("%v", err) })
	fs := cmd.Flags()
	fs.StringVar(&typ, "type", string(bitnet.DefaultConvertType), "type of the BitLinear weights: i2_s, tq2_0, tq1_0 or f16")
	fs.StringVar(&embdType, "embd-type", "", "type of the token embedding: f16, f32, q8_0 or q6_k (default: f16 for i2_s and f16, q6_k for tq2_0 and tq1_0)")
	fs.StringVarP(&output, "output", "o", "", "output file (instead of the OUT argument)")
	fs.StringVar(&name, "name", "", "general.name of the model (default: from the folder name)")
	fs.BoolVarP(&quiet, "quiet", "q", false, "print nothing but errors")
	fs.StringVar(&synthetic, "synthetic", "", "write random weights with the shapes of this model instead of converting IN")
	fs.Uint64Var(&seed, "seed", 1, "random seed of --synthetic")
	return cmd
}

// convertArgs sorts out IN and OUT: OUT is the second argument or -o, and
// --synthetic takes the place of IN.
func convertArgs(args []string, output string, synthetic bool) (in, out string, err error) {
	if synthetic {
		switch {
		case len(args) > 1:
			return "", "", usagef("--synthetic takes only OUT; got %d arguments", len(args))
		case len(args) == 1 && output != "":
			return "", "", usagef("name the output either as OUT or with -o, not both")
		case len(args) == 1:
			return "", args[0], nil
		case output == "":
			return "", "", usagef("name the output file: bitnet convert --synthetic NAME -o OUT")
		}
		return "", output, nil
	}
	switch {
	case len(args) == 0:
		return "", "", usagef("convert needs the checkpoint folder IN and the output file OUT")
	case len(args) > 2:
		return "", "", usagef("convert takes IN and OUT; got %d arguments", len(args))
	case len(args) == 2 && output != "":
		return "", "", usagef("name the output either as OUT or with -o, not both")
	case len(args) == 2:
		return args[0], args[1], nil
	case output == "":
		return "", "", usagef("name the output file: bitnet convert IN OUT")
	}
	return args[0], output, nil
}
