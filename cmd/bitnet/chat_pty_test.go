//go:build linux

package main

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// openPTY opens a pseudo-terminal pair without cgo. The master is
// non-blocking so that os.File puts it in the poller, where Close stops a
// pending Read.
func openPTY() (master, slave *os.File, err error) {
	mfd, err := unix.Open("/dev/ptmx", unix.O_RDWR|unix.O_NOCTTY|unix.O_CLOEXEC|unix.O_NONBLOCK, 0)
	if err != nil {
		return nil, nil, err
	}
	fail := func(err error) (*os.File, *os.File, error) {
		unix.Close(mfd)
		return nil, nil, err
	}
	if err := unix.IoctlSetPointerInt(mfd, unix.TIOCSPTLCK, 0); err != nil {
		return fail(fmt.Errorf("unlock pty: %w", err))
	}
	n, err := unix.IoctlGetUint32(mfd, unix.TIOCGPTN)
	if err != nil {
		return fail(fmt.Errorf("pty number: %w", err))
	}
	sfd, err := unix.Open(fmt.Sprintf("/dev/pts/%d", n), unix.O_RDWR|unix.O_NOCTTY|unix.O_CLOEXEC, 0)
	if err != nil {
		return fail(err)
	}
	// liner refuses to edit on a terminal too narrow for the prompt, and a
	// fresh pty is 0x0.
	if err := unix.IoctlSetWinsize(sfd, unix.TIOCSWINSZ, &unix.Winsize{Row: 40, Col: 200}); err != nil {
		unix.Close(sfd)
		return fail(err)
	}
	return os.NewFile(uintptr(mfd), "ptmx"), os.NewFile(uintptr(sfd), "pts"), nil
}

// ptyTerm drives a program on a pty. Output accumulates in buf; pos is how
// far expectations have consumed it, so each wait looks only at what came
// after the previous one.
type ptyTerm struct {
	t      *testing.T
	cmd    *exec.Cmd
	master *os.File
	mu     sync.Mutex
	buf    []byte
	pos    int
	exited chan error
}

const ptyWait = 90 * time.Second // per expectation; generous for a loaded machine

func startTerm(t *testing.T, env []string, bin string, args ...string) *ptyTerm {
	t.Helper()
	master, slave, err := openPTY()
	if err != nil {
		t.Skipf("no pseudo-terminal: %v", err)
	}
	cmd := exec.Command(bin, args...)
	cmd.Stdin, cmd.Stdout, cmd.Stderr = slave, slave, slave
	cmd.Env = env
	// A session of its own with the pty as controlling terminal makes the
	// program the foreground job, so the line discipline turns ^C into its
	// SIGINT, exactly as in a shell.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true, Setctty: true, Ctty: 0}
	if err := cmd.Start(); err != nil {
		master.Close()
		slave.Close()
		t.Fatal(err)
	}
	slave.Close() // else the master never sees EOF when the program exits
	tm := &ptyTerm{t: t, cmd: cmd, master: master, exited: make(chan error, 1)}
	go func() {
		b := make([]byte, 4096)
		for {
			n, err := master.Read(b)
			tm.mu.Lock()
			tm.buf = append(tm.buf, b[:n]...)
			tm.mu.Unlock()
			if err != nil {
				return
			}
		}
	}()
	go func() { tm.exited <- cmd.Wait() }()
	t.Cleanup(func() {
		cmd.Process.Kill()
		master.Close()
	})
	return tm
}

func (tm *ptyTerm) send(s string) {
	tm.t.Helper()
	if _, err := tm.master.WriteString(s); err != nil {
		tm.t.Fatalf("writing %q: %v", s, err)
	}
}

func (tm *ptyTerm) tail() string {
	tm.mu.Lock()
	defer tm.mu.Unlock()
	return string(tm.buf[max(0, len(tm.buf)-1500):])
}

// expect waits for the first of the patterns to match after pos, moves pos
// past it and returns which one matched and its submatches.
func (tm *ptyTerm) expect(what string, res ...*regexp.Regexp) (int, []string) {
	tm.t.Helper()
	deadline := time.Now().Add(ptyWait)
	for time.Now().Before(deadline) {
		tm.mu.Lock()
		out := string(tm.buf[tm.pos:])
		best, bestLoc := -1, []int(nil)
		for i, re := range res {
			if loc := re.FindStringSubmatchIndex(out); loc != nil && (bestLoc == nil || loc[0] < bestLoc[0]) {
				best, bestLoc = i, loc
			}
		}
		if best >= 0 {
			tm.pos += bestLoc[1]
			tm.mu.Unlock()
			var sub []string
			for i := 0; i+1 < len(bestLoc); i += 2 {
				if bestLoc[i] >= 0 {
					sub = append(sub, out[bestLoc[i]:bestLoc[i+1]])
				} else {
					sub = append(sub, "")
				}
			}
			return best, sub
		}
		tm.mu.Unlock()
		select {
		case err := <-tm.exited:
			tm.exited <- err
			time.Sleep(100 * time.Millisecond) // let the reader drain the last output
			tm.mu.Lock()
			done := len(tm.buf[tm.pos:]) == len(out)
			tm.mu.Unlock()
			if done {
				tm.t.Fatalf("waiting for %s: the program exited (%v); output ends %q", what, err, tm.tail())
			}
		case <-time.After(20 * time.Millisecond):
		}
	}
	tm.t.Fatalf("waiting for %s: nothing after %v; output ends %q", what, ptyWait, tm.tail())
	return -1, nil
}

func (tm *ptyTerm) expectText(s string) {
	tm.t.Helper()
	tm.expect(fmt.Sprintf("%q", s), regexp.MustCompile(regexp.QuoteMeta(s)))
}

