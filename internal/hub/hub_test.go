package hub

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/bitnet-go/bitnet/internal/hub/hubtest"
	"github.com/google/go-cmp/cmp"
)

const repoID = "test-org/tiny-bitnet"

func TestMain(m *testing.M) {
	retryDelay = time.Millisecond
	os.Exit(m.Run())
}

func randomBytes(n int, seed uint64) []byte {
	r := rand.New(rand.NewPCG(seed, 1))
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(r.Uint32())
	}
	return b
}

// modelFiles is a small repository shaped like a real BitNet checkpoint,
// plus files a default pull must leave alone.
func modelFiles() map[string][]byte {
	return map[string][]byte{
		"config.json":             []byte(`{"model_type":"bitnet","hidden_size":64}`),
		"generation_config.json":  []byte(`{"temperature":0.6}`),
		"tokenizer.json":          []byte(`{"model":{"type":"BPE"}}`),
		"tokenizer_config.json":   []byte(`{"bos_token":"<s>"}`),
		"special_tokens_map.json": []byte(`{}`),
		"model.safetensors":       randomBytes(300_000, 1),
		"README.md":               []byte("# tiny\n"),
		"original/weights.pt":     randomBytes(1000, 2),
	}
}

var defaultSelection = []string{"config.json", "generation_config.json", "model.safetensors", "special_tokens_map.json", "tokenizer.json", "tokenizer_config.json"}

// isolate keeps the developer's own HF settings and token out of the test.
func isolate(t *testing.T) {
	t.Helper()
	home := t.TempDir()
	t.Setenv("HF_HOME", home)
	t.Setenv("HF_TOKEN", "")
	t.Setenv("HUGGING_FACE_HUB_TOKEN", "")
	t.Setenv("HF_TOKEN_PATH", filepath.Join(home, "no-token"))
	t.Setenv("HF_HUB_OFFLINE", "")
	t.Setenv("HF_HUB_CACHE", "")
	t.Setenv("HUGGINGFACE_HUB_CACHE", "")
	t.Setenv("HF_ENDPOINT", "")
}

