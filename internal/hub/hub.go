// Package hub downloads models from the Hugging Face Hub into the cache that
// Python's huggingface_hub uses (https://huggingface.co/docs/hub/local-cache),
// so that a model fetched by either tool is found by the other without a
// second download.
//
// The cache holds, per repository, content-addressed blobs/<etag>,
// snapshots/<commit>/<path> symlinks into them and refs/<revision> files that
// name a commit. Downloads resume from blobs/<etag>.incomplete, LFS blobs are
// checked against their sha256 before they are moved into place, and a flock
// on .locks/<repo folder>/<etag>.lock keeps concurrent pulls (ours or
// Python's) from writing the same blob at once.
//
// Every path the package builds from a repository name, a revision or a file
// name sent by the server is validated so that it stays inside the cache.
//
// Typical use:
//
//	c, err := hub.NewClient(hub.Options{}) // cache, endpoint, token from HF_* variables
//	ref, err := hub.ParseRef("microsoft/bitnet-b1.58-2B-4T")
//	dir, err := c.Resolve(ctx, ref) // the snapshot folder: config.json, *.safetensors, ...
//
// Tests can point a Client at the fake Hub in package hubtest.
package hub

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"time"
)

// DefaultEndpoint is the public Hub, used when neither Options.Endpoint nor
// HF_ENDPOINT is set.
const DefaultEndpoint = "https://huggingface.co"

// DefaultRevision is the branch pulled when a reference names none.
const DefaultRevision = "main"

// Options configures a Client. Zero fields are filled from the same
// environment variables huggingface_hub reads, so both tools agree on where
// the cache is and which token to send.
type Options struct {
	// CacheDir is the cache root. Empty: $HF_HUB_CACHE, else $HF_HOME/hub,
	// else $XDG_CACHE_HOME/huggingface/hub, else ~/.cache/huggingface/hub.
	CacheDir string
	// Endpoint is the Hub's base URL. Empty: $HF_ENDPOINT, else
	// DefaultEndpoint.
	Endpoint string
	// Token is sent as "Authorization: Bearer". Empty: $HF_TOKEN, else the
	// token file ($HF_TOKEN_PATH, else $HF_HOME/token).
	Token string
	// Offline serves only from the cache and never touches the network. It is
	// also on when HF_HUB_OFFLINE is 1, true, yes or on.
	Offline bool
	// HTTPClient makes the requests. Nil: a client with connect and header
	// timeouts but no overall timeout, since model files take minutes. Its
	// CheckRedirect is replaced (see NewClient).
	HTTPClient *http.Client
	// Progress, when not nil, receives one progress bar per downloaded file.
	// Callers decide whether it is a terminal; the package draws regardless.
	Progress io.Writer
}

// Client talks to one Hub endpoint and manages one cache directory.
type Client struct {
	cacheDir  string
	endpoint  string
	token     string
	tokenPath string // where a token would be read from; named in auth errors
	offline   bool
	http      *http.Client
	// metaHTTP is http with redirects disabled: file metadata must come from
	// the Hub's own redirect response, not from the CDN it points to.
	metaHTTP *http.Client
	progress io.Writer
}

