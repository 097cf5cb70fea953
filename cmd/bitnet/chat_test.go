package main

import (
	"encoding/json"
	"errors"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/bitnet-go/bitnet"
)

var footerRE = regexp.MustCompile(`\[[0-9.]+ tok/s \| (\d+) new \+ (\d+) cached prompt tokens \| ctx (\d+)/(\d+)\]`)

type footer struct{ fresh, cached, used, total int }

func footers(t *testing.T, stderr string) []footer {
	t.Helper()
	var out []footer
	for _, m := range footerRE.FindAllStringSubmatch(stderr, -1) {
		var f footer
		for i, p := range []*int{&f.fresh, &f.cached, &f.used, &f.total} {
			n, err := strconv.Atoi(m[i+1])
			if err != nil {
				t.Fatal(err)
			}
			*p = n
		}
		out = append(out, f)
	}
	return out
}

func readChatFile(t *testing.T, path string) chatFile {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var f chatFile
	if err := json.Unmarshal(b, &f); err != nil {
		t.Fatalf("%s: %v\n%s", path, err, b)
	}
	return f
}

func TestChatScripted(t *testing.T) {
	dir := t.TempDir()
	saved := filepath.Join(dir, "conv.json")
	gen := []string{"chat", "--temperature", "0", "-n", "12", "-v"}

	afterReset := filepath.Join(dir, "reset.json")
	script := "Hello\n\nHow are you?\n/save " + saved + "\n/reset\nHello\n/save " + afterReset + "\n"
	code, stdout, stderr := cli(t, script, gen...)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	f := readChatFile(t, saved)
	want := []bitnet.Message{{Role: "user", Content: "Hello"}, {Role: "assistant"}, {Role: "user", Content: "How are you?"}, {Role: "assistant"}}
	if f.System != "" || len(f.Messages) != len(want) {
		t.Fatalf("saved %+v", f)
	}
	for i, m := range f.Messages {
		if m.Role != want[i].Role || (m.Role == "user" && m.Content != want[i].Content) {
			t.Errorf("messages[%d] = %+v, want %+v", i, m, want[i])
		}
	}
	g := readChatFile(t, afterReset)
	if len(g.Messages) != 2 || g.Messages[1] != f.Messages[1] {
		t.Errorf("after /reset the same question got %+v, first %+v", g.Messages, f.Messages[:2])
	}
	// Answers may span lines; what identifies them is the newline after
	// each, and the text the conversation kept.
	var printed strings.Builder
	for _, m := range append(f.Messages, g.Messages...) {
		if m.Role == "assistant" {
			printed.WriteString(strings.TrimSpace(m.Content) + "\n")
		}
	}
	if stdout != printed.String() {
		t.Errorf("stdout %q, want the answers %q", stdout, printed.String())
	}
	fs := footers(t, stderr)
	if len(fs) != 3 {
		t.Fatalf("want 3 stats lines on stderr, got %q", stderr)
	}
	if fs[0].cached != 0 || fs[1].cached == 0 || fs[2].cached != 0 {
		t.Errorf("cached prompt tokens per turn %d, %d, %d; want 0, >0, 0 (the second turn reuses the first, /reset clears)",
			fs[0].cached, fs[1].cached, fs[2].cached)
	}
	if fs[1].used <= fs[0].used || fs[1].total != fs[0].total {
		t.Errorf("context use %+v then %+v", fs[0], fs[1])
	}

	// A fresh process that loads the first turn and asks the second must
	// say what the cached run said: the cache changes cost, not output.
	first := filepath.Join(dir, "first.json")
	b, _ := json.Marshal(chatFile{Messages: f.Messages[:2]})
	if err := os.WriteFile(first, b, 0o644); err != nil {
		t.Fatal(err)
	}
	resaved := filepath.Join(dir, "resaved.json")
	code, stdout, stderr = cli(t, "/load "+first+"\nHow are you?\n/save "+resaved+"\n", gen...)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	if want := strings.TrimSpace(f.Messages[3].Content) + "\n"; stdout != want {
		t.Errorf("second turn from a loaded conversation %q, with the cache %q", stdout, want)
	}
	if fs := footers(t, stderr); len(fs) != 1 || fs[0].cached != 0 {
		t.Errorf("a fresh process reused tokens? %q", stderr)
	}
	if a, b := readChatFile(t, saved), readChatFile(t, resaved); !equalMessages(a.Messages, b.Messages) {
		t.Errorf("/load then /save changed the conversation:\n%+v\n%+v", a, b)
	}
}

func equalMessages(a, b []bitnet.Message) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

