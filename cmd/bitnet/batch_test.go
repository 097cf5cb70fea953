package main

import (
	"bufio"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// writePrompts writes n prompt lines, with malformed lines at the given
// 1-based positions.
func writePrompts(t *testing.T, n int, bad map[int]bool, maxTokens int) string {
	t.Helper()
	var b strings.Builder
	for i := 1; i <= n; i++ {
		if bad[i] {
			b.WriteString(`{"id": "broken", "prompt": ` + "\n")
			continue
		}
		fmt.Fprintf(&b, `{"id": "p%d", "prompt": "Once upon a time %d", "max_tokens": %d, "temperature": 0}`+"\n", i, i, maxTokens)
	}
	p := filepath.Join(t.TempDir(), "prompts.jsonl")
	if err := os.WriteFile(p, []byte(b.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

func readRecords(t *testing.T, path string) []batchRecord {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var out []batchRecord
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		var r batchRecord
		if err := json.Unmarshal(sc.Bytes(), &r); err != nil {
			t.Fatalf("bad output line %q: %v", sc.Text(), err)
		}
		out = append(out, r)
	}
	return out
}

func TestBatchFile(t *testing.T) {
	bad := map[int]bool{5: true, 17: true, 42: true}
	in := writePrompts(t, 50, bad, 4)
	out := filepath.Join(t.TempDir(), "out.jsonl")
	if code, _, stderr := cli(t, "", "run", "-f", in, "-o", out); code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	recs := readRecords(t, out)
	if len(recs) != 50 {
		t.Fatalf("%d records, want 50", len(recs))
	}
	errs := 0
	for i, r := range recs {
		if r.Line != i+1 {
			t.Errorf("record %d is for line %d: out of order", i, r.Line)
		}
		if bad[i+1] {
			errs++
			if r.Error == "" || !strings.Contains(r.Error, fmt.Sprintf("line %d", i+1)) {
				t.Errorf("line %d: error record %+v does not name the line", i+1, r)
			}
			continue
		}
		if r.Error != "" || r.ID != fmt.Sprintf("p%d", i+1) || len(r.IDs) != 4 || r.FinishReason != "length" {
			t.Errorf("line %d: %+v", i+1, r)
		}
	}
	if errs != 3 {
		t.Errorf("%d error records, want 3", errs)
	}
}

func TestBatchBadInput(t *testing.T) {
	dir := t.TempDir()
	notJSONL := filepath.Join(dir, "p.txt")
	os.WriteFile(notJSONL, []byte("hello\nworld\n"), 0o644)
	good := writePrompts(t, 2, nil, 2)
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"run", "-f", filepath.Join(dir, "missing.jsonl")}, "missing.jsonl"},
		{[]string{"run", "-f", notJSONL}, "p.txt line 1"},
		{[]string{"run", "-f", good, "-o", filepath.Join(dir, "no", "such", "dir", "out.jsonl")}, "out.jsonl"},
		{[]string{"run", "-f", good, "--format", "xml"}, "--format"},
	} {
		code, _, stderr := cli(t, "", tc.args...)
		if code == 0 || !strings.Contains(stderr, tc.want) {
			t.Errorf("%v: exit %d, stderr %q; want an error naming %q", tc.args, code, stderr, tc.want)
		}
	}
}

// TestBatchResumeAfterKill kills a real batch run halfway and resumes it.
func TestBatchResumeAfterKill(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary")
	}
	bin := filepath.Join(t.TempDir(), "bitnet")
	if out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput(); err != nil {
		t.Fatalf("build: %v\n%s", err, out)
	}
	in := writePrompts(t, 50, map[int]bool{9: true}, 24)
	out := filepath.Join(t.TempDir(), "out.jsonl")
	cmd := exec.Command(bin, "run", "-f", in, "-o", out, "-t", "1")
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(60 * time.Second)
	for {
		b, _ := os.ReadFile(out)
		if strings.Count(string(b), "\n") >= 10 {
			break
		}
		if time.Now().After(deadline) {
			cmd.Process.Kill()
			t.Fatal("no progress within 60s")
		}
		time.Sleep(5 * time.Millisecond)
	}
	cmd.Process.Kill()
	cmd.Wait()
	first := len(readRecordsLenient(t, out))
	if first >= 50 {
		t.Skip("the run finished before it could be killed")
	}
	if code, _, stderr := cli(t, "", "run", "-f", in, "-o", out, "--resume"); code != 0 {
		t.Fatalf("resume: exit %d: %s", code, stderr)
	}
	recs := readRecords(t, out)
	seen := map[string]bool{}
	for _, r := range recs {
		if seen[r.ID] {
			t.Errorf("duplicate record %q", r.ID)
		}
		seen[r.ID] = true
	}
	if len(recs) != 50 {
		t.Fatalf("%d records after resume (had %d before), want 50", len(recs), first)
	}
}

// readRecordsLenient counts the complete lines a killed run left.
func readRecordsLenient(t *testing.T, path string) []string {
	b, _ := os.ReadFile(path)
	lines := strings.Split(string(b), "\n")
	return lines[:len(lines)-1]
}
