package main

import (
	"fmt"

	"github.com/spf13/cobra"

	"github.com/bitnet-go/bitnet"
	"github.com/bitnet-go/bitnet/internal/progress"
)

func init() { register(newRmCmd) }

func newRmCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "rm ORG/NAME[@REVISION]...",
		Short: "Remove a model, or one revision of it, from the local cache",
		Long: `rm deletes models from the Hub cache and prints the space freed.

Without a revision the whole model goes. With one (a branch, tag or commit
hash), only that revision's snapshot goes, with the refs that point at it and
the files no other cached revision uses. The cache is shared with Python
tools, so they lose the model too.
` + hubEnvHelp,
		Example: `  bitnet rm microsoft/bitnet-b1.58-2B-4T
  bitnet rm microsoft/bitnet-b1.58-2B-4T@refs/pr/7
  bitnet rm org/a org/b`,
		RunE: func(cmd *cobra.Command, args []string) error {
			if len(args) == 0 {
				return usagef("rm takes one or more model names, ORG/NAME[@REVISION]")
			}
			// Every name is checked before anything is deleted.
			refs := make([]bitnet.RepoRef, len(args))
			for i, a := range args {
				r, err := bitnet.ParseRepoRef(a)
				if err != nil {
					return usagef("%v", err)
				}
				refs[i] = r
			}
			c, err := bitnet.NewHubClient(bitnet.HubOptions{})
			if err != nil {
				return err
			}
			for _, r := range refs {
				freed, err := c.Remove(r)
				if err != nil {
					return err
				}
				fmt.Fprintf(cmd.OutOrStdout(), "Removed %s, freed %s\n", r, progress.FormatBytes(freed))
			}
			return nil
		},
	}
	hubFlagErrors(cmd)
	return cmd
}
