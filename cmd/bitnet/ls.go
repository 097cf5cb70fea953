package main

import (
	"encoding/json"
	"fmt"
	"strings"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/bitnet-go/bitnet"
	"github.com/bitnet-go/bitnet/internal/progress"
)

func init() { register(newLsCmd) }

func newLsCmd() *cobra.Command {
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "ls",
		Short: "List the models in the local Hugging Face cache",
		Long: `ls lists the models in the Hub cache, including those downloaded by Python
tools, one line per cached revision:

  MODEL     the repository, ORG/NAME
  REFS      branches and tags that point at the revision ("-": none)
  COMMIT    the revision's commit hash (first 12 digits)
  SIZE      the data the revision uses (shared files count in each)
  PATH      the snapshot folder, usable as a --model argument

--json prints the full records, with whole commit hashes and each model's
size on disk (shared files counted once).
` + hubEnvHelp,
		Example: `  bitnet ls
  bitnet ls --json | jq -r '.[].repo'`,
		RunE: func(cmd *cobra.Command, args []string) error {
			if len(args) != 0 {
				return usagef("ls takes no arguments")
			}
			c, err := bitnet.NewHubClient(bitnet.HubOptions{})
			if err != nil {
				return err
			}
			models, err := c.List()
			if err != nil {
				return err
			}
			out := cmd.OutOrStdout()
			if asJSON {
				if models == nil {
					models = []bitnet.CachedModel{} // "[]", not "null", for jq
				}
				enc := json.NewEncoder(out)
				enc.SetIndent("", "  ")
				return enc.Encode(models)
			}
			if len(models) == 0 {
				fmt.Fprintf(out, "No models in %s\n", c.CacheDir())
				return nil
			}
			tw := tabwriter.NewWriter(out, 0, 0, 2, ' ', 0)
			fmt.Fprintln(tw, "MODEL\tREFS\tCOMMIT\tSIZE\tPATH")
			for _, m := range models {
				if len(m.Revisions) == 0 {
					// An interrupted first download: only partial blobs.
					fmt.Fprintf(tw, "%s\t-\t-\t%s\t%s\n", m.Repo, progress.FormatBytes(m.Size), m.Path)
				}
				for _, r := range m.Revisions {
					refs := "-"
					if len(r.Refs) > 0 {
						refs = strings.Join(r.Refs, ",")
					}
					fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", m.Repo, refs, shortCommit(r.Commit), progress.FormatBytes(r.Size), r.Path)
				}
			}
			return tw.Flush()
		},
	}
	cmd.Flags().BoolVar(&asJSON, "json", false, "print JSON instead of a table")
	hubFlagErrors(cmd)
	return cmd
}

func shortCommit(c string) string {
	if len(c) > 12 {
		return c[:12]
	}
	return c
}
