package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"time"

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
	fs.StringVarP(&b.input, "file", "f", "", `read prompts from this JSON-lines file ("-" for stdin); each line is {"id"?, "prompt" or "messages", and options such as "max_tokens", "temperature", "top_p", "top_k", "seed", "stop"}`)
	fs.StringVarP(&b.output, "output", "o", "", "write results here (default stdout)")
	fs.StringVar(&b.format, "format", "jsonl", "output format: jsonl or csv")
	fs.BoolVar(&b.resume, "resume", false, "skip ids already present in the output file and append to it")
}

// batchLine is one input line.
type batchLine struct {
	ID          json.RawMessage  `json:"id"`
	Prompt      *string          `json:"prompt"`
	Messages    []bitnet.Message `json:"messages"`
	MaxTokens   *int             `json:"max_tokens"`
	Temperature *float32         `json:"temperature"`
	TopP        *float32         `json:"top_p"`
	TopK        *int             `json:"top_k"`
	MinP        *float32         `json:"min_p"`
	Seed        *uint64          `json:"seed"`
	Stop        json.RawMessage  `json:"stop"`
}

// batchRecord is one output line: a result or an error.
type batchRecord struct {
	ID           string        `json:"id"`
	Line         int           `json:"line"`
	Text         string        `json:"text,omitempty"`
	IDs          []int32       `json:"ids,omitempty"`
	FinishReason string        `json:"finish_reason,omitempty"`
	Timings      *batchTimings `json:"timings,omitempty"`
	Error        string        `json:"error,omitempty"`
}

type batchTimings struct {
	PromptTokens int     `json:"prompt_tokens"`
	PromptMS     float64 `json:"prompt_ms"`
	GenTokens    int     `json:"gen_tokens"`
	GenMS        float64 `json:"gen_ms"`
}

type batchJob struct {
	line int
	id   string
	req  *batchLine
	err  error
}

// parseBatch reads every line. A line that is not valid becomes a job with
// err set; a file with no valid line at all is an error naming its first
// line, since it is probably not JSONL.
func parseBatch(name string, r io.Reader) ([]batchJob, error) {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 1<<20), 64<<20)
	var jobs []batchJob
	valid := 0
	var firstErr error
	for n := 1; sc.Scan(); n++ {
		raw := bytes.TrimSpace(sc.Bytes())
		if len(raw) == 0 {
			continue
		}
		j := batchJob{line: n, id: strconv.Itoa(n)}
		var l batchLine
		dec := json.NewDecoder(bytes.NewReader(raw))
		dec.DisallowUnknownFields()
		err := dec.Decode(&l)
		switch {
		case err != nil:
			j.err = fmt.Errorf("%s line %d: not a valid prompt object: %v", name, n, err)
		case l.Prompt == nil && len(l.Messages) == 0:
			j.err = fmt.Errorf("%s line %d: needs \"prompt\" or \"messages\"", name, n)
		case l.Prompt != nil && len(l.Messages) > 0:
			j.err = fmt.Errorf("%s line %d: give \"prompt\" or \"messages\", not both", name, n)
		}
		if len(l.ID) > 0 && string(l.ID) != "null" {
			var s string
			if json.Unmarshal(l.ID, &s) == nil {
				j.id = s
			} else {
				j.id = string(l.ID)
			}
		}
		if j.err == nil {
			j.req = &l
			valid++
		} else if firstErr == nil {
			firstErr = j.err
		}
		jobs = append(jobs, j)
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	if valid == 0 && firstErr != nil {
		return nil, firstErr
	}
	return jobs, nil
}