// NewClient returns a Client for opts, filling zero fields from the
// environment. It does no I/O besides reading the token file.
func NewClient(opts Options) (*Client, error) {
	home := hfHome()
	c := &Client{
		cacheDir:  opts.CacheDir,
		endpoint:  opts.Endpoint,
		token:     strings.TrimSpace(opts.Token),
		tokenPath: tokenPath(home),
		offline:   opts.Offline || envTrue("HF_HUB_OFFLINE"),
		http:      opts.HTTPClient,
		progress:  opts.Progress,
	}
	if c.cacheDir == "" {
		c.cacheDir = firstEnv("HF_HUB_CACHE", "HUGGINGFACE_HUB_CACHE")
		if c.cacheDir == "" {
			c.cacheDir = filepath.Join(home, "hub")
		}
	}
	c.cacheDir = expandHome(c.cacheDir)
	abs, err := filepath.Abs(c.cacheDir)
	if err != nil {
		return nil, fmt.Errorf("hub cache directory %q: %w", c.cacheDir, err)
	}
	c.cacheDir = abs

	if c.endpoint == "" {
		c.endpoint = os.Getenv("HF_ENDPOINT")
	}
	if c.endpoint == "" {
		c.endpoint = DefaultEndpoint
	}
	c.endpoint = strings.TrimRight(c.endpoint, "/")
	if !strings.HasPrefix(c.endpoint, "http://") && !strings.HasPrefix(c.endpoint, "https://") {
		return nil, fmt.Errorf("hub endpoint %q is not an http(s) URL", c.endpoint)
	}

	if c.token == "" {
		c.token = firstEnv("HF_TOKEN", "HUGGING_FACE_HUB_TOKEN")
	}
	if c.token == "" {
		if b, err := os.ReadFile(c.tokenPath); err == nil {
			c.token = strings.TrimSpace(string(b))
		}
	}

	if c.http == nil {
		c.http = defaultHTTPClient()
	}
	dl := *c.http
	dl.CheckRedirect = dropAuthOnHostChange
	c.http = &dl
	meta := *c.http
	meta.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	c.metaHTTP = &meta
	return c, nil
}

// CacheDir returns the cache root this client reads and writes.
func (c *Client) CacheDir() string { return c.cacheDir }

// Offline reports whether the client never uses the network.
func (c *Client) Offline() bool { return c.offline }

// dropAuthOnHostChange keeps the token from following a redirect to another
// host, as Python's requests does. Go alone would forward it to subdomains
// (cdn-lfs.huggingface.co), and presigned CDN URLs refuse a second
// credential.
func dropAuthOnHostChange(req *http.Request, via []*http.Request) error {
	if len(via) >= 10 {
		return fmt.Errorf("stopped after %d redirects", len(via))
	}
	if req.URL.Host != via[0].URL.Host {
		req.Header.Del("Authorization")
	}
	return nil
}

func defaultHTTPClient() *http.Client {
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.DialContext = (&net.Dialer{Timeout: 15 * time.Second, KeepAlive: 30 * time.Second}).DialContext
	tr.TLSHandshakeTimeout = 15 * time.Second
	tr.ResponseHeaderTimeout = 60 * time.Second
	return &http.Client{Transport: tr}
}

// hfHome mirrors huggingface_hub: $HF_HOME, else $XDG_CACHE_HOME/huggingface,
// else ~/.cache/huggingface.
func hfHome() string {
	if h := os.Getenv("HF_HOME"); h != "" {
		return expandHome(h)
	}
	if x := os.Getenv("XDG_CACHE_HOME"); x != "" {
		return filepath.Join(expandHome(x), "huggingface")
	}
	return filepath.Join(userHome(), ".cache", "huggingface")
}

func tokenPath(home string) string {
	if p := os.Getenv("HF_TOKEN_PATH"); p != "" {
		return expandHome(p)
	}
	return filepath.Join(home, "token")
}

func userHome() string {
	if h, err := os.UserHomeDir(); err == nil {
		return h
	}
	return "."
}

// expandHome handles "~/..." because Python expands it in these variables
// and users copy settings between the two.
func expandHome(p string) string {
	if p == "~" {
		return userHome()
	}
	if strings.HasPrefix(p, "~/") {
		return filepath.Join(userHome(), p[2:])
	}
	return p
}

func firstEnv(names ...string) string {
	for _, n := range names {
		if v := strings.TrimSpace(os.Getenv(n)); v != "" {
			return v
		}
	}
	return ""
}

// envTrue accepts the spellings huggingface_hub accepts for its boolean
// variables.
func envTrue(name string) bool {
	switch strings.ToUpper(strings.TrimSpace(os.Getenv(name))) {
	case "1", "ON", "YES", "TRUE":
		return true
	}
	return false
}

// ctxErr prefers the context's error so that Ctrl-C reads as a cancellation,
// not as whatever the half-closed connection reported.
func ctxErr(ctx context.Context, err error) error {
	if ctx.Err() != nil {
		return ctx.Err()
	}
	return err
}
