package main

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"testing"
)

// cli runs the command in-process and returns exit code, stdout, stderr.
func cli(t *testing.T, stdin string, args ...string) (int, string, string) {
	t.Helper()
	var out, errb bytes.Buffer
	code := execute(context.Background(), args, strings.NewReader(stdin), &out, &errb)
	return code, out.String(), errb.String()
}

func TestRunJSONMatchesReference(t *testing.T) {
	b, err := os.ReadFile("../../testdata/models/bitnet-tiny/reference.json")
	if err != nil {
		t.Fatal(err)
	}
	var ref struct {
		Prompts []struct {
			Prompt   string  `json:"prompt"`
			InputIDs []int32 `json:"input_ids"`
			A8       struct {
				GreedyIDs     []int32   `json:"greedy_ids"`
				GreedyText    string    `json:"greedy_text"`
				GreedyMargins []float32 `json:"greedy_margins"`
			} `json:"w158a8"`
		} `json:"prompts"`
	}
	if err := json.Unmarshal(b, &ref); err != nil {
		t.Fatal(err)
	}
	for _, model := range []string{"", "../../internal/embedded/tiny"} {
		for _, p := range ref.Prompts {
			code, stdout, stderr := cli(t, "", "run", "-m", model, "-p", p.Prompt, "-n", "32", "--temperature", "0", "--json")
			if code != 0 {
				t.Fatalf("exit %d: %s", code, stderr)
			}
			var got runOutput
			if err := json.Unmarshal([]byte(stdout), &got); err != nil {
				t.Fatalf("output is not one JSON object: %v\n%s", err, stdout)
			}
			if !slices.Equal(got.PromptIDs, p.InputIDs) {
				t.Errorf("%q: prompt ids %v, want %v", p.Prompt, got.PromptIDs, p.InputIDs)
			}
			// Compare up to the first step where honest engines may differ;
			// the reference decodes past EOS, we stop there.
			n := len(p.A8.GreedyIDs)
			for s, m := range p.A8.GreedyMargins {
				if m < 0.05 {
					n = s
					break
				}
			}
			n = min(n, len(got.IDs))
			if !slices.Equal(got.IDs[:n], p.A8.GreedyIDs[:n]) {
				t.Errorf("%q: ids %v, want %v", p.Prompt, got.IDs[:n], p.A8.GreedyIDs[:n])
			}
			if got.Timings.PromptTokens != len(p.InputIDs) || got.Timings.GenTokens != len(got.IDs) {
				t.Errorf("timings %+v", got.Timings)
			}
			if p.Prompt == "Once upon a time" && got.Text != p.A8.GreedyText {
				t.Errorf("text %q, want %q", got.Text, p.A8.GreedyText)
			}
		}
	}
}

func TestRunPromptIDsAndStreaming(t *testing.T) {
	code, stdout, stderr := cli(t, "", "run", "--prompt-ids", "4086,411,432,258,385", "-n", "8", "--temperature", "0")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	if want := ", there was a little girl named Lily"; !strings.HasPrefix(stdout, want) {
		t.Fatalf("got %q, want prefix %q", stdout, want)
	}
}

// More threads than CPUs still run, with a warning; one per CPU gets none,
// and the output does not depend on the count.
func TestRunThreadsWarning(t *testing.T) {
	var outs []string
	for _, n := range []int{runtime.NumCPU(), runtime.NumCPU() + 1} {
		code, stdout, stderr := cli(t, "", "run", "-t", strconv.Itoa(n), "-n", "6", "--temperature", "0", "Once upon a time")
		if code != 0 {
			t.Fatalf("-t %d: exit %d: %s", n, code, stderr)
		}
		if warned := strings.Contains(stderr, "warning: "+strconv.Itoa(n)+" threads on"); warned != (n > runtime.NumCPU()) {
			t.Errorf("-t %d: stderr %q", n, stderr)
		}
		outs = append(outs, stdout)
	}
	if outs[0] != outs[1] || outs[0] == "" {
		t.Errorf("outputs %q", outs)
	}
}

func TestRunBadInput(t *testing.T) {
	long := strings.Repeat("once upon a time ", 200)
	for _, tc := range []struct {
		args []string
		code int
		want string
	}{
		{[]string{"run", "--temperature", "-1", "hi"}, 2, "--temperature"},
		{[]string{"run", "--top-p", "1.5", "hi"}, 2, "--top-p"},
		{[]string{"run", "-n", "-3", "hi"}, 2, "--n-predict"},
		{[]string{"run", "--prompt-ids", "1,x", "-n", "1"}, 2, "--prompt-ids"},
		{[]string{"run"}, 2, "no prompt"},
		{[]string{"run", "-m", "/nonexistent/model", "hi"}, 1, "/nonexistent/model"},
		{[]string{"run", "--ctx", "16", long}, 1, "longer than the context"},
		{[]string{"run", "--prompt-ids", "99999", "-n", "1"}, 1, "outside the vocabulary"},
		{[]string{"run", "--isa", "sse9", "hi"}, 1, "sse9"},
		{[]string{"run", "--kv-type", "q8", "hi"}, 1, `KV cache type "q8"`},
	} {
		code, _, stderr := cli(t, "", tc.args...)
		if code != tc.code || !strings.Contains(stderr, tc.want) {
			t.Errorf("%v: exit %d, stderr %q; want exit %d mentioning %q", tc.args, code, stderr, tc.code, tc.want)
		}
	}
}
