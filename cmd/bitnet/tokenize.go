package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"

	"github.com/bitnet-go/bitnet"
	"github.com/spf13/cobra"
)

func init() { register(newTokenizeCmd) }

type tokenizeFlags struct {
	model          string
	json           bool
	jsonl          bool
	decode         bool
	addSpecial     bool
	noParseSpecial bool
	chat           string
}

func newTokenizeCmd() *cobra.Command {
	var f tokenizeFlags
	cmd := &cobra.Command{
		Use:   "tokenize -m MODEL [TEXT]",
		Short: "Turn text into token ids, or ids into text",
		Long: `tokenize encodes TEXT (or standard input) with a model's tokenizer and prints
the token ids, separated by spaces. The ids are exactly those of Hugging Face
tokenizers: special-token strings such as <|eot_id|> in the text become their
ids, and no BOS is added unless --add-special is given.

MODEL is a model folder (tokenizer.json or tokenizer.model, plus the configs
beside it), a tokenizer.json file or a tokenizer.model file.

With --jsonl, standard input holds one JSON object per line, {"text": "..."},
and each gets one output line {"ids": [...]}, in order. With --decode the
direction is reversed: ids (arguments, standard input, or {"ids": [...]}
lines with --jsonl) become text.

With --chat, a JSON file of messages ([{"role": "user", "content": "..."}],
or {"messages": [...], "add_generation_prompt": true}) is rendered with the
model's chat template, and the prompt and its ids are printed. Without
--add-special the ids are those of transformers' apply_chat_template; with it
the prompt gets exactly one BOS, which is what the model should be given.`,
		Example: `  bitnet tokenize -m ./bitnet-b1.58-2B-4T "Hello world"
  bitnet tokenize -m tokenizer.json --add-special --json "Hello world"
  echo '{"text": "Hello <|eot_id|>"}' | bitnet tokenize -m ./model --jsonl
  echo '{"ids": [9906, 1917]}' | bitnet tokenize -m ./model --jsonl --decode
  bitnet tokenize -m ./model --decode 9906 1917
  bitnet tokenize -m ./model --chat messages.json --add-special`,
		Args: cobra.ArbitraryArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			return runTokenize(cmd, args, f)
		},
	}
	fl := cmd.Flags()
	fl.StringVarP(&f.model, "model", "m", "", "model folder, tokenizer.json or tokenizer.model (required)")
	fl.BoolVar(&f.json, "json", false, "print a JSON array of ids (with --decode, a JSON string)")
	fl.BoolVar(&f.jsonl, "jsonl", false, `read {"text": ...} lines from standard input, write {"ids": [...]} lines`)
	fl.BoolVar(&f.decode, "decode", false, "turn ids into text")
	fl.BoolVar(&f.addSpecial, "add-special", false, "add what the tokenizer's post-processor adds (BOS)")
	fl.BoolVar(&f.noParseSpecial, "no-parse-special", false, "treat special-token strings in the text as plain text")
	fl.StringVar(&f.chat, "chat", "", `render a JSON messages file ("-" for standard input) with the chat template`)
	return cmd
}

func runTokenize(cmd *cobra.Command, args []string, f tokenizeFlags) error {
	switch {
	case f.model == "":
		return usagef("tokenize: -m MODEL is required")
	case f.chat != "" && (f.decode || f.jsonl):
		return usagef("tokenize: --chat cannot be combined with --decode or --jsonl")
	case f.chat != "" && len(args) > 0:
		return usagef("tokenize: --chat takes no TEXT argument")
	case f.jsonl && len(args) > 0:
		return usagef("tokenize: --jsonl reads standard input and takes no arguments")
	case f.jsonl && f.json:
		return usagef("tokenize: --json and --jsonl are exclusive")
	case !f.decode && len(args) > 1:
		return usagef("tokenize: give the text as one argument (quote it), or on standard input")
	}
	tok, err := bitnet.LoadTokenizer(f.model)
	if err != nil {
		return err
	}
	out := bufio.NewWriter(cmd.OutOrStdout())
	defer out.Flush()
	opts := bitnet.EncodeOptions{AddSpecial: f.addSpecial, NoParseSpecial: f.noParseSpecial}

	switch {
	case f.chat != "":
		err = tokenizeChat(cmd, out, tok, f, opts)
	case f.jsonl && f.decode:
		err = eachJSONLine(cmd.InOrStdin(), func(line []byte) (any, error) {
			var in struct {
				IDs *[]int32 `json:"ids"`
			}
			if err := json.Unmarshal(line, &in); err != nil || in.IDs == nil {
				return nil, errors.New(`want an object {"ids": [...]}`)
			}
			return struct {
				Text string `json:"text"`
			}{tok.Decode(*in.IDs)}, nil
		}, out)
	case f.jsonl:
		err = eachJSONLine(cmd.InOrStdin(), func(line []byte) (any, error) {
			var in struct {
				Text *string `json:"text"`
			}
			if err := json.Unmarshal(line, &in); err != nil || in.Text == nil {
				return nil, errors.New(`want an object {"text": "..."}`)
			}
			return struct {
				IDs []int32 `json:"ids"`
			}{nonNil(tok.Encode(*in.Text, opts))}, nil
		}, out)
	case f.decode:
		var ids []int32
		if ids, err = readIDs(cmd.InOrStdin(), args); err != nil {
			return err
		}
		text := tok.Decode(ids)
		if f.json {
			err = writeJSON(out, text)
		} else {
			_, err = fmt.Fprintln(out, text)
		}
	default:
		var text string
		if len(args) == 1 {
			text = args[0]
		} else {
			b, err := io.ReadAll(cmd.InOrStdin())
			if err != nil {
				return fmt.Errorf("tokenize: reading standard input: %w", err)
			}
			text = string(b)
		}
		err = printIDs(out, tok.Encode(text, opts), f.json)
	}
	if err != nil {
		return err
	}
	return out.Flush()
}