func TestChatScriptedSystemAndBlocks(t *testing.T) {
	dir := t.TempDir()
	saved := filepath.Join(dir, "conv.json")
	script := strings.Join([]string{
		"/system You are a storyteller.",
		`"""`,
		"Tell me",
		"/reset is not a command in a block",
		`"""`,
		`Once upon \`,
		"a time",
		"//set is a message",
		"/save " + saved,
		"/system You are a pirate.",
		"/save " + filepath.Join(dir, "after.json"),
		"/exit",
		"never sent",
	}, "\n")
	code, stdout, stderr := cli(t, script, "chat", "--temperature", "0", "-n", "4")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	if stderr != "" {
		t.Errorf("stderr without --verbose: %q", stderr)
	}
	if n := strings.Count(stdout, "\n"); n != 3 {
		t.Errorf("want 3 answers, got %q", stdout)
	}
	f := readChatFile(t, saved)
	var users []string
	for _, m := range f.Messages {
		if m.Role == "user" {
			users = append(users, m.Content)
		}
	}
	want := []string{"Tell me\n/reset is not a command in a block", "Once upon \na time", "/set is a message"}
	if f.System != "You are a storyteller." || strings.Join(users, "|") != strings.Join(want, "|") {
		t.Errorf("saved system %q, user messages %q; want %q", f.System, users, want)
	}
	if f := readChatFile(t, filepath.Join(dir, "after.json")); f.System != "You are a pirate." || len(f.Messages) != 0 {
		t.Errorf("/system did not set and reset: %+v", f)
	}
}

func TestChatScriptedErrors(t *testing.T) {
	dir := t.TempDir()
	bad := filepath.Join(dir, "bad.json")
	if err := os.WriteFile(bad, []byte(`{"messages":[{"role":"user","content":"hi"},{"role":"tool","content":"x"}]}`), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		script  string
		answers int // turns answered before the error
		want    []string
	}{
		{"/set temperature -1\nHello\n", 0, []string{"line 1", "temperature", "-1"}},
		{"Hello\n/set top_p 0\n", 1, []string{"line 2", "top_p"}},
		{"/set top-k many\n", 0, []string{"top_k", `"many"`}},
		{"/set max_tokens\n", 0, []string{"max_tokens"}},
		{"/set warmth 3\n", 0, []string{`"warmth"`, "temperature"}},
		{"/frobnicate\n", 0, []string{"/frobnicate"}},
		{"/load " + filepath.Join(dir, "missing.json") + "\n", 0, []string{"/load", "missing.json"}},
		{"/load " + bad + "\n", 0, []string{"messages[1]", "tool"}},
		{"\"\"\"\nunterminated\n", 0, []string{"line 1", `"""`}},
	} {
		code, stdout, stderr := cli(t, tc.script, "chat", "--temperature", "0", "-n", "2")
		ok := code == 1 && strings.Count(stdout, "\n") == tc.answers
		for _, w := range tc.want {
			ok = ok && strings.Contains(stderr, w)
		}
		if !ok {
			t.Errorf("%q: exit %d, stdout %q, stderr %q; want exit 1 after %d answers, naming %q", tc.script, code, stdout, stderr, tc.answers, tc.want)
		}
	}
	if code, _, stderr := cli(t, "", "chat", "--temperature", "-1"); code != 2 || !strings.Contains(stderr, "--temperature") {
		t.Errorf("bad flag: exit %d, %q", code, stderr)
	}
}

func TestChatReadInput(t *testing.T) {
	for _, tc := range []struct {
		lines []string
		text  string
		block bool
		err   error
	}{
		{[]string{"  hi  "}, "hi", false, nil},
		{[]string{`a \`, `b\`, "c"}, "a \nb\nc", false, nil},
		{[]string{`dangling \`}, "dangling", false, nil},
		{[]string{`"""one line"""`}, "one line", true, nil},
		{[]string{`"""`, `  x \`, "", `y"""`}, "x \\\n\ny", true, nil},
		{[]string{`"""first`, `"""`}, "first", true, nil},
		{[]string{`"""`, "x"}, "", true, errUnterminatedBlock},
		{nil, "", false, io.EOF},
	} {
		i := 0
		var prompts []string
		next := func(p string) (string, error) {
			prompts = append(prompts, p)
			if i == len(tc.lines) {
				return "", io.EOF
			}
			i++
			return tc.lines[i-1], nil
		}
		text, block, err := readInput(next)
		if text != tc.text || block != tc.block || !errors.Is(err, tc.err) {
			t.Errorf("%q: got %q, %v, %v; want %q, %v, %v", tc.lines, text, block, err, tc.text, tc.block, tc.err)
		}
		if len(prompts) > 0 && (prompts[0] != promptMain || (len(prompts) > 1 && prompts[1] != promptMore)) {
			t.Errorf("%q: prompts %q", tc.lines, prompts)
		}
	}
}

func TestChatAnswerWriter(t *testing.T) {
	var b strings.Builder
	w := &answerWriter{w: &b}
	for _, s := range []string{" \n", " Hello", " ", "world", "\n\n", "!", " \n"} {
		w.write(s)
	}
	if got := b.String(); got != "Hello world\n\n!" {
		t.Errorf("got %q", got)
	}
}
