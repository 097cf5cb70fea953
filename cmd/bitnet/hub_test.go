package main

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/bitnet-go/bitnet/internal/hub"
	"github.com/bitnet-go/bitnet/internal/hub/hubtest"
)

const hubTestRepo = "test-org/tiny-bitnet"

// hubTestEnv points the CLI at a fake Hub and an empty cache, away from the
// developer's own settings and token.
func hubTestEnv(t *testing.T) (*hubtest.Server, string) {
	t.Helper()
	home := t.TempDir()
	cache := filepath.Join(home, "hub")
	t.Setenv("HF_HOME", home)
	t.Setenv("HF_HUB_CACHE", cache)
	t.Setenv("HF_TOKEN", "")
	t.Setenv("HF_TOKEN_PATH", filepath.Join(home, "no-token"))
	t.Setenv("HF_HUB_OFFLINE", "")
	srv := hubtest.New(t)
	t.Setenv("HF_ENDPOINT", srv.URL)
	srv.Push(hubTestRepo, "main", map[string][]byte{
		"config.json":       []byte(`{"model_type":"bitnet"}`),
		"tokenizer.json":    []byte(`{}`),
		"model.safetensors": bytes.Repeat([]byte{1, 2, 3}, 100_000),
		"README.md":         []byte("# x"),
	})
	return srv, cache
}

func hubRun(t *testing.T, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	var out, errb bytes.Buffer
	code = execute(t.Context(), args, strings.NewReader(""), &out, &errb)
	return code, out.String(), errb.String()
}

func TestHubPullLsRm(t *testing.T) {
	srv, cache := hubTestEnv(t)

	code, out, errOut := hubRun(t, "pull", hubTestRepo)
	if code != 0 {
		t.Fatalf("pull: exit %d, %s", code, errOut)
	}
	snap := strings.TrimSpace(out)
	if !strings.HasPrefix(snap, filepath.Join(cache, "models--test-org--tiny-bitnet", "snapshots")+string(filepath.Separator)) {
		t.Errorf("pull printed %q", out)
	}
	if _, err := os.Stat(filepath.Join(snap, "model.safetensors")); err != nil {
		t.Error(err)
	}
	if _, err := os.Stat(filepath.Join(snap, "README.md")); err == nil {
		t.Error("default pull fetched README.md")
	}
	if errOut != "" {
		t.Errorf("progress drawn on a non-terminal: %q", errOut)
	}

	// Second revision, so ls shows two rows and rm @dev frees only its file.
	srv.Push(hubTestRepo, "dev", map[string][]byte{
		"config.json":       []byte(`{"model_type":"bitnet","dev":true}`),
		"model.safetensors": bytes.Repeat([]byte{1, 2, 3}, 100_000),
	})
	if code, _, errOut := hubRun(t, "pull", "-q", hubTestRepo+"@dev", "--include", "*.json", "--include", "*.safetensors"); code != 0 {
		t.Fatalf("pull @dev: exit %d, %s", code, errOut)
	}

	code, out, _ = hubRun(t, "ls")
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if code != 0 || len(lines) != 3 || !strings.HasPrefix(lines[0], "MODEL") {
		t.Fatalf("ls: exit %d\n%s", code, out)
	}
	for _, want := range []string{hubTestRepo, "main", "dev", "300.0 kB", snap} {
		if !strings.Contains(out, want) {
			t.Errorf("ls output lacks %q:\n%s", want, out)
		}
	}

	code, out, _ = hubRun(t, "ls", "--json")
	var models []hub.CachedModel
	if err := json.Unmarshal([]byte(out), &models); code != 0 || err != nil {
		t.Fatalf("ls --json: exit %d, %v\n%s", code, err, out)
	}
	if len(models) != 1 || models[0].Repo != hubTestRepo || len(models[0].Revisions) != 2 {
		t.Errorf("ls --json = %+v", models)
	}

	code, out, _ = hubRun(t, "rm", hubTestRepo+"@dev")
	if code != 0 || out != "Removed "+hubTestRepo+"@dev, freed 34 B\n" {
		t.Errorf("rm @dev: exit %d, %q", code, out)
	}
	code, out, _ = hubRun(t, "rm", hubTestRepo)
	if code != 0 || !strings.Contains(out, "freed 300.0 kB") {
		t.Errorf("rm: exit %d, %q", code, out)
	}
	code, out, _ = hubRun(t, "ls")
	if code != 0 || !strings.HasPrefix(out, "No models in "+cache) {
		t.Errorf("ls after rm: exit %d, %q", code, out)
	}
	if _, out, _ = hubRun(t, "ls", "--json"); strings.TrimSpace(out) != "[]" {
		t.Errorf("empty ls --json: %q", out)
	}
	code, _, errOut = hubRun(t, "rm", hubTestRepo)
	if code != 1 || !strings.Contains(errOut, "not in the cache") {
		t.Errorf("rm of a missing model: exit %d, %q", code, errOut)
	}
}

func TestHubCommandErrors(t *testing.T) {
	srv, _ := hubTestEnv(t)
	srv.Gate(hubTestRepo, "hf_secret")
	for _, tc := range []struct {
		args []string
		code int
		want string
	}{
		{[]string{"pull"}, 2, "one model name"},
		{[]string{"pull", "../etc/passwd"}, 2, "invalid model name"},
		{[]string{"pull", "a/b@../x"}, 2, "invalid revision"},
		{[]string{"pull", "--bogus", "a/b"}, 2, "unknown flag"},
		{[]string{"ls", "extra"}, 2, "no arguments"},
		{[]string{"rm"}, 2, "one or more"},
		{[]string{"rm", "a/b", "/abs"}, 2, "invalid model name"},
		{[]string{"pull", hubTestRepo}, 1, "HF_TOKEN"},
		{[]string{"pull", "test-org/missing"}, 1, "not found"},
	} {
		code, _, errOut := hubRun(t, tc.args...)
		if code != tc.code || !strings.Contains(errOut, tc.want) {
			t.Errorf("%q: exit %d, stderr %q; want exit %d mentioning %q", tc.args, code, errOut, tc.code, tc.want)
		}
		// Errors are one line, never a chain of wrapped causes.
		if strings.Count(errOut, "\n") != 1 {
			t.Errorf("%q: stderr is not one line: %q", tc.args, errOut)
		}
	}

	t.Setenv("HF_TOKEN", "hf_secret")
	if code, _, errOut := hubRun(t, "pull", hubTestRepo); code != 0 {
		t.Errorf("pull with HF_TOKEN: exit %d, %s", code, errOut)
	}
	t.Setenv("HF_HUB_OFFLINE", "1")
	if code, _, errOut := hubRun(t, "pull", "test-org/other"); code != 1 || !strings.Contains(errOut, "HF_HUB_OFFLINE") {
		t.Errorf("offline pull of an uncached model: exit %d, %q", code, errOut)
	}
}

func TestHubCommandHelp(t *testing.T) {
	for _, c := range []string{"pull", "ls", "rm"} {
		code, out, _ := hubRun(t, c, "--help")
		if code != 0 || !strings.Contains(out, "Examples:") || !strings.Contains(out, "HF_HUB_CACHE") {
			t.Errorf("%s --help: exit %d\n%s", c, code, out)
		}
	}
}