func newClient(t *testing.T, cache, endpoint string, edit ...func(*Options)) *Client {
	t.Helper()
	opts := Options{CacheDir: cache, Endpoint: endpoint}
	for _, e := range edit {
		e(&opts)
	}
	c, err := NewClient(opts)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func setup(t *testing.T) (*hubtest.Server, string, string) {
	t.Helper()
	isolate(t)
	srv := hubtest.New(t)
	commit := srv.Push(repoID, "main", modelFiles())
	return srv, filepath.Join(t.TempDir(), "hub"), commit
}

func mustRef(t *testing.T, s string) Ref {
	t.Helper()
	r, err := ParseRef(s)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// checkSnapshot verifies the huggingface_hub layout of a pulled snapshot.
func checkSnapshot(t *testing.T, cache, snap string, want map[string][]byte) {
	t.Helper()
	repoDir := filepath.Join(cache, "models--test-org--tiny-bitnet")
	for name, data := range want {
		p := filepath.Join(snap, filepath.FromSlash(name))
		got, err := os.ReadFile(p)
		if err != nil {
			t.Errorf("%s: %v", name, err)
			continue
		}
		if !bytes.Equal(got, data) {
			t.Errorf("%s: content differs (%d bytes, want %d)", name, len(got), len(data))
		}
		link, err := os.Readlink(p)
		if err != nil {
			t.Errorf("%s is not a symlink: %v", name, err)
			continue
		}
		depth := strings.Count(name, "/")
		wantLink := strings.Repeat("../", depth+2) + "blobs/" + hubtest.ETag(name, data)
		if link != filepath.FromSlash(wantLink) {
			t.Errorf("%s -> %s, want %s", name, link, wantLink)
		}
	}
	files, _ := snapshotFiles(snap)
	var names []string
	for n := range want {
		names = append(names, n)
	}
	slices.Sort(names)
	slices.Sort(files)
	if diff := cmp.Diff(names, files); diff != "" {
		t.Errorf("snapshot files (-want +got):\n%s", diff)
	}
	blobs, _ := os.ReadDir(filepath.Join(repoDir, "blobs"))
	for _, b := range blobs {
		if strings.HasSuffix(b.Name(), ".incomplete") {
			t.Errorf("left behind %s", b.Name())
		}
	}
}

func subset(all map[string][]byte, names ...string) map[string][]byte {
	out := map[string][]byte{}
	for _, n := range names {
		out[n] = all[n]
	}
	return out
}

func TestPullFresh(t *testing.T) {
	srv, cache, commit := setup(t)
	c := newClient(t, cache, srv.URL)
	snap, err := c.Pull(t.Context(), mustRef(t, repoID), nil)
	if err != nil {
		t.Fatal(err)
	}
	repoDir := filepath.Join(cache, "models--test-org--tiny-bitnet")
	if want := filepath.Join(repoDir, "snapshots", commit); snap != want {
		t.Fatalf("snapshot %s, want %s", snap, want)
	}
	checkSnapshot(t, cache, snap, subset(modelFiles(), defaultSelection...))
	ref, err := os.ReadFile(filepath.Join(repoDir, "refs", "main"))
	if err != nil || string(ref) != commit {
		t.Errorf("refs/main = %q, %v; want %q", ref, err, commit)
	}
	lock := filepath.Join(cache, ".locks", "models--test-org--tiny-bitnet", hubtest.SHA256(modelFiles()["model.safetensors"])+".lock")
	if _, err := os.Stat(lock); err != nil {
		t.Errorf("no lock file where huggingface_hub puts it: %v", err)
	}
	// One listing, one HEAD per file, the LFS file fetched from the CDN.
	if n := srv.Count("GET", "api"); n != 1 {
		t.Errorf("%d API calls", n)
	}
	if n := srv.Count("HEAD", "resolve"); n != len(defaultSelection) {
		t.Errorf("%d HEADs for %d files", n, len(defaultSelection))
	}
	if n := srv.Count("GET", "cdn"); n != 1 {
		t.Errorf("%d CDN downloads, want 1", n)
	}
	if n := srv.Count("HEAD", "cdn"); n != 0 {
		t.Errorf("HEAD followed the CDN redirect %d times", n)
	}
}

func TestSecondPullDownloadsNothing(t *testing.T) {
	srv, cache, _ := setup(t)
	c := newClient(t, cache, srv.URL)
	first, err := c.Pull(t.Context(), mustRef(t, repoID), nil)
	if err != nil {
		t.Fatal(err)
	}
	srv.ResetLog()
	second, err := newClient(t, cache, srv.URL).Pull(t.Context(), mustRef(t, repoID), nil)
	if err != nil {
		t.Fatal(err)
	}
	if first != second {
		t.Errorf("second pull gave %s, first %s", second, first)
	}
	if got := srv.Requests(); len(got) != 1 || got[0].Kind != "api" {
		t.Errorf("second pull made requests beyond the listing: %+v", got)
	}
}

func TestResumeAfterCutWithinOnePull(t *testing.T) {
	srv, cache, _ := setup(t)
	srv.Fail(repoID, "model.safetensors", hubtest.Cut, 1)
	snap, err := newClient(t, cache, srv.URL).Pull(t.Context(), mustRef(t, repoID), nil)
	if err != nil {
		t.Fatal(err)
	}
	checkSnapshot(t, cache, snap, subset(modelFiles(), defaultSelection...))
	var ranges []string
	for _, r := range srv.Requests() {
		if r.Kind == "cdn" && r.Method == "GET" {
			ranges = append(ranges, r.Range)
		}
	}
	if diff := cmp.Diff([]string{"", "bytes=150000-"}, ranges); diff != "" {
		t.Errorf("CDN requests (-want +got):\n%s", diff)
	}
}

func TestResumeAcrossRuns(t *testing.T) {
	srv, cache, _ := setup(t)
	srv.Fail(repoID, "model.safetensors", hubtest.Cut, maxAttempts)
	_, err := newClient(t, cache, srv.URL).Pull(t.Context(), mustRef(t, repoID), nil)
	if err == nil || !strings.Contains(err.Error(), "resume") || errors.Is(err, ErrCorrupt) {
		t.Fatalf("want an interrupted-download error, got %v", err)
	}
	data := modelFiles()["model.safetensors"]
	blob := filepath.Join(cache, "models--test-org--tiny-bitnet", "blobs", hubtest.SHA256(data))
	// Every attempt resumes and is cut again halfway through what is left.
	kept := 0
	for range maxAttempts {
		kept += (len(data) - kept) / 2
	}
	st, err := os.Stat(blob + ".incomplete")
	if err != nil || st.Size() != int64(kept) {
		t.Fatalf("partial file: %v, %v; want %d bytes", st, err, kept)
	}
	if _, err := os.Stat(blob); err == nil {
		t.Fatal("incomplete blob was placed")
	}

	srv.ResetLog()
	snap, err := newClient(t, cache, srv.URL).Pull(t.Context(), mustRef(t, repoID), nil)
	if err != nil {
		t.Fatal(err)
	}
	checkSnapshot(t, cache, snap, subset(modelFiles(), defaultSelection...))
	for _, r := range srv.Requests() {
		if r.Kind == "cdn" && r.Range != fmt.Sprintf("bytes=%d-", kept) {
			t.Errorf("resumed with %q", r.Range)
		}
	}
}

func TestCorruptBlobRejected(t *testing.T) {
	srv, cache, commit := setup(t)
	srv.Fail(repoID, "model.safetensors", hubtest.Corrupt, 1)
	_, err := newClient(t, cache, srv.URL).Pull(t.Context(), mustRef(t, repoID), nil)
	if !errors.Is(err, ErrCorrupt) {
		t.Fatalf("got %v, want ErrCorrupt", err)
	}
	repoDir := filepath.Join(cache, "models--test-org--tiny-bitnet")
	blob := filepath.Join(repoDir, "blobs", hubtest.SHA256(modelFiles()["model.safetensors"]))
	for _, p := range []string{blob, blob + ".incomplete", filepath.Join(repoDir, "snapshots", commit, "model.safetensors"), filepath.Join(repoDir, "refs", "main")} {
		if _, err := os.Lstat(p); err == nil {
			t.Errorf("%s exists after a corrupt download", p)
		}
	}
	// The fault is spent: the next pull succeeds.
	snap, err := newClient(t, cache, srv.URL).Pull(t.Context(), mustRef(t, repoID), nil)
	if err != nil {
		t.Fatal(err)
	}
	checkSnapshot(t, cache, snap, subset(modelFiles(), defaultSelection...))
}

func TestCorruptPartialFileRejected(t *testing.T) {
	srv, cache, _ := setup(t)
	data := modelFiles()["model.safetensors"]
	blobs := filepath.Join(cache, "models--test-org--tiny-bitnet", "blobs")
	os.MkdirAll(blobs, 0o755)
	bad := bytes.Clone(data[:1000])
	bad[10] ^= 1
	incomplete := filepath.Join(blobs, hubtest.SHA256(data)+".incomplete")
	os.WriteFile(incomplete, bad, 0o644)
	_, err := newClient(t, cache, srv.URL).Pull(t.Context(), mustRef(t, repoID), nil)
	if !errors.Is(err, ErrCorrupt) {
		t.Fatalf("resuming a bad prefix: got %v, want ErrCorrupt", err)
	}
	if _, err := os.Stat(incomplete); err == nil {
		t.Error("bad partial file kept")
	}
}

func TestOffline(t *testing.T) {
	srv, cache, _ := setup(t)
	online, err := newClient(t, cache, srv.URL).Pull(t.Context(), mustRef(t, repoID), nil)
	if err != nil {
		t.Fatal(err)
	}
	srv.ResetLog()
	t.Setenv("HF_HUB_OFFLINE", "1")
	c := newClient(t, cache, srv.URL)
	for name, f := range map[string]func() (string, error){
		"Pull":    func() (string, error) { return c.Pull(t.Context(), mustRef(t, repoID), nil) },
		"Resolve": func() (string, error) { return c.Resolve(t.Context(), mustRef(t, repoID)) },
		"Pull include": func() (string, error) {
			return c.Pull(t.Context(), mustRef(t, repoID), []string{"*.json"})
		},
	} {
		got, err := f()
		if err != nil || got != online {
			t.Errorf("offline %s = %q, %v; want %q", name, got, err, online)
		}
	}
	_, err = c.Pull(t.Context(), mustRef(t, "test-org/other"), nil)
	if !errors.Is(err, ErrNotCached) || !strings.Contains(err.Error(), "HF_HUB_OFFLINE") || !strings.Contains(err.Error(), "test-org/other") {
		t.Errorf("uncached offline pull: %v", err)
	}
	_, err = c.Pull(t.Context(), mustRef(t, repoID), []string{"README.md"})
	if !errors.Is(err, ErrNotCached) {
		t.Errorf("offline pull of an uncached file: %v", err)
	}
	if n := len(srv.Requests()); n != 0 {
		t.Errorf("offline client made %d requests", n)
	}
}

func TestConcurrentPulls(t *testing.T) {
	srv, cache, _ := setup(t)
	srv.SetBodyDelay(50 * time.Millisecond) // make the two pulls overlap
	var wg sync.WaitGroup
	snaps := make([]string, 2)
	errs := make([]error, 2)
	for i := range 2 {
		wg.Go(func() {
			snaps[i], errs[i] = newClient(t, cache, srv.URL).Pull(context.Background(), mustRef(t, repoID), nil)
		})
	}
	wg.Wait()
	for i := range 2 {
		if errs[i] != nil {
			t.Fatalf("pull %d: %v", i, errs[i])
		}
	}
	if snaps[0] != snaps[1] {
		t.Fatalf("pulls disagree: %s vs %s", snaps[0], snaps[1])
	}
	checkSnapshot(t, cache, snaps[0], subset(modelFiles(), defaultSelection...))
	// The lock makes the second pull wait and then reuse the first one's blobs.
	if n := srv.Count("GET", "cdn"); n != 1 {
		t.Errorf("LFS file downloaded %d times", n)
	}
	// Each file's resolve URL is fetched once (the LFS one then redirects).
	if n := srv.Count("GET", "resolve"); n != len(defaultSelection) {
		t.Errorf("%d file downloads, want %d", n, len(defaultSelection))
	}
}

func TestPinnedCommit(t *testing.T) {
	srv, cache, first := setup(t)
	v2 := modelFiles()
	v2["config.json"] = []byte(`{"model_type":"bitnet","hidden_size":128}`)
	second := srv.Push(repoID, "main", v2)

	c := newClient(t, cache, srv.URL)
	snap1, err := c.Pull(t.Context(), mustRef(t, repoID+"@"+first), nil)
	if err != nil {
		t.Fatal(err)
	}
	if filepath.Base(snap1) != first {
		t.Errorf("pinned pull gave %s", snap1)
	}
	checkSnapshot(t, cache, snap1, subset(modelFiles(), defaultSelection...))
	repoDir := filepath.Join(cache, "models--test-org--tiny-bitnet")
	if _, err := os.Stat(filepath.Join(repoDir, "refs")); err == nil {
		t.Error("a pull by commit hash wrote a ref")
	}

	snap2, err := c.Pull(t.Context(), mustRef(t, repoID), nil)
	if err != nil {
		t.Fatal(err)
	}
	if filepath.Base(snap2) != second {
		t.Errorf("main pulled %s, want %s", snap2, second)
	}
	checkSnapshot(t, cache, snap2, subset(v2, defaultSelection...))
	// Unchanged files share blobs: one new blob for the new config only.
	blobs, _ := os.ReadDir(filepath.Join(repoDir, "blobs"))
	if len(blobs) != len(defaultSelection)+1 {
		t.Errorf("%d blobs, want %d", len(blobs), len(defaultSelection)+1)
	}
	if n := srv.Count("GET", "cdn"); n != 1 {
		t.Errorf("unchanged LFS file downloaded %d times", n)
	}
}

// handMadeCache lays out a cache the way the local-cache document says,
// without using this package, as Python would have left it.
func handMadeCache(t *testing.T, cache, repo, ref, commit string, files map[string][]byte) string {
	t.Helper()
	repoDir := filepath.Join(cache, "models--"+strings.ReplaceAll(repo, "/", "--"))
	snap := filepath.Join(repoDir, "snapshots", commit)
	for name, data := range files {
		etag := hubtest.ETag(name, data)
		blob := filepath.Join(repoDir, "blobs", etag)
		os.MkdirAll(filepath.Dir(blob), 0o755)
		if err := os.WriteFile(blob, data, 0o644); err != nil {
			t.Fatal(err)
		}
		p := filepath.Join(snap, filepath.FromSlash(name))
		os.MkdirAll(filepath.Dir(p), 0o755)
		if err := os.Symlink(strings.Repeat("../", strings.Count(name, "/")+2)+"blobs/"+etag, p); err != nil {
			t.Fatal(err)
		}
	}
	refPath := filepath.Join(repoDir, "refs", filepath.FromSlash(ref))
	os.MkdirAll(filepath.Dir(refPath), 0o755)
	if err := os.WriteFile(refPath, []byte(commit), 0o644); err != nil {
		t.Fatal(err)
	}
	return snap
}

func TestHandMadeCacheResolvedWithoutRequests(t *testing.T) {
	isolate(t)
	srv := hubtest.New(t) // online, but must not be asked
	cache := t.TempDir()
	commit := strings.Repeat("ab", 20)
	files := subset(modelFiles(), "config.json", "tokenizer.json", "model.safetensors")
	want := handMadeCache(t, cache, "someone/py-model", "main", commit, files)
	pr := filepath.Join(cache, "models--someone--py-model", "refs", "refs", "pr", "1")
	os.MkdirAll(filepath.Dir(pr), 0o755)
	os.WriteFile(pr, []byte(commit+"\n"), 0o644)

	c := newClient(t, cache, srv.URL)
	for _, s := range []string{"someone/py-model", "someone/py-model@main", "someone/py-model@refs/pr/1", "someone/py-model@" + commit} {
		got, err := c.Resolve(t.Context(), mustRef(t, s))
		if err != nil || got != want {
			t.Errorf("Resolve(%s) = %q, %v; want %q", s, got, err, want)
		}
	}
	if n := len(srv.Requests()); n != 0 {
		t.Errorf("resolving a cached model made %d requests", n)
	}
	models, err := c.List()
	if err != nil || len(models) != 1 || models[0].Repo != "someone/py-model" {
		t.Fatalf("List = %+v, %v", models, err)
	}
	if diff := cmp.Diff([]string{"main", "refs/pr/1"}, models[0].Revisions[0].Refs); diff != "" {
		t.Errorf("refs (-want +got):\n%s", diff)
	}
}

func TestResolvePullsWhenMissing(t *testing.T) {
	srv, cache, commit := setup(t)
	c := newClient(t, cache, srv.URL)
	got, err := c.Resolve(t.Context(), mustRef(t, repoID))
	if err != nil || filepath.Base(got) != commit {
		t.Fatalf("Resolve = %q, %v", got, err)
	}
	// A snapshot without weights (an --include pull) is not enough to run.
	srv2, cache2, _ := setup(t)
	c2 := newClient(t, cache2, srv2.URL)
	if _, err := c2.Pull(t.Context(), mustRef(t, repoID), []string{"config.json"}); err != nil {
		t.Fatal(err)
	}
	if _, err := c2.Resolve(t.Context(), mustRef(t, repoID)); err != nil {
		t.Fatal(err)
	}
	if n := srv2.Count("GET", "cdn"); n != 1 {
		t.Errorf("Resolve did not fetch the missing weights (%d CDN GETs)", n)
	}
}

func TestGatedRepo(t *testing.T) {
	srv, cache, _ := setup(t)
	srv.Gate(repoID, "hf_secret")

	_, err := newClient(t, cache, srv.URL).Pull(t.Context(), mustRef(t, repoID), nil)
	if !errors.Is(err, ErrAuth) {
		t.Fatalf("got %v, want ErrAuth", err)
	}
	msg := err.Error()
	for _, want := range []string{repoID, "token", "HF_TOKEN", os.Getenv("HF_TOKEN_PATH")} {
		if !strings.Contains(msg, want) {
			t.Errorf("401 message %q does not mention %q", msg, want)
		}
	}
	if strings.Contains(msg, "\n") || strings.Contains(msg, "http://") && strings.Contains(msg, "Get ") {
		t.Errorf("401 message is not one plain sentence: %q", msg)
	}

	_, err = newClient(t, cache, srv.URL, func(o *Options) { o.Token = "hf_wrong" }).Pull(t.Context(), mustRef(t, repoID), nil)
	if !errors.Is(err, ErrAuth) || !strings.Contains(err.Error(), "no access") {
		t.Errorf("403: %v", err)
	}

	// The token file, as `hf auth login` writes it.
	tokenFile := os.Getenv("HF_TOKEN_PATH")
	os.WriteFile(tokenFile, []byte("hf_secret\n"), 0o600)
	srv.ResetLog()
	if _, err := newClient(t, cache, srv.URL).Pull(t.Context(), mustRef(t, repoID), nil); err != nil {
		t.Fatal(err)
	}
	for _, r := range srv.Requests() {
		// The token goes to the Hub, never to the CDN on another host.
		if want := map[bool]string{true: "", false: "Bearer hf_secret"}[r.Kind == "cdn"]; r.Auth != want {
			t.Errorf("%s %s sent %q, want %q", r.Method, r.Path, r.Auth, want)
		}
	}
}

func TestNotFound(t *testing.T) {
	srv, cache, _ := setup(t)
	c := newClient(t, cache, srv.URL)
	_, err := c.Pull(t.Context(), mustRef(t, "test-org/nope"), nil)
	if !errors.Is(err, ErrNotFound) || !strings.Contains(err.Error(), "test-org/nope") {
		t.Errorf("unknown repo: %v", err)
	}
	_, err = c.Pull(t.Context(), mustRef(t, repoID+"@v9"), nil)
	if !errors.Is(err, ErrNotFound) || !strings.Contains(err.Error(), `"v9"`) {
		t.Errorf("unknown revision: %v", err)
	}
	_, err = c.Pull(t.Context(), mustRef(t, repoID), []string{"*.gguf"})
	if !errors.Is(err, ErrNotFound) || !strings.Contains(err.Error(), "*.gguf") {
		t.Errorf("include matching nothing: %v", err)
	}
}

func TestUnreachableEndpoint(t *testing.T) {
	isolate(t)
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	endpoint := "http://" + l.Addr().String()
	l.Close()
	_, err = newClient(t, t.TempDir(), endpoint).Pull(t.Context(), mustRef(t, repoID), nil)
	if !errors.Is(err, ErrUnreachable) {
		t.Fatalf("got %v, want ErrUnreachable", err)
	}
	msg := err.Error()
	if !strings.Contains(msg, endpoint) || !strings.Contains(msg, "HF_HUB_OFFLINE=1") || strings.Contains(msg, "dial tcp") || strings.Contains(msg, "\n") {
		t.Errorf("unreachable message: %q", msg)
	}
}

func TestUnwritableCache(t *testing.T) {
	srv, _, _ := setup(t)
	file := filepath.Join(t.TempDir(), "not-a-dir")
	os.WriteFile(file, nil, 0o644)
	_, err := newClient(t, filepath.Join(file, "hub"), srv.URL).Pull(t.Context(), mustRef(t, repoID), nil)
	if err == nil || !strings.Contains(err.Error(), file) {
		t.Errorf("cache under a file: %v", err)
	}

	if os.Geteuid() == 0 {
		t.Log("running as root: permission bits do not stop writes, skipping the read-only case")
		return
	}
	ro := filepath.Join(t.TempDir(), "ro")
	os.Mkdir(ro, 0o555)
	t.Cleanup(func() { os.Chmod(ro, 0o755) })
	_, err = newClient(t, ro, srv.URL).Pull(t.Context(), mustRef(t, repoID), nil)
	if err == nil || !strings.Contains(err.Error(), ro) {
		t.Errorf("read-only cache: %v", err)
	}
}

func TestParseRef(t *testing.T) {
	good := map[string]Ref{
		"microsoft/bitnet-b1.58-2B-4T":           {Repo: "microsoft/bitnet-b1.58-2B-4T"},
		"1bitLLM/bitnet_b1_58-large@main":        {Repo: "1bitLLM/bitnet_b1_58-large", Revision: "main"},
		"a/b@refs/pr/1":                          {Repo: "a/b", Revision: "refs/pr/1"},
		"a/b@v1.0":                               {Repo: "a/b", Revision: "v1.0"},
		"a/b@" + strings.Repeat("0123456789", 4): {Repo: "a/b", Revision: strings.Repeat("0123456789", 4)},
	}
	for s, want := range good {
		got, err := ParseRef(s)
		if err != nil || got != want {
			t.Errorf("ParseRef(%q) = %+v, %v; want %+v", s, got, err, want)
		}
		if got.String() != s {
			t.Errorf("String() = %q, want %q", got.String(), s)
		}
	}
	for _, s := range []string{
		"", "bitnet", "/", "a/", "/b", "a//b", "a/b/c", "/abs/path", "../x", "a/..", "a/../b", "./a/b",
		`a\b`, `a/b\c`, "a/b@", "a/b@../../etc", "a/b@/abs", "a/b@x//y", "a/b@x/", `a/b@x\y`, "a/b@.hidden",
		"a/b@x/../../y", "a--x/b", "a/b--c", "a/b..c", "a/.b", "a/b.", "-a/b", "a/b c", "a/b@main@dev", "a/b\x00",
		"a/" + strings.Repeat("x", 100),
	} {
		if r, err := ParseRef(s); err == nil {
			t.Errorf("ParseRef(%q) accepted: %+v", s, r)
		}
	}
}

func TestValidRelPath(t *testing.T) {
	for _, p := range []string{"config.json", "sub/dir/x.safetensors", "a..b", ".gitattributes", "with space.json"} {
		if err := validRelPath(p); err != nil {
			t.Errorf("%q rejected: %v", p, err)
		}
	}
	for _, p := range []string{"", "..", "../x", "a/../../x", "/etc/passwd", `..\x`, `a\b`, "a//b", "./a", "a/.", "a/", "x\x00", "a\nb"} {
		if err := validRelPath(p); err == nil {
			t.Errorf("%q accepted", p)
		}
	}
	if _, err := inside("/cache/snap", "../x"); err == nil {
		t.Error("inside accepted ../x")
	}
}

func TestHostileFileNamesRejected(t *testing.T) {
	isolate(t)
	srv := hubtest.New(t)
	files := subset(modelFiles(), "config.json", "model.safetensors")
	files["../../../escaped.safetensors"] = []byte("x")
	files[`..\..\escaped.safetensors`] = []byte("x")
	srv.Push(repoID, "main", files)
	root := t.TempDir()
	cache := filepath.Join(root, "a", "b", "hub")
	c := newClient(t, cache, srv.URL)
	for _, include := range [][]string{nil, {"*"}, {"../*"}} {
		_, err := c.Pull(t.Context(), mustRef(t, repoID), include)
		if err == nil || !strings.Contains(err.Error(), "unsafe file name") {
			t.Errorf("include %q: got %v, want an unsafe-name error", include, err)
		}
	}
	filepath.WalkDir(root, func(p string, d os.DirEntry, err error) error {
		if strings.Contains(d.Name(), "escaped") {
			t.Errorf("hostile name written: %s", p)
		}
		return nil
	})
	if n := srv.Count("", "resolve") + srv.Count("", "cdn"); n != 0 {
		t.Errorf("%d file requests before rejecting the names", n)
	}
}

// A server that lies about commit hashes and etags must not steer writes.
func TestHostileMetadataRejected(t *testing.T) {
	isolate(t)
	for name, h := range map[string]http.HandlerFunc{
		"commit": func(w http.ResponseWriter, r *http.Request) {
			w.Write([]byte(`{"sha":"../../../../tmp/x","siblings":[{"rfilename":"config.json"},{"rfilename":"model.safetensors"}]}`))
		},
		"etag": func(w http.ResponseWriter, r *http.Request) {
			if strings.HasPrefix(r.URL.Path, "/api/") {
				w.Write([]byte(`{"sha":"` + strings.Repeat("c", 40) + `","siblings":[{"rfilename":"config.json"},{"rfilename":"model.safetensors"}]}`))
				return
			}
			w.Header().Set("ETag", `"../../../escaped"`)
			w.Header().Set("X-Repo-Commit", strings.Repeat("c", 40))
		},
	} {
		srv := httptest.NewServer(h)
		root := t.TempDir()
		_, err := newClient(t, filepath.Join(root, "hub"), srv.URL).Pull(t.Context(), mustRef(t, repoID), nil)
		srv.Close()
		if err == nil {
			t.Errorf("%s: accepted", name)
		}
		filepath.WalkDir(root, func(p string, d os.DirEntry, err error) error {
			if d.Name() == "escaped" || d.Name() == "x" {
				t.Errorf("%s: wrote %s", name, p)
			}
			return nil
		})
	}
}

func TestRenamedRepoFollowsRelativeRedirect(t *testing.T) {
	srv, cache, commit := setup(t)
	srv.Rename(repoID, "test-org/renamed")
	snap, err := newClient(t, cache, srv.URL).Pull(t.Context(), mustRef(t, repoID), nil)
	if err != nil {
		t.Fatal(err)
	}
	// Like huggingface_hub, the cache keeps the name the user asked for.
	if want := filepath.Join(cache, "models--test-org--tiny-bitnet", "snapshots", commit); snap != want {
		t.Errorf("snapshot %s, want %s", snap, want)
	}
	checkSnapshot(t, cache, snap, subset(modelFiles(), defaultSelection...))
}

func TestIncludeNestedFiles(t *testing.T) {
	srv, cache, _ := setup(t)
	snap, err := newClient(t, cache, srv.URL).Pull(t.Context(), mustRef(t, repoID), []string{"original/", "README.md"})
	if err != nil {
		t.Fatal(err)
	}
	checkSnapshot(t, cache, snap, subset(modelFiles(), "original/weights.pt", "README.md"))
}

func TestSelectFiles(t *testing.T) {
	sib := func(name string, size int64) sibling { return sibling{Name: name, Size: size} }
	names := func(s []sibling) []string {
		var out []string
		for _, x := range s {
			out = append(out, x.Name)
		}
		slices.Sort(out)
		return out
	}
	ref := Ref{Repo: "a/b"}
	cases := []struct {
		name    string
		sibs    []sibling
		include []string
		want    []string
	}{
		{"safetensors win over gguf",
			[]sibling{sib("config.json", 1), sib("model.safetensors", 9), sib("model-i2_s.gguf", 5), sib("README.md", 1)},
			nil, []string{"config.json", "model.safetensors"}},
		{"sharded",
			[]sibling{sib("config.json", 1), sib("model-00001-of-00002.safetensors", 9), sib("model-00002-of-00002.safetensors", 9), sib("model.safetensors.index.json", 1), sib("tokenizer.model", 1)},
			nil, []string{"config.json", "model-00001-of-00002.safetensors", "model-00002-of-00002.safetensors", "model.safetensors.index.json", "tokenizer.model"}},
		{"gguf prefers i2_s",
			[]sibling{sib("ggml-model-f16.gguf", 900), sib("ggml-model-I2_S.gguf", 500), sib("ggml-model-tq1_0.gguf", 300)},
			nil, []string{"ggml-model-I2_S.gguf"}},
		{"gguf else smallest",
			[]sibling{sib("m-f16.gguf", 900), sib("m-tq2_0.gguf", 400), sib("m-tq1_0.gguf", 300), sib("m-unknown.gguf", 0)},
			nil, []string{"m-tq1_0.gguf"}},
		{"fnmatch star crosses slashes",
			[]sibling{sib("a/b/c.json", 1), sib("x.json", 1), sib("y.bin", 1)},
			[]string{"*.json"}, []string{"a/b/c.json", "x.json"}},
		{"classes and folders",
			[]sibling{sib("m-1.gguf", 1), sib("m-2.gguf", 1), sib("m-3.gguf", 1), sib("sub/x", 1), sib("sub2/y", 1)},
			[]string{"m-[12].gguf", "sub/"}, []string{"m-1.gguf", "m-2.gguf", "sub/x"}},
	}
	for _, tc := range cases {
		globs, err := compileGlobs(tc.include)
		if err != nil {
			t.Fatal(err)
		}
		got, err := selectFiles(ref, tc.sibs, globs)
		if err != nil {
			t.Errorf("%s: %v", tc.name, err)
			continue
		}
		if diff := cmp.Diff(tc.want, names(got)); diff != "" {
			t.Errorf("%s (-want +got):\n%s", tc.name, diff)
		}
		if isWeights(got[0].Name) == 1 && len(got) > 1 && isWeights(got[len(got)-1].Name) == 0 {
			t.Errorf("%s: weights not last: %v", tc.name, names(got))
		}
	}
	if _, err := selectFiles(ref, []sibling{sib("pytorch_model.bin", 1)}, nil); !errors.Is(err, ErrNotFound) {
		t.Errorf("repo without usable weights: %v", err)
	}
}

func TestListAndRemove(t *testing.T) {
	srv, cache, first := setup(t)
	c := newClient(t, cache, srv.URL)
	if _, err := c.Pull(t.Context(), mustRef(t, repoID), nil); err != nil {
		t.Fatal(err)
	}
	v2 := modelFiles()
	v2["config.json"] = []byte(`{"model_type":"bitnet","hidden_size":128,"v":2}`)
	second := srv.Push(repoID, "dev", v2)
	if _, err := c.Pull(t.Context(), mustRef(t, repoID+"@dev"), nil); err != nil {
		t.Fatal(err)
	}

	models, err := c.List()
	if err != nil || len(models) != 1 {
		t.Fatalf("List = %+v, %v", models, err)
	}
	m := models[0]
	sizeOf := func(files map[string][]byte) (n int64) {
		for _, name := range defaultSelection {
			n += int64(len(files[name]))
		}
		return n
	}
	wantTotal := sizeOf(modelFiles()) + int64(len(v2["config.json"]))
	if m.Repo != repoID || m.Size != wantTotal || len(m.Revisions) != 2 {
		t.Fatalf("model %+v; want size %d and 2 revisions", m, wantTotal)
	}
	byCommit := map[string]CachedRevision{}
	for _, r := range m.Revisions {
		byCommit[r.Commit] = r
	}
	if r := byCommit[first]; !slices.Equal(r.Refs, []string{"main"}) || r.Size != sizeOf(modelFiles()) || r.Files != len(defaultSelection) {
		t.Errorf("main revision %+v", r)
	}
	if r := byCommit[second]; !slices.Equal(r.Refs, []string{"dev"}) || r.Size != sizeOf(v2) {
		t.Errorf("dev revision %+v", r)
	}

	// Removing dev frees only its own config.json; the shared blobs stay.
	freed, err := c.Remove(mustRef(t, repoID+"@dev"))
	if err != nil || freed != int64(len(v2["config.json"])) {
		t.Fatalf("Remove @dev = %d, %v; want %d", freed, err, len(v2["config.json"]))
	}
	if _, err := c.Resolve(t.Context(), mustRef(t, repoID)); err != nil {
		t.Fatalf("main broken after removing dev: %v", err)
	}
	checkSnapshot(t, cache, filepath.Join(m.Path, "snapshots", first), subset(modelFiles(), defaultSelection...))
	if _, err := os.Stat(filepath.Join(m.Path, "refs", "dev")); err == nil {
		t.Error("refs/dev survived")
	}

	freed, err = c.Remove(mustRef(t, repoID))
	if err != nil || freed != sizeOf(modelFiles()) {
		t.Fatalf("Remove repo = %d, %v; want %d", freed, err, sizeOf(modelFiles()))
	}
	if _, err := os.Stat(m.Path); err == nil {
		t.Error("repo folder survived")
	}
	if models, _ := c.List(); len(models) != 0 {
		t.Errorf("List after Remove = %+v", models)
	}
	if _, err := c.Remove(mustRef(t, repoID)); !errors.Is(err, ErrNotCached) {
		t.Errorf("removing twice: %v", err)
	}
}

func TestRemoveNeverFollowsLinksOutOfTheCache(t *testing.T) {
	isolate(t)
	cache := t.TempDir()
	outside := filepath.Join(t.TempDir(), "precious")
	os.WriteFile(outside, []byte("keep me"), 0o644)
	commit := strings.Repeat("1", 40)
	snap := handMadeCache(t, cache, "a/b", "main", commit, map[string][]byte{"config.json": []byte("{}")})
	handMadeCache(t, cache, "a/b", "other", strings.Repeat("2", 40), map[string][]byte{"x.json": []byte("{}")})
	os.Symlink(outside, filepath.Join(snap, "evil.safetensors"))
	c := newClient(t, cache, "http://127.0.0.1:1")
	if _, err := c.Remove(mustRef(t, "a/b@main")); err != nil {
		t.Fatal(err)
	}
	if b, err := os.ReadFile(outside); err != nil || string(b) != "keep me" {
		t.Errorf("file outside the cache touched: %q, %v", b, err)
	}
}

func TestIsRepoRef(t *testing.T) {
	t.Chdir(t.TempDir())
	if !IsRepoRef("org/name") || !IsRepoRef("org/name@main") {
		t.Error("repo id not recognised")
	}
	os.MkdirAll("org/name", 0o755)
	if IsRepoRef("org/name") {
		t.Error("an existing local folder must win over a repo id")
	}
	for _, s := range []string{"./model", "/abs/model", "model.gguf", "../x/y"} {
		if IsRepoRef(s) {
			t.Errorf("%q taken for a repo id", s)
		}
	}
}

func TestProgressGoesToTheWriter(t *testing.T) {
	srv, cache, _ := setup(t)
	var buf bytes.Buffer
	_, err := newClient(t, cache, srv.URL, func(o *Options) { o.Progress = &buf }).Pull(t.Context(), mustRef(t, repoID), nil)
	if err != nil {
		t.Fatal(err)
	}
	if out := buf.String(); !strings.Contains(out, "model.safetensors") || !strings.Contains(out, "100%") || !strings.Contains(out, "300.0 kB") {
		t.Errorf("progress output %q", out)
	}
}

func TestCancelDuringDownload(t *testing.T) {
	srv, cache, _ := setup(t)
	srv.SetBodyDelay(time.Minute)
	ctx, cancel := context.WithTimeout(t.Context(), 100*time.Millisecond)
	defer cancel()
	start := time.Now()
	_, err := newClient(t, cache, srv.URL).Pull(ctx, mustRef(t, repoID), nil)
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("got %v, want the context's error", err)
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("cancel took %v", d)
	}
}

func TestEnvironmentDefaults(t *testing.T) {
	isolate(t)
	home := os.Getenv("HF_HOME")
	c, err := NewClient(Options{})
	if err != nil {
		t.Fatal(err)
	}
	if c.CacheDir() != filepath.Join(home, "hub") || c.endpoint != DefaultEndpoint || c.token != "" || c.Offline() {
		t.Errorf("defaults: cache %s endpoint %s token %q offline %v", c.CacheDir(), c.endpoint, c.token, c.Offline())
	}
	t.Setenv("HF_HUB_CACHE", "/x/hub")
	t.Setenv("HF_ENDPOINT", "http://mirror.local/")
	t.Setenv("HF_TOKEN", "hf_env")
	t.Setenv("HF_HUB_OFFLINE", "true")
	c, _ = NewClient(Options{})
	if c.CacheDir() != "/x/hub" || c.endpoint != "http://mirror.local" || c.token != "hf_env" || !c.Offline() {
		t.Errorf("from env: cache %s endpoint %s token %q offline %v", c.CacheDir(), c.endpoint, c.token, c.Offline())
	}
	c, _ = NewClient(Options{CacheDir: "/y", Endpoint: "https://e", Token: "t"})
	if c.CacheDir() != "/y" || c.endpoint != "https://e" || c.token != "t" {
		t.Error("explicit options must beat the environment")
	}
	if _, err := NewClient(Options{Endpoint: "ftp://x"}); err == nil {
		t.Error("accepted a non-http endpoint")
	}
}
