package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"unicode"

	"github.com/peterh/liner"
	"github.com/spf13/cobra"

	"github.com/bitnet-go/bitnet"
)

func init() { register(newChatCmd) }

type chatFlags struct {
	modelFlags
	sampleFlags
	system  string
	verbose bool
}

// chatCommandHelp is shared by --help and /help so the two never disagree.
const chatCommandHelp = `Commands:
  /help               show this list
  /reset              start a new conversation (the system prompt stays)
  /system TEXT        set the system prompt and start a new conversation;
                      /system alone shows it, /system - removes it
  /set NAME VALUE     change a generation setting: temperature, top_k, top_p,
                      min_p, repeat_penalty, seed, max_tokens; /set alone lists them
  /save FILE          write the conversation (system prompt and messages) as JSON
  /load FILE          continue a conversation written by /save
  /exit               quit (also Ctrl-D, or Ctrl-C twice at the prompt)

Input:
  Enter sends the message. A line ending in \ continues on the next line.
  A block that starts with a line """ and ends with a line """ is one
  message, sent as written (no commands, no \ continuations in it).
  Start a message with // to send a line that begins with /.`

func newChatCmd() *cobra.Command {
	f := &chatFlags{}
	cmd := &cobra.Command{
		Use:   "chat",
		Short: "Chat with a model in the terminal, or run a scripted conversation",
		Long: `Chat with a model. Each message goes through the model's chat template, and
the KV cache is kept between turns, so a turn only computes its new tokens.

` + chatCommandHelp + `

Up and Down recall earlier lines; they are kept in the user cache folder
(bitnet/chat_history). Ctrl-C while the model answers stops the answer; what
it wrote so far stays in the conversation. After each answer a line on stderr
shows the generation speed, the prompt tokens computed and reused from the
cache, and how much of the context the conversation fills.

When stdin is not a terminal, chat reads the conversation from it: every
non-empty line (or """ block) is a user message, and the commands work as
above. Each answer is written to stdout followed by a newline; nothing else
is. The first failing command or turn ends the run with exit status 1.
--verbose adds the stats lines and command messages on stderr.`,
		Example: `  bitnet chat
  bitnet chat -m microsoft/bitnet-b1.58-2B-4T --system "You are a terse assistant."
  bitnet chat --temperature 0 -n 64 < questions.txt > answers.txt
  printf '/set seed 42\nHello!\n"""\nWrite a haiku\nabout the sea.\n"""\n' | bitnet chat -v`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			return f.run(cmd)
		},
	}
	fs := cmd.Flags()
	f.modelFlags.register(fs)
	f.sampleFlags.register(fs, 512)
	fs.StringVar(&f.system, "system", "", "system prompt")
	fs.BoolVarP(&f.verbose, "verbose", "v", false, "when stdin is not a terminal: print stats and command messages to stderr")
	return cmd
}

func (f *chatFlags) run(cmd *cobra.Command) error {
	opts, err := f.options()
	if err != nil {
		return err
	}
	ctx := cmd.Context()
	eng, m, err := f.open(ctx, cmd)
	if err != nil {
		return err
	}
	defer eng.Close()
	info, err := m.Info()
	if err != nil {
		return err
	}
	c := &chat{m: m, sf: f.sampleFlags, opts: opts, system: f.system, sess: bitnet.NewSession(),
		ctxLen: info.Context, out: cmd.OutOrStdout(), errOut: cmd.ErrOrStderr()}
	// liner talks to os.Stdin and os.Stdout itself, so line editing is
	// only possible when those are the terminal.
	in := cmd.InOrStdin()
	if in == os.Stdin && c.out == os.Stdout && isTerminal(in) && isTerminal(c.out) {
		return c.interactive(ctx)
	}
	return c.scripted(ctx, in, f.verbose)
}

// chat is one conversation: what the user sees (msgs) and the KV cache
// that mirrors it (sess).
type chat struct {
	m      *bitnet.Model
	sf     sampleFlags // the source of opts, which /set edits
	opts   bitnet.GenerateOptions
	system string
	msgs   []bitnet.Message
	sess   *bitnet.Session
	ctxLen int
	out    io.Writer
	errOut io.Writer
}

func (c *chat) conversation() []bitnet.Message {
	msgs := make([]bitnet.Message, 0, len(c.msgs)+1)
	if c.system != "" {
		msgs = append(msgs, bitnet.Message{Role: "system", Content: c.system})
	}
	return append(msgs, c.msgs...)
}

func (c *chat) reset() {
	c.msgs = nil
	c.sess.Reset()
}

