package main

import (
	"fmt"
	"os"

	"github.com/spf13/cobra"

	"github.com/bitnet-go/bitnet"
	"github.com/bitnet-go/bitnet/internal/progress"
)

func init() { register(newPullCmd) }

// hubEnvHelp is shared by the Hub commands' --help.
const hubEnvHelp = `
Environment (the same variables Python's huggingface_hub reads):
  HF_HUB_CACHE    the cache folder (default $HF_HOME/hub, else ~/.cache/huggingface/hub)
  HF_HOME         Hugging Face home; holds hub/ and the token file
  HF_TOKEN        token for gated or private models; else the file $HF_TOKEN_PATH
                  (default $HF_HOME/token), as written by "hf auth login"
  HF_ENDPOINT     Hub URL (default https://huggingface.co), e.g. a mirror
  HF_HUB_OFFLINE  1: never use the network, serve only from the cache`

// hubFlagErrors makes a bad flag exit with the usage status (2), like every
// other command-line mistake, instead of cobra's plain error.
func hubFlagErrors(cmd *cobra.Command) {
	cmd.SetFlagErrorFunc(func(_ *cobra.Command, err error) error { return usagef("%v", err) })
}

func newPullCmd() *cobra.Command {
	var include []string
	var quiet bool
	cmd := &cobra.Command{
		Use:   "pull ORG/NAME[@REVISION]",
		Short: "Download a model from the Hugging Face Hub into the local cache",
		Long: `pull downloads a model from the Hugging Face Hub and prints the folder that
holds it (a snapshot in the Hub cache).

The cache is shared with Python's huggingface_hub: a model either tool
downloaded is not downloaded again by the other. REVISION is a branch, tag
or commit hash (default main).

By default only what inference needs is fetched: config.json,
generation_config.json, the tokenizer files and the .safetensors weights
(with their index), or, for a repository that has only GGUF files, one .gguf
(I2_S preferred, else the smallest). --include GLOB chooses files instead;
globs follow huggingface_hub's --include ('*' also matches '/').

Interrupted downloads resume where they stopped, and LFS files are checked
against their sha256 before they enter the cache.
` + hubEnvHelp,
		Example: `  bitnet pull microsoft/bitnet-b1.58-2B-4T
  bitnet pull microsoft/bitnet-b1.58-2B-4T-gguf
  bitnet pull 1bitLLM/bitnet_b1_58-large@main --include '*.json' --include '*.safetensors'
  HF_TOKEN=hf_xxx bitnet pull my-org/private-model
  cd "$(bitnet pull -q microsoft/bitnet-b1.58-2B-4T)"`,
		RunE: func(cmd *cobra.Command, args []string) error {
			if len(args) != 1 {
				return usagef("pull takes one model name, ORG/NAME[@REVISION]; got %d arguments", len(args))
			}
			ref, err := bitnet.ParseRepoRef(args[0])
			if err != nil {
				return usagef("%v", err)
			}
			for _, g := range include {
				if g == "" {
					return usagef("--include needs a pattern")
				}
			}
			opts := bitnet.HubOptions{}
			stderr := cmd.ErrOrStderr()
			if !quiet && os.Getenv("HF_HUB_DISABLE_PROGRESS_BARS") == "" && progress.IsTerminal(stderr) {
				opts.Progress = stderr
			}
			c, err := bitnet.NewHubClient(opts)
			if err != nil {
				return err
			}
			dir, err := c.Pull(cmd.Context(), ref, include)
			if err != nil {
				return err
			}
			fmt.Fprintln(cmd.OutOrStdout(), dir)
			return nil
		},
	}
	cmd.Flags().StringArrayVar(&include, "include", nil, "download only files matching this glob (repeatable), instead of the default selection")
	cmd.Flags().BoolVarP(&quiet, "quiet", "q", false, "no progress bars")
	hubFlagErrors(cmd)
	return cmd
}
