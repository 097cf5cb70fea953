package main

import (
	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/bitnet-go/bitnet"
)

// batchFlags drive `run -f`: JSON lines of prompts in, results out.
type batchFlags struct {
	input, output, format string
	resume                bool
}

func (b *batchFlags) register(fs *pflag.FlagSet) {
	fs.StringVarP(&b.input, "file", "f", "", "read prompts from this JSON-lines file (\"-\" for stdin)")
	fs.StringVarP(&b.output, "output", "o", "", "write results here (default stdout)")
	fs.StringVar(&b.format, "format", "jsonl", "output format: jsonl or csv")
	fs.BoolVar(&b.resume, "resume", false, "skip ids already present in the output file and append")
}

func (f *runFlags) runBatch(cmd *cobra.Command, opts bitnet.GenerateOptions) error {
	return usagef("batch mode (-f) is not built yet")
}