// turn sends one user message and streams the answer to w. It returns
// the number of tokens streamed, which is all an interrupted turn can
// report.
func (c *chat) turn(ctx context.Context, text string, w *answerWriter) (bitnet.Result, int, error) {
	c.msgs = append(c.msgs, bitnet.Message{Role: "user", Content: text})
	opts := c.opts
	opts.Session = c.sess
	var answer strings.Builder
	n := 0
	for tok, err := range c.m.Chat(ctx, c.conversation(), opts) {
		if err != nil {
			c.keepPartial(answer.String())
			return bitnet.Result{}, n, err
		}
		if tok.Final != nil {
			c.msgs = append(c.msgs, bitnet.Message{Role: "assistant", Content: tok.Final.Text})
			return *tok.Final, n, nil
		}
		n++
		answer.WriteString(tok.Text)
		w.write(tok.Text)
	}
	c.keepPartial(answer.String())
	return bitnet.Result{}, n, errors.New("the answer ended without a result")
}

// keepPartial ends a failed turn. Whatever was answered stays, as the
// user saw it; with nothing answered the question goes too, because many
// chat templates refuse two user messages in a row.
func (c *chat) keepPartial(answer string) {
	if strings.TrimSpace(answer) == "" {
		c.msgs = c.msgs[:len(c.msgs)-1]
		return
	}
	c.msgs = append(c.msgs, bitnet.Message{Role: "assistant", Content: answer})
}

func (c *chat) footer(r bitnet.Result) string {
	return fmt.Sprintf("[%.1f tok/s | %d new + %d cached prompt tokens | ctx %d/%d]",
		perSec(r.GenTokens-1, r.GenTime), r.PromptTokens-r.CachedTokens, r.CachedTokens, c.sess.Len(), c.ctxLen)
}

// answerWriter streams an answer without the whitespace around it, so
// that the one newline written after it ends it exactly.
type answerWriter struct {
	w       io.Writer
	started bool
	held    string // trailing whitespace, written only if more text follows
}

func (a *answerWriter) write(s string) {
	if !a.started {
		s = strings.TrimLeftFunc(s, unicode.IsSpace)
		if s == "" {
			return
		}
		a.started = true
	}
	body := strings.TrimRightFunc(s, unicode.IsSpace)
	if body == "" {
		a.held += s
		return
	}
	io.WriteString(a.w, a.held+body)
	a.held = s[len(body):]
}

// scripted runs a conversation read from r; see the command's help.
func (c *chat) scripted(ctx context.Context, r io.Reader, verbose bool) error {
	src := &lineReader{r: bufio.NewReader(r)}
	for {
		start := src.n + 1
		text, block, err := readInput(src.next)
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return fmt.Errorf("line %d: %w", start, err)
		}
		if text == "" {
			continue
		}
		if !block && isChatCommand(text) {
			msg, quit, err := c.command(text)
			if err != nil {
				return fmt.Errorf("line %d: %w", start, err)
			}
			if msg != "" && (verbose || strings.HasPrefix(text, "/help")) {
				fmt.Fprintln(c.errOut, msg)
			}
			if quit {
				return nil
			}
			continue
		}
		if !block {
			text = unescapeSlash(text)
		}
		w := &answerWriter{w: c.out}
		res, _, err := c.turn(ctx, text, w)
		if err != nil {
			if w.started {
				fmt.Fprintln(c.out)
			}
			return fmt.Errorf("line %d: %w", start, err)
		}
		fmt.Fprintln(c.out)
		if verbose {
			fmt.Fprintln(c.errOut, c.footer(res))
		}
	}
}

// lineReader hands out the lines of a script, counting them for errors.
type lineReader struct {
	r *bufio.Reader
	n int
}

func (l *lineReader) next(string) (string, error) {
	s, err := l.r.ReadString('\n')
	if err != nil && (err != io.EOF || s == "") {
		return "", err
	}
	l.n++
	return strings.TrimRight(s, "\r\n"), nil
}

const (
	promptMain = ">>> "
	promptMore = "... "
)

var errUnterminatedBlock = errors.New(`the input ended inside a """ block`)

