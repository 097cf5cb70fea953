package e2e

import (
	"context"
	"html"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"testing"
	"time"

	"github.com/bitnet-go/bitnet"
	"github.com/bitnet-go/bitnet/internal/server/servertest"
)

// findChromium looks for a headless-capable Chromium; BITNET_CHROMIUM
// names one explicitly.
func findChromium() string {
	if p := os.Getenv("BITNET_CHROMIUM"); p != "" {
		return p
	}
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome", "google-chrome-stable", "chrome-headless-shell"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	return ""
}

// chromium runs one headless session. Virtual time does not advance while
// a fetch is pending, so the budget lets the streamed reply finish before
// the DOM is dumped or the screenshot taken, however slow the machine.
func chromium(t *testing.T, bin string, args ...string) []byte {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 90*time.Second)
	defer cancel()
	base := []string{"--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
		"--disable-background-networking", "--disable-component-update", "--disable-sync", "--no-first-run",
		"--disable-extensions", "--hide-scrollbars", "--user-data-dir=" + t.TempDir(), "--virtual-time-budget=20000"}
	cmd := exec.CommandContext(ctx, bin, append(base, args...)...)
	cmd.Dir = t.TempDir()
	var stderr limitedBuffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("%s: %v\n%s", bin, err, stderr.b)
	}
	return out
}

type limitedBuffer struct{ b []byte }

func (l *limitedBuffer) Write(p []byte) (int, error) {
	if len(l.b) < 16<<10 {
		l.b = append(l.b, p[:min(len(p), 16<<10-len(l.b))]...)
	}
	return len(p), nil
}

var (
	reAssistant = regexp.MustCompile(`<div class="msg assistant" data-state="(\w+)" data-chunks="(\d+)"><span class="text">([^<]*)</span>`)
)

// The page opened with ?q=...&autosend=1 sends the message itself, so a
// plain headless run (no DevTools client) exercises the whole chat path:
// fetch, the SSE stream read through a ReadableStream, and the DOM.
func TestBrowserChat(t *testing.T) {
	bin := findChromium()
	if bin == "" {
		t.Skip("no chromium binary found (apt-get install chromium, or set BITNET_CHROMIUM)")
	}
	inst := servertest.Start(t, servertest.Options{Slots: 2})
	const question = "Tell me a story about a dog"
	const maxTokens = 60
	want, err := bitnet.Collect(inst.Model.Chat(t.Context(), []bitnet.Message{{Role: "user", Content: question}}, bitnet.GenerateOptions{MaxTokens: maxTokens}))
	if err != nil {
		t.Fatal(err)
	}
	page := inst.URL + "/?" + url.Values{"q": {question}, "autosend": {"1"}, "temperature": {"0"}, "max_tokens": {strconv.Itoa(maxTokens)}}.Encode()

	dom := chromium(t, bin, "--dump-dom", page)
	m := reAssistant.FindSubmatch(dom)
	if m == nil {
		t.Fatalf("no assistant reply in the page:\n%s", dom)
	}
	if state := string(m[1]); state != "done" {
		t.Errorf("reply state %q, want done", state)
	}
	// One chunk would mean the reply arrived whole, not streamed.
	if chunks, _ := strconv.Atoi(string(m[2])); chunks < 2 {
		t.Errorf("the reply came in %d chunks", chunks)
	}
	if got := html.UnescapeString(string(m[3])); got != want.Text {
		t.Errorf("the page shows %q, want %q", got, want.Text)
	}

	dir := os.Getenv("BITNET_SCREENSHOT_DIR")
	if dir == "" {
		dir = filepath.Join("testdata", "screenshots")
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	shot, err := filepath.Abs(filepath.Join(dir, "chat.png"))
	if err != nil {
		t.Fatal(err)
	}
	os.Remove(shot)
	chromium(t, bin, "--window-size=1100,700", "--screenshot="+shot, page)
	st, err := os.Stat(shot)
	if err != nil || st.Size() == 0 {
		t.Fatalf("no screenshot: %v", err)
	}
	t.Logf("screenshot: %s", shot)
}