// turn sends a message and waits for its stats line and the next prompt.
func (tm *ptyTerm) turn(msg string) footer {
	tm.t.Helper()
	tm.send(msg + "\r")
	_, sub := tm.expect("the stats line of "+msg, footerRE)
	tm.expectText(promptMain)
	return footers(tm.t, sub[0])[0]
}

func buildBitnet(t *testing.T) string {
	t.Helper()
	goTool, err := exec.LookPath("go")
	if err != nil {
		t.Skip("no go tool to build the binary")
	}
	bin := filepath.Join(t.TempDir(), "bitnet")
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	if out, err := exec.CommandContext(ctx, goTool, "build", "-o", bin, ".").CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	return bin
}

func TestChatTerminal(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary")
	}
	bin := buildBitnet(t)
	cache := t.TempDir()
	env := []string{"TERM=xterm", "HOME=" + cache, "XDG_CACHE_HOME=" + cache, "PATH=" + os.Getenv("PATH"), "HF_HUB_OFFLINE=1"}
	t.Run("Conversation", func(t *testing.T) { testChatTerminalConversation(t, bin, cache, env) })
	t.Run("QuitKeys", func(t *testing.T) { testChatTerminalQuitKeys(t, bin, env) })
}

func testChatTerminalConversation(t *testing.T, bin, cache string, env []string) {
	// --ignore-eos makes every answer as long as asked, so that one can be
	// made long enough to interrupt; -t 1 keeps it from racing by.
	tm := startTerm(t, env, bin, "chat", "--temperature", "0", "-n", "8", "--ignore-eos", "-t", "1")
	tm.expectText(promptMain)

	first := tm.turn("Hello")
	second := tm.turn("How are you?")
	if first.cached != 0 || second.cached == 0 || second.used <= first.used {
		t.Errorf("stats %+v then %+v: the second turn should reuse the first from the cache", first, second)
	}

	tm.send("/reset\r")
	tm.expectText("conversation cleared")
	tm.expectText(promptMain)

	// Ctrl-C at an idle prompt only explains how to quit.
	tm.send("\x03")
	tm.expectText("Ctrl-C again")
	tm.expectText(promptMain)

	tm.send("/set max_tokens 0\r")
	tm.expectText("max_tokens = 0")
	tm.expectText(promptMain)
	interrupted := regexp.MustCompile(`\[interrupted after (\d+) tokens \| ctx (\d+)/(\d+)\]`)
	var stopped []string
	for try := 0; stopped == nil; try++ {
		if try == 3 {
			t.Fatal("every long answer finished before Ctrl-C reached it")
		}
		tm.send("Tell me a long story\r")
		// The answer has begun once text follows the newline that ends the
		// echoed input.
		tm.expect("the answer to start", regexp.MustCompile(`story\r?\n[^\s\[]`))
		tm.send("\x03")
		which, sub := tm.expect("the interruption", interrupted, footerRE)
		tm.expectText(promptMain)
		if which == 0 {
			stopped = sub
			break
		}
		// The answer won the race and filled the context; the ^C then hit
		// the prompt, or fell between prompt and answer. Start over, which
		// also disarms a second ^C.
		tm.send("/reset\r")
		tm.expectText("conversation cleared")
		tm.expectText(promptMain)
	}
	t.Logf("interrupted: %s", stopped[0])

	saved := filepath.Join(cache, "conv.json")
	tm.send("/save " + saved + "\r")
	tm.expectText("saved 2 messages")
	tm.expectText(promptMain)
	if f := readChatFile(t, saved); len(f.Messages) != 2 || f.Messages[1].Role != "assistant" || strings.TrimSpace(f.Messages[1].Content) == "" {
		t.Errorf("the partial answer is not in the conversation: %+v", f)
	}

	tm.send("/set max_tokens 8\r")
	tm.expectText("max_tokens = 8")
	tm.expectText(promptMain)
	after := tm.turn("What happened next?")
	if after.cached == 0 {
		// bitnet.Session keeps the cache only if the engine hands it back
		// from a cancelled request (internal/engine: Engine.finish).
		t.Errorf("after Ctrl-C the next turn recomputed the whole conversation: %+v (interrupted with %s)", after, stopped[0])
	}

	tm.send("/exit\r")
	select {
	case err := <-tm.exited:
		if err != nil {
			t.Errorf("exit: %v; output ends %q", err, tm.tail())
		}
	case <-time.After(ptyWait):
		t.Fatalf("no exit after /exit; output ends %q", tm.tail())
	}

	hist, err := os.ReadFile(filepath.Join(cache, "bitnet", "chat_history"))
	if err != nil || !strings.Contains(string(hist), "How are you?") {
		t.Errorf("history file: %v, %q", err, hist)
	}
}

// A second Ctrl-C at the prompt and Ctrl-D both end the program cleanly.
func testChatTerminalQuitKeys(t *testing.T, bin string, env []string) {
	for _, keys := range [][]string{{"\x03", "\x03"}, {"\x04"}} {
		tm := startTerm(t, env, bin, "chat", "-n", "4")
		tm.expectText(promptMain)
		for i, k := range keys {
			if i > 0 {
				tm.expectText("Ctrl-C again")
			}
			tm.send(k)
		}
		select {
		case err := <-tm.exited:
			if err != nil {
				t.Errorf("%q: exit %v; output ends %q", keys, err, tm.tail())
			}
		case <-time.After(ptyWait):
			t.Fatalf("%q: still running; output ends %q", keys, tm.tail())
		}
	}
}
