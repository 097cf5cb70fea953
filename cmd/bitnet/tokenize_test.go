package main

import (
	"bytes"
	"compress/bzip2"
	"context"
	"errors"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// tinyDir is the tokenizer of bitnet-tiny, the engine's test model.
const tinyDir = "../../testdata/tokenizer/bitnet-tiny"

func runCLI(t *testing.T, stdin string, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	var out, errb bytes.Buffer
	code = execute(context.Background(), args, strings.NewReader(stdin), &out, &errb)
	return code, out.String(), errb.String()
}

func TestTokenize(t *testing.T) {
	dir := t.TempDir()
	msgs := filepath.Join(dir, "messages.json")
	os.WriteFile(msgs, []byte(`[{"role": "system", "content": "Be kind."}, {"role": "user", "content": "Once upon a time"}]`), 0o644)
	noGen := filepath.Join(dir, "nogen.json")
	os.WriteFile(noGen, []byte(`{"messages": [{"role": "user", "content": "Hi"}], "add_generation_prompt": false}`), 0o644)
	// The ids of "Once upon a time" come from bitnet-tiny's reference.json.
	for _, c := range []struct {
		name  string
		stdin string
		args  []string
		want  string
	}{
		{"text argument", "", []string{"tokenize", "-m", tinyDir, "Once upon a time"}, "411 432 258 385\n"},
		{"stdin", "Once upon a time", []string{"tokenize", "-m", tinyDir}, "411 432 258 385\n"},
		{"add special", "", []string{"tokenize", "-m", tinyDir, "--add-special", "Once upon a time"}, "4086 411 432 258 385\n"},
		{"json", "", []string{"tokenize", "-m", tinyDir + "/tokenizer.json", "--json", "Once upon a time"}, "[411,432,258,385]\n"},
		{"empty json", "", []string{"tokenize", "-m", tinyDir, "--json", ""}, "[]\n"},
		{"special parsed", "", []string{"tokenize", "-m", tinyDir, "Once upon a time<|eot_id|>"}, "411 432 258 385 4095\n"},
		{"jsonl", "{\"text\": \"Once upon a time\"}\n\n{\"text\": \"<|eot_id|>\"}\n", []string{"tokenize", "-m", tinyDir, "--jsonl"},
			"{\"ids\":[411,432,258,385]}\n{\"ids\":[4095]}\n"},
		{"jsonl decode", `{"ids": [411, 432, 258, 385, 4095]}`, []string{"tokenize", "-m", tinyDir, "--jsonl", "--decode"},
			"{\"text\":\"Once upon a time<|eot_id|>\"}\n"},
		{"decode args", "", []string{"tokenize", "-m", tinyDir, "--decode", "411", "432,258", "385"}, "Once upon a time\n"},
		{"decode stdin json", "[411, 432]", []string{"tokenize", "-m", tinyDir, "--decode", "--json"}, "\"Once upon\"\n"},
		{"chat", "", []string{"tokenize", "-m", tinyDir, "--chat", msgs},
			"<|begin_of_text|>System: Be kind.<|eot_id|>User: Once upon a time<|eot_id|>Assistant: \n"},
		{"chat without generation prompt", "", []string{"tokenize", "-m", tinyDir, "--chat", noGen, "--json"}, ""},
	} {
		t.Run(c.name, func(t *testing.T) {
			code, out, errs := runCLI(t, c.stdin, c.args...)
			if code != 0 {
				t.Fatalf("exit %d: %s", code, errs)
			}
			if c.name == "chat" {
				// The prompt, then its ids; the template writes BOS itself.
				if !strings.HasPrefix(out, c.want) || !strings.HasPrefix(out[len(c.want):], "4086 ") {
					t.Errorf("got %q", out)
				}
				_, out2, _ := runCLI(t, "", append(c.args, "--add-special")...)
				if out2 != out {
					t.Errorf("--add-special added a second BOS:\n%s\nvs\n%s", out2, out)
				}
				return
			}
			if c.name == "chat without generation prompt" {
				if !strings.Contains(out, `"prompt":"<|begin_of_text|>User: Hi<|eot_id|>"`) {
					t.Errorf("got %q", out)
				}
				return
			}
			if out != c.want {
				t.Errorf("got %q, want %q", out, c.want)
			}
		})
	}
	code, out, _ := runCLI(t, "", "tokenize", "-m", tinyDir, "--no-parse-special", "<|eot_id|>")
	if code != 0 || strings.Contains(out, "4095") || len(strings.Fields(out)) < 2 {
		t.Errorf("--no-parse-special: exit %d, %q", code, out)
	}
}

func TestTokenizeErrors(t *testing.T) {
	for _, c := range []struct {
		name  string
		stdin string
		args  []string
		code  int
		want  string
	}{
		{"no model", "", []string{"tokenize", "hi"}, 2, "-m MODEL is required"},
		{"two texts", "", []string{"tokenize", "-m", tinyDir, "a", "b"}, 2, "one argument"},
		{"missing gguf", "", []string{"tokenize", "-m", "no/such/model.gguf", "hi"}, 1, "model.gguf"},
		{"missing model", "", []string{"tokenize", "-m", "no/such/dir", "hi"}, 1, "no/such/dir"},
		{"bad jsonl", "{\"text\": \"a\"}\n[1]\n", []string{"tokenize", "-m", tinyDir, "--jsonl"}, 1, "line 2"},
		{"bad id", "", []string{"tokenize", "-m", tinyDir, "--decode", "12x"}, 2, `"12x"`},
		{"chat with jsonl", "", []string{"tokenize", "-m", tinyDir, "--chat", "-", "--jsonl"}, 2, "--chat"},
		{"bad chat", "{}", []string{"tokenize", "-m", tinyDir, "--chat", "-"}, 1, "messages"},
	} {
		t.Run(c.name, func(t *testing.T) {
			code, _, errs := runCLI(t, c.stdin, c.args...)
			if code != c.code || !strings.Contains(errs, c.want) {
				t.Errorf("exit %d, stderr %q; want exit %d and %q", code, errs, c.code, c.want)
			}
		})
	}
	code, out, _ := runCLI(t, "", "tokenize", "--help")
	if code != 0 || !strings.Contains(out, "Examples:") || !strings.Contains(out, "--jsonl") {
		t.Errorf("--help: exit %d\n%s", code, out)
	}
}

// TestTokenizeGGUF reads the tokenizer of bitnet-tiny's GGUF fixture.
func TestTokenizeGGUF(t *testing.T) {
	f, err := os.Open("../../testdata/gguf/golden-tiny.i2_s.gguf.bz2")
	if errors.Is(err, fs.ErrNotExist) {
		t.Skip("no bitnet-tiny GGUF fixture")
	}
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	path := filepath.Join(t.TempDir(), "tiny.gguf")
	data, err := io.ReadAll(bzip2.NewReader(f))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, data, 0o644); err != nil {
		t.Fatal(err)
	}
	code, out, errs := runCLI(t, "", "tokenize", "-m", path, "--add-special", "Once upon a time")
	if code != 0 || out != "4086 411 432 258 385\n" {
		t.Errorf("exit %d, %q, %s", code, out, errs)
	}
}