func (l *batchLine) options(base bitnet.GenerateOptions) (bitnet.GenerateOptions, error) {
	o := base
	if l.MaxTokens != nil {
		o.MaxTokens = *l.MaxTokens
	}
	if l.Temperature != nil {
		o.Temperature = *l.Temperature
	}
	if l.TopP != nil {
		o.TopP = *l.TopP
	}
	if l.TopK != nil {
		o.TopK = *l.TopK
	}
	if l.MinP != nil {
		o.MinP = *l.MinP
	}
	if l.Seed != nil {
		o.Seed = l.Seed
	}
	if len(l.Stop) > 0 {
		var one string
		var many []string
		if json.Unmarshal(l.Stop, &one) == nil {
			o.Stop = []string{one}
		} else if json.Unmarshal(l.Stop, &many) == nil {
			o.Stop = many
		} else {
			return o, errors.New("stop must be a string or a list of strings")
		}
	}
	return o, o.Validate()
}

// resumeState reads an earlier output file: the ids it holds, and the
// length of its complete lines (a killed run may leave half a line).
func resumeState(path, format string) (map[string]bool, int64, error) {
	done := map[string]bool{}
	b, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return done, 0, nil
	}
	if err != nil {
		return nil, 0, err
	}
	good := int64(0)
	if format == "csv" {
		// Keep whole records only; the header counts as one.
		r := csv.NewReader(bytes.NewReader(b))
		r.FieldsPerRecord = -1
		for {
			rec, err := r.Read()
			if err != nil {
				break
			}
			off := r.InputOffset()
			if off > int64(len(b)) || (off > 0 && b[off-1] != '\n') {
				break
			}
			good = off
			if len(rec) > 0 && rec[0] != "id" {
				done[rec[0]] = true
			}
		}
		return done, good, nil
	}
	for len(b[good:]) > 0 {
		i := bytes.IndexByte(b[good:], '\n')
		if i < 0 {
			break
		}
		var rec batchRecord
		if json.Unmarshal(b[good:good+int64(i)], &rec) != nil {
			break
		}
		done[rec.ID] = true
		good += int64(i) + 1
	}
	return done, good, nil
}

type recordWriter interface {
	write(r batchRecord) error
}

type jsonlWriter struct{ w *bufio.Writer }

func (j jsonlWriter) write(r batchRecord) error {
	enc := json.NewEncoder(j.w)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(r); err != nil {
		return err
	}
	return j.w.Flush() // line by line, so a kill loses at most one line
}

type csvWriter struct{ w *csv.Writer }

func (c csvWriter) write(r batchRecord) error {
	ids := make([]string, len(r.IDs))
	for i, id := range r.IDs {
		ids[i] = strconv.Itoa(int(id))
	}
	var gen, prompt string
	if r.Timings != nil {
		gen, prompt = strconv.Itoa(r.Timings.GenTokens), strconv.Itoa(r.Timings.PromptTokens)
	}
	c.w.Write([]string{r.ID, strconv.Itoa(r.Line), r.Text, strings.Join(ids, " "), r.FinishReason, prompt, gen, r.Error})
	c.w.Flush()
	return c.w.Error()
}