func tokenizeChat(cmd *cobra.Command, out *bufio.Writer, tok *bitnet.Tokenizer, f tokenizeFlags, opts bitnet.EncodeOptions) error {
	var data []byte
	var err error
	if f.chat == "-" {
		data, err = io.ReadAll(cmd.InOrStdin())
	} else {
		data, err = os.ReadFile(f.chat)
	}
	if err != nil {
		return fmt.Errorf("tokenize: %w", err)
	}
	msgs, addGen, err := parseChat(data)
	if err != nil {
		return fmt.Errorf("tokenize: %s: %w", f.chat, err)
	}
	if tok.ChatTemplate() == "" {
		fmt.Fprintf(cmd.ErrOrStderr(), "bitnet: %s has no chat template; using the default one\n", f.model)
	}
	prompt, err := bitnet.RenderChat(tok, msgs, addGen)
	if err != nil {
		return err
	}
	ids := tok.Encode(prompt, opts)
	// A template that writes bos_token itself must not get a second BOS.
	if opts.AddSpecial && len(ids) > 1 && ids[0] == tok.BOS() && ids[1] == tok.BOS() {
		ids = ids[1:]
	}
	if f.json {
		return writeJSON(out, struct {
			Prompt string  `json:"prompt"`
			IDs    []int32 `json:"ids"`
		}{prompt, nonNil(ids)})
	}
	if _, err := fmt.Fprintln(out, prompt); err != nil {
		return err
	}
	return printIDs(out, ids, false)
}

// parseChat reads a list of messages, or an object with "messages" and an
// optional "add_generation_prompt" (default true).
func parseChat(data []byte) ([]bitnet.Message, bool, error) {
	var list []bitnet.Message
	if err := json.Unmarshal(data, &list); err == nil {
		return list, true, nil
	}
	var obj struct {
		Messages            *[]bitnet.Message `json:"messages"`
		AddGenerationPrompt *bool             `json:"add_generation_prompt"`
	}
	if err := json.Unmarshal(data, &obj); err != nil || obj.Messages == nil {
		return nil, false, errors.New(`want a JSON list of {"role", "content"} messages or {"messages": [...]}`)
	}
	addGen := true
	if obj.AddGenerationPrompt != nil {
		addGen = *obj.AddGenerationPrompt
	}
	return *obj.Messages, addGen, nil
}

// eachJSONLine applies f to each non-blank line of r and writes the results
// as JSON lines.
func eachJSONLine(r io.Reader, f func([]byte) (any, error), out *bufio.Writer) error {
	br := bufio.NewReader(r)
	for n := 1; ; n++ {
		line, err := br.ReadBytes('\n')
		if len(bytes.TrimSpace(line)) > 0 {
			v, ferr := f(line)
			if ferr != nil {
				return fmt.Errorf("tokenize: standard input line %d: %w", n, ferr)
			}
			if werr := writeJSON(out, v); werr != nil {
				return werr
			}
		}
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return fmt.Errorf("tokenize: reading standard input: %w", err)
		}
	}
}

func writeJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	return enc.Encode(v)
}

func printIDs(w io.Writer, ids []int32, asJSON bool) error {
	if asJSON {
		return writeJSON(w, nonNil(ids))
	}
	var b strings.Builder
	for i, id := range ids {
		if i > 0 {
			b.WriteByte(' ')
		}
		b.WriteString(strconv.Itoa(int(id)))
	}
	b.WriteByte('\n')
	_, err := io.WriteString(w, b.String())
	return err
}

// readIDs reads ids from the arguments, or else from r, separated by
// spaces, commas or newlines; a JSON array also parses.
func readIDs(r io.Reader, args []string) ([]int32, error) {
	text := strings.Join(args, " ")
	if len(args) == 0 {
		b, err := io.ReadAll(r)
		if err != nil {
			return nil, fmt.Errorf("tokenize: reading standard input: %w", err)
		}
		text = string(b)
	}
	fields := strings.FieldsFunc(text, func(r rune) bool {
		return r == ',' || r == '[' || r == ']' || r == ' ' || r == '\t' || r == '\n' || r == '\r'
	})
	ids := make([]int32, 0, len(fields))
	for _, s := range fields {
		v, err := strconv.ParseInt(s, 10, 32)
		if err != nil {
			return nil, usagef("tokenize --decode: %q is not a token id", s)
		}
		ids = append(ids, int32(v))
	}
	return ids, nil
}

// nonNil makes an empty result print as [] rather than null.
func nonNil(ids []int32) []int32 {
	if ids == nil {
		return []int32{}
	}
	return ids
}