// readInput assembles one message or command from one or more lines read
// with next. block reports a """ block, whose text is never a command.
func readInput(next func(prompt string) (string, error)) (text string, block bool, err error) {
	line, err := next(promptMain)
	if err != nil {
		return "", false, err
	}
	if rest, ok := strings.CutPrefix(strings.TrimSpace(line), `"""`); ok {
		var lines []string
		for {
			if body, done := strings.CutSuffix(strings.TrimRightFunc(rest, unicode.IsSpace), `"""`); done {
				lines = append(lines, body)
				break
			}
			lines = append(lines, rest)
			if rest, err = next(promptMore); err != nil {
				if err == io.EOF {
					err = errUnterminatedBlock
				}
				return "", true, err
			}
		}
		return strings.TrimSpace(strings.Join(lines, "\n")), true, nil
	}
	var lines []string
	for {
		body, more := strings.CutSuffix(strings.TrimRightFunc(line, unicode.IsSpace), `\`)
		lines = append(lines, body)
		if !more {
			break
		}
		if line, err = next(promptMore); err != nil {
			if err == io.EOF {
				break // a dangling \ at the end of a script is no reason to fail
			}
			return "", false, err
		}
	}
	return strings.TrimSpace(strings.Join(lines, "\n")), false, nil
}

func isChatCommand(text string) bool {
	return strings.HasPrefix(text, "/") && !strings.HasPrefix(text, "//")
}

func unescapeSlash(text string) string {
	if strings.HasPrefix(text, "//") {
		return text[1:]
	}
	return text
}

// interactive is the terminal chat: liner for input, Ctrl-C to stop an
// answer.
func (c *chat) interactive(ctx context.Context) error {
	// main's signal context is cancelled by the first Ctrl-C; here Ctrl-C
	// only ever stops one answer, so turns hang off a context it cannot
	// reach.
	base := context.WithoutCancel(ctx)
	ln := liner.NewLiner()
	defer ln.Close()
	ln.SetCtrlCAborts(true)
	ln.SetCompleter(completeChat)
	hist := chatHistoryPath()
	if f, err := os.Open(hist); err == nil {
		ln.ReadHistory(f)
		f.Close()
	}
	defer saveChatHistory(ln, hist)

	name := c.m.Name()
	fmt.Fprintf(c.errOut, "%s · context %d tokens · /help for commands, Ctrl-D to quit\n", name, c.ctxLen)
	if c.system != "" {
		fmt.Fprintf(c.errOut, "system prompt: %s\n", c.system)
	}
	next := func(prompt string) (string, error) {
		s, err := ln.Prompt(prompt)
		if err == nil && strings.TrimSpace(s) != "" {
			ln.AppendHistory(s)
		}
		return s, err
	}
	aborted := false // the last prompt ended in Ctrl-C
	for {
		text, block, err := readInput(next)
		switch {
		case errors.Is(err, liner.ErrPromptAborted):
			if aborted {
				return nil
			}
			aborted = true
			fmt.Fprintln(c.errOut, "(Ctrl-C again, Ctrl-D or /exit to quit)")
			continue
		case err == io.EOF:
			fmt.Fprintln(c.out)
			return nil
		case err != nil:
			return err
		}
		aborted = false
		if text == "" {
			continue
		}
		if !block && isChatCommand(text) {
			msg, quit, err := c.command(text)
			if err != nil {
				fmt.Fprintln(c.errOut, "error:", err)
			} else if msg != "" {
				fmt.Fprintln(c.errOut, msg)
			}
			if quit {
				return nil
			}
			continue
		}
		if !block {
			text = unescapeSlash(text)
		}
		c.interactiveTurn(base, text)
	}
}

// interactiveTurn runs one turn that Ctrl-C can stop. While it runs the
// terminal is out of liner's raw mode, so Ctrl-C arrives as SIGINT.
func (c *chat) interactiveTurn(base context.Context, text string) {
	ctx, cancel := context.WithCancel(base)
	defer cancel()
	sig := make(chan os.Signal, 1)
	signal.Notify(sig, os.Interrupt)
	defer signal.Stop(sig)
	go func() {
		select {
		case <-sig:
			cancel()
		case <-ctx.Done():
		}
	}()
	w := &answerWriter{w: c.out}
	res, n, err := c.turn(ctx, text, w)
	if w.started {
		fmt.Fprintln(c.out)
	}
	switch {
	case err != nil && ctx.Err() != nil:
		fmt.Fprintf(c.errOut, "[interrupted after %d tokens | ctx %d/%d]\n", n, c.sess.Len(), c.ctxLen)
	case errors.Is(err, bitnet.ErrContextFull):
		fmt.Fprintf(c.errOut, "error: %v\n(/reset starts a new conversation; /save keeps this one)\n", err)
	case err != nil:
		fmt.Fprintln(c.errOut, "error:", err)
	default:
		fmt.Fprintln(c.errOut, c.footer(res))
		if res.FinishReason == "length" && c.sess.Len()+1 >= c.ctxLen {
			fmt.Fprintln(c.errOut, "(the context is full: /reset starts a new conversation)")
		}
	}
}

func chatHistoryPath() string {
	dir, err := os.UserCacheDir()
	if err != nil {
		return ""
	}
	return filepath.Join(dir, "bitnet", "chat_history")
}

// saveChatHistory is best effort: losing the history must never cost the
// user the exit status of a good session.
func saveChatHistory(ln *liner.State, path string) {
	if path == "" {
		return
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return
	}
	f, err := os.Create(path)
	if err != nil {
		return
	}
	ln.WriteHistory(f)
	f.Close()
}

func completeChat(line string) []string {
	if rest, ok := strings.CutPrefix(line, "/set "); ok {
		var out []string
		for _, p := range chatParams {
			if strings.HasPrefix(p.name, rest) {
				out = append(out, "/set "+p.name+" ")
			}
		}
		return out
	}
	if !strings.HasPrefix(line, "/") {
		return nil
	}
	var out []string
	for _, c := range []string{"/help", "/reset", "/system ", "/set ", "/save ", "/load ", "/exit"} {
		if strings.HasPrefix(c, line) {
			out = append(out, c)
		}
	}
	return out
}