func (f *runFlags) runBatch(cmd *cobra.Command, base bitnet.GenerateOptions) error {
	b := &f.batch
	if b.format != "jsonl" && b.format != "csv" {
		return usagef("--format must be jsonl or csv, got %q", b.format)
	}
	if b.resume && b.output == "" {
		return usagef("--resume needs -o FILE")
	}
	var in io.Reader
	name := b.input
	if b.input == "-" {
		in, name = cmd.InOrStdin(), "stdin"
	} else {
		fh, err := os.Open(b.input)
		if err != nil {
			return err
		}
		defer fh.Close()
		in = fh
	}
	jobs, err := parseBatch(name, in)
	if err != nil {
		return err
	}
	// Open the output before loading the model: a path that cannot be
	// written fails before any work starts.
	out := cmd.OutOrStdout()
	done := map[string]bool{}
	newFile := true
	if b.output != "" {
		flags := os.O_CREATE | os.O_WRONLY | os.O_TRUNC
		var keep int64
		if b.resume {
			if done, keep, err = resumeState(b.output, b.format); err != nil {
				return err
			}
			flags = os.O_CREATE | os.O_WRONLY
			newFile = keep == 0
		}
		fh, err := os.OpenFile(b.output, flags, 0o644)
		if err != nil {
			return err
		}
		defer fh.Close()
		if b.resume {
			if err := fh.Truncate(keep); err != nil {
				return err
			}
			if _, err := fh.Seek(keep, io.SeekStart); err != nil {
				return err
			}
		}
		out = fh
	}
	var w recordWriter = jsonlWriter{bufio.NewWriter(out)}
	if b.format == "csv" {
		cw := csv.NewWriter(out)
		if newFile {
			cw.Write([]string{"id", "line", "text", "ids", "finish_reason", "prompt_tokens", "gen_tokens", "error"})
		}
		w = csvWriter{cw}
	}
	var todo []batchJob
	for _, j := range jobs {
		if !done[j.id] {
			todo = append(todo, j)
		}
	}
	if len(todo) == 0 {
		return nil
	}
	ctx := cmd.Context()
	if f.slots == 0 {
		f.slots = 8
	}
	eng, m, err := f.open(ctx, cmd)
	if err != nil {
		return err
	}
	defer eng.Close()
	bar := newCountBar(cmd.ErrOrStderr(), "prompts", len(todo))
	defer bar.finish()

	// Up to `slots` prompts run at once (the engine batches them); records
	// are written in input order as soon as every earlier one is done.
	results := make([]chan batchRecord, len(todo))
	for i := range results {
		results[i] = make(chan batchRecord, 1)
	}
	sem := make(chan struct{}, f.slots)
	go func() {
		for i, j := range todo {
			select {
			case sem <- struct{}{}:
			case <-ctx.Done():
				return
			}
			go func() {
				defer func() { <-sem }()
				results[i] <- runOne(ctx, m, j, base)
			}()
		}
	}()
	for i := range todo {
		var rec batchRecord
		select {
		case rec = <-results[i]:
		case <-ctx.Done():
			return ctx.Err()
		}
		if err := w.write(rec); err != nil {
			return err
		}
		bar.add(1)
	}
	return nil
}

func runOne(ctx context.Context, m *bitnet.Model, j batchJob, base bitnet.GenerateOptions) batchRecord {
	rec := batchRecord{ID: j.id, Line: j.line}
	if j.err != nil {
		rec.Error = j.err.Error()
		return rec
	}
	o, err := j.req.options(base)
	if err != nil {
		rec.Error = fmt.Sprintf("line %d: %v", j.line, err)
		return rec
	}
	stream := m.Chat(ctx, j.req.Messages, o)
	if j.req.Prompt != nil {
		stream = m.Generate(ctx, *j.req.Prompt, o)
	}
	res, err := bitnet.Collect(stream)
	if err != nil {
		rec.Error = fmt.Sprintf("line %d: %v", j.line, err)
		return rec
	}
	rec.Text, rec.IDs, rec.FinishReason = res.Text, res.IDs, res.FinishReason
	rec.Timings = &batchTimings{PromptTokens: res.PromptTokens, PromptMS: ms(res.PromptTime), GenTokens: res.GenTokens, GenMS: ms(res.GenTime)}
	return rec
}

// countBar is a small progress line for counted work on a terminal.
type countBar struct {
	w     io.Writer
	what  string
	n, of int
	on    bool
	t0    time.Time
}

func newCountBar(w io.Writer, what string, of int) *countBar {
	b := &countBar{w: w, what: what, of: of, on: isTerminal(w), t0: time.Now()}
	b.draw()
	return b
}

func (b *countBar) add(n int) { b.n += n; b.draw() }

func (b *countBar) draw() {
	if !b.on {
		return
	}
	const width = 30
	fill := width * b.n / max(b.of, 1)
	rate := float64(b.n) / max(time.Since(b.t0).Seconds(), 1e-9)
	fmt.Fprintf(b.w, "\r%s %d/%d [%s%s] %.1f/s", b.what, b.n, b.of, strings.Repeat("=", fill), strings.Repeat(" ", width-fill), rate)
}

func (b *countBar) finish() {
	if b.on {
		fmt.Fprintln(b.w)
	}
}
