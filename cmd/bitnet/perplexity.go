package main

import (
	"encoding/json"
	"fmt"
	"os"

	"github.com/spf13/cobra"
)

func init() { register(newPerplexityCmd) }

func newPerplexityCmd() *cobra.Command {
	var mf modelFlags
	var file string
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "perplexity -f TEXT",
		Short: "Measure perplexity on a text file, as llama.cpp's llama-perplexity does",
		Long: `Tokenise the file with BOS, cut it into non-overlapping chunks of --ctx tokens
whose first token becomes BOS, score the predictions of positions ctx/2 to
ctx-2 of each chunk, and print exp(mean negative log-likelihood). Figures are
comparable with llama-perplexity's (e.g. 17.11 on wikitext-2 for the official
bitnet-b1.58-2B-4T I2_S file).`,
		Example: `  bitnet perplexity -f wiki.test.raw
  bitnet perplexity -m ./bitnet-b1.58-2B-4T -f wiki.test.raw --ctx 512 --json`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if file == "" {
				return usagef("-f TEXT is required")
			}
			ctxLen := mf.ctx
			if ctxLen < 4 {
				return usagef("--ctx must be at least 4, got %d", ctxLen)
			}
			text, err := os.ReadFile(file)
			if err != nil {
				return err
			}
			eng, m, err := mf.open(cmd.Context(), cmd)
			if err != nil {
				return err
			}
			defer eng.Close()
			stderr := cmd.ErrOrStderr()
			show := isTerminal(stderr)
			res, err := m.Perplexity(cmd.Context(), string(text), ctxLen, func(done, total int) {
				if show {
					fmt.Fprintf(stderr, "\rperplexity: chunk %d/%d", done, total)
				}
			})
			if show {
				fmt.Fprintln(stderr)
			}
			if err != nil {
				return err
			}
			if asJSON {
				return json.NewEncoder(cmd.OutOrStdout()).Encode(res)
			}
			fmt.Fprintf(cmd.OutOrStdout(), "perplexity %.4f over %d tokens in %d chunks of %d (mean NLL %.4f)\n", res.PPL, res.ScoredTokens, res.Chunks, res.Ctx, res.NLL)
			return nil
		},
	}
	mf.register(cmd.Flags())
	cmd.Flags().StringVarP(&file, "file", "f", "", "text file to score")
	// Here --ctx is the chunk length, as in llama-perplexity.
	ctxFlag := cmd.Flags().Lookup("ctx")
	ctxFlag.Usage, ctxFlag.DefValue, mf.ctx = "chunk length in tokens", "512", 512
	cmd.Flags().BoolVar(&asJSON, "json", false, "print {ppl, chunks, scored_tokens, ...} as JSON")
	return cmd
}
