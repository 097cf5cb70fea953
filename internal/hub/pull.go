package hub

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"hash"
	"io"
	"io/fs"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/bitnet-go/bitnet/internal/progress"
)

const userAgent = "bitnet-go-hub/1"

// Retries cover interrupted bodies, 5xx and 429; a failed dial is not
// retried because it almost always means "no network" and the user should
// hear that at once. retryDelay is a variable so tests need not wait.
var retryDelay = 500 * time.Millisecond

const maxAttempts = 5

// Pull makes sure the files of ref that inference needs (or, if include is
// not empty, the files matching any of those globs) are in the cache, and
// returns the snapshot directory that holds them.
//
// The revision is resolved to a commit with one API call; files already in
// that commit's snapshot cost no further request. The include globs follow
// Python's fnmatch, as huggingface_hub's allow_patterns do: '*' also matches
// '/'. Offline, Pull only looks in the cache.
func (c *Client) Pull(ctx context.Context, ref Ref, include []string) (string, error) {
	if err := ref.validate(); err != nil {
		return "", err
	}
	globs, err := compileGlobs(include)
	if err != nil {
		return "", err
	}
	if c.offline {
		return c.cachedSnapshot(ref, globs)
	}

	var info *repoInfo
	err = retry(ctx, func() (err error) {
		info, err = c.repoInfo(ctx, ref)
		return err
	})
	if err != nil {
		return "", err
	}
	if !commitHash.MatchString(info.SHA) {
		return "", fmt.Errorf("the Hub sent an invalid commit hash %q for %s", info.SHA, ref)
	}
	files, err := selectFiles(ref, info.Siblings, globs)
	if err != nil {
		return "", err
	}

	repoDir := c.repoDir(ref.Repo)
	snap := filepath.Join(repoDir, "snapshots", info.SHA)
	if err := os.MkdirAll(snap, 0o755); err != nil {
		return "", c.cacheError("create", err)
	}
	for _, f := range files {
		if err := c.fetchFile(ctx, ref, repoDir, snap, info.SHA, f.Name); err != nil {
			return "", err
		}
	}
	// Written last, so that a branch never points at a snapshot that this
	// pull left half done.
	if ref.rev() != info.SHA {
		if err := c.writeRef(repoDir, ref.rev(), info.SHA); err != nil {
			return "", err
		}
	}
	return snap, nil
}

type repoInfo struct {
	SHA      string    `json:"sha"`
	Siblings []sibling `json:"siblings"`
}

type sibling struct {
	Name string `json:"rfilename"`
	Size int64  `json:"size"`
	LFS  *struct {
		Size int64 `json:"size"`
	} `json:"lfs"`
}

// size is the file's size when the listing carried it, else -1.
func (s sibling) size() int64 {
	if s.LFS != nil && s.LFS.Size > 0 {
		return s.LFS.Size
	}
	if s.Size > 0 {
		return s.Size
	}
	return -1
}

func (c *Client) repoInfo(ctx context.Context, ref Ref) (*repoInfo, error) {
	// blobs=true adds sizes, which choosing the smallest GGUF needs.
	u := fmt.Sprintf("%s/api/models/%s/revision/%s?blobs=true", c.endpoint, ref.Repo, url.PathEscape(ref.rev()))
	req, err := c.newRequest(ctx, http.MethodGet, u)
	if err != nil {
		return nil, err
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return nil, ctxErr(ctx, c.netError(err))
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, c.statusError(resp, ref, "")
	}
	var info repoInfo
	// A listing is small; the cap only stops a broken server from filling memory.
	if err := json.NewDecoder(io.LimitReader(resp.Body, 64<<20)).Decode(&info); err != nil {
		return nil, ctxErr(ctx, retryable(fmt.Errorf("reading the file list of %s from the Hub: %w", ref, err)))
	}
	return &info, nil
}

func (c *Client) newRequest(ctx context.Context, method, u string) (*http.Request, error) {
	req, err := http.NewRequestWithContext(ctx, method, u, nil)
	if err != nil {
		return nil, err
	}
	req.Header.Set("User-Agent", userAgent)
	// Go would otherwise ask for gzip and decompress on the fly, which breaks
	// byte ranges and size checks.
	req.Header.Set("Accept-Encoding", "identity")
	if c.token != "" {
		req.Header.Set("Authorization", "Bearer "+c.token)
	}
	return req, nil
}

func (c *Client) resolveURL(repo, rev, name string) string {
	parts := strings.Split(name, "/")
	for i, p := range parts {
		parts[i] = url.PathEscape(p)
	}
	return fmt.Sprintf("%s/%s/resolve/%s/%s", c.endpoint, repo, url.PathEscape(rev), strings.Join(parts, "/"))
}

type fileMeta struct {
	etag string
	size int64 // -1 when unknown
	lfs  bool
}

// fileMeta asks for a file's etag and size with HEAD. Like huggingface_hub it
// follows only relative redirects (a renamed repository) and stops at an
// absolute one (the CDN): the Hub puts X-Linked-Etag and X-Linked-Size on
// that redirect, while the CDN knows nothing of the repository.
func (c *Client) fileMeta(ctx context.Context, ref Ref, commit, name string) (fileMeta, error) {
	u := c.resolveURL(ref.Repo, commit, name)
	for range 10 {
		req, err := c.newRequest(ctx, http.MethodHead, u)
		if err != nil {
			return fileMeta{}, err
		}
		resp, err := c.metaHTTP.Do(req)
		if err != nil {
			return fileMeta{}, ctxErr(ctx, c.netError(err))
		}
		resp.Body.Close()
		if resp.StatusCode >= 300 && resp.StatusCode < 400 {
			loc := resp.Header.Get("Location")
			if target, err := url.Parse(loc); err == nil && loc != "" && target.Host == "" {
				u = req.URL.ResolveReference(target).String()
				continue
			}
		} else if resp.StatusCode >= 400 {
			return fileMeta{}, c.statusError(resp, ref, name)
		}

		m := fileMeta{size: -1}
		if e := resp.Header.Get("X-Linked-Etag"); e != "" {
			m.etag, m.lfs = normalizeETag(e), true
		} else {
			m.etag = normalizeETag(resp.Header.Get("ETag"))
		}
		size := resp.Header.Get("X-Linked-Size")
		if size == "" {
			size = resp.Header.Get("Content-Length")
		}
		if n, err := strconv.ParseInt(size, 10, 64); err == nil && n >= 0 {
			m.size = n
		}
		// The etag becomes a file name under blobs/, so it gets the same
		// suspicion as any other server-supplied name.
		if !etagChars.MatchString(m.etag) {
			return fileMeta{}, fmt.Errorf("the Hub sent no usable ETag (%q) for %s in %s", m.etag, name, ref)
		}
		return m, nil
	}
	return fileMeta{}, fmt.Errorf("too many redirects for %s in %s", name, ref)
}

// fetchFile makes snapshots/<commit>/<name> point at its blob, downloading
// the blob unless the cache already has it.
func (c *Client) fetchFile(ctx context.Context, ref Ref, repoDir, snap, commit, name string) error {
	pointer, err := inside(snap, filepath.FromSlash(name))
	if err != nil {
		return err
	}
	// A pointer that resolves is trusted, as huggingface_hub trusts it: the
	// snapshot of a commit never changes.
	if st, err := os.Stat(pointer); err == nil && st.Mode().IsRegular() {
		return nil
	}
	var meta fileMeta
	err = retry(ctx, func() (err error) {
		meta, err = c.fileMeta(ctx, ref, commit, name)
		return err
	})
	if err != nil {
		return err
	}
	blob, err := inside(filepath.Join(repoDir, "blobs"), meta.etag)
	if err != nil {
		return err
	}
	if !isFile(blob) {
		lockPath := filepath.Join(c.cacheDir, ".locks", repoFolder(ref.Repo), meta.etag+".lock")
		unlock, err := lockFile(ctx, lockPath)
		if err != nil {
			if ctx.Err() != nil {
				return ctx.Err()
			}
			return c.cacheError("lock", err)
		}
		defer unlock()
		// Whoever held the lock before us may have just finished this blob.
		if !isFile(blob) {
			if err := c.download(ctx, ref, commit, name, meta, blob); err != nil {
				return err
			}
		}
	}
	return c.linkPointer(blob, pointer)
}

// download fetches one blob into blob+".incomplete", resuming what an earlier
// run left there, checks it and renames it into place. The caller holds the
// blob's lock.
func (c *Client) download(ctx context.Context, ref Ref, commit, name string, meta fileMeta, blob string) error {
	if err := os.MkdirAll(filepath.Dir(blob), 0o755); err != nil {
		return c.cacheError("create", err)
	}
	tmp := blob + ".incomplete"
	f, err := os.OpenFile(tmp, os.O_RDWR|os.O_CREATE, 0o644)
	if err != nil {
		return c.cacheError("write", err)
	}
	defer func() {
		if f != nil {
			f.Close()
		}
	}()

	p := &partial{f: f}
	// For LFS files the etag is the sha256 of the content, which lets us
	// prove the bytes are right before anything can read them.
	if meta.lfs && isSHA256(meta.etag) {
		p.h = sha256.New()
	}
	if err := p.load(meta.size); err != nil {
		return c.cacheError("read", err)
	}
	if c.progress != nil {
		p.bar = progress.New(c.progress, name, meta.size, p.n)
	}
	u := c.resolveURL(ref.Repo, commit, name)
	err = retry(ctx, func() error { return c.getInto(ctx, ref, u, name, meta.size, p) })
	if p.bar != nil {
		p.bar.Finish()
	}
	if err != nil {
		if isRetryable(err) {
			return fmt.Errorf("%w; the partial download was kept, run the pull again to resume", err)
		}
		return err
	}

	var bad string
	switch {
	case meta.size >= 0 && p.n != meta.size:
		bad = fmt.Sprintf("got %d bytes, expected %d", p.n, meta.size)
	case p.h != nil && !strings.EqualFold(hex.EncodeToString(p.h.Sum(nil)), meta.etag):
		bad = fmt.Sprintf("sha256 %s, expected %s", hex.EncodeToString(p.h.Sum(nil)), meta.etag)
	}
	if bad != "" {
		f.Close()
		f = nil
		os.Remove(tmp)
		return newError(ErrCorrupt, "download of %s from %s was corrupt (%s); it was discarded, run the pull again", name, ref, bad)
	}
	if err := f.Sync(); err != nil {
		return c.cacheError("write", err)
	}
	if err := f.Close(); err != nil {
		f = nil
		return c.cacheError("write", err)
	}
	f = nil
	if err := os.Rename(tmp, blob); err != nil {
		return c.cacheError("write", err)
	}
	return nil
}

// getInto makes one GET attempt, appending to p from p.n on.
func (c *Client) getInto(ctx context.Context, ref Ref, u, name string, size int64, p *partial) error {
	if size > 0 && p.n == size {
		return nil // an earlier attempt got everything but the rename
	}
	req, err := c.newRequest(ctx, http.MethodGet, u)
	if err != nil {
		return err
	}
	if p.n > 0 {
		req.Header.Set("Range", fmt.Sprintf("bytes=%d-", p.n))
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return ctxErr(ctx, c.netError(err))
	}
	defer resp.Body.Close()
	switch resp.StatusCode {
	case http.StatusPartialContent:
		if start, ok := contentRangeStart(resp.Header.Get("Content-Range")); !ok || start != p.n {
			if err := p.reset(); err != nil {
				return err
			}
			return retryable(fmt.Errorf("the server answered the resume of %s with the wrong byte range", name))
		}
	case http.StatusOK:
		// The server ignored Range: the body starts at byte 0.
		if err := p.reset(); err != nil {
			return err
		}
	case http.StatusRequestedRangeNotSatisfiable:
		// Our partial file is longer than the server's: it cannot be a prefix.
		if err := p.reset(); err != nil {
			return err
		}
		return retryable(fmt.Errorf("could not resume %s; starting over", name))
	default:
		return c.statusError(resp, ref, name)
	}
	if _, err := io.Copy(p, resp.Body); err != nil {
		if p.werr != nil {
			return c.cacheError("write", p.werr)
		}
		return ctxErr(ctx, retryable(fmt.Errorf("download of %s from %s was interrupted (%v)", name, ref, rootCause(err))))
	}
	if size >= 0 && p.n < size {
		return retryable(fmt.Errorf("download of %s from %s ended early at %d of %d bytes", name, ref, p.n, size))
	}
	return nil
}

// partial is the .incomplete file being appended to, hashed as it grows.
type partial struct {
	f    *os.File
	h    hash.Hash // nil when the blob cannot be verified
	n    int64
	bar  *progress.Bar
	werr error // set when the disk, not the network, failed
}

func (p *partial) Write(b []byte) (int, error) {
	n, err := p.f.Write(b)
	if p.h != nil {
		p.h.Write(b[:n])
	}
	p.n += int64(n)
	if p.bar != nil {
		p.bar.Add(int64(n))
	}
	if err != nil {
		p.werr = err
	}
	return n, err
}

// load adopts what an earlier run left: its bytes are hashed again so that
// the final check covers the whole file, not only the resumed tail.
func (p *partial) load(size int64) error {
	st, err := p.f.Stat()
	if err != nil {
		return err
	}
	n := st.Size()
	if size >= 0 && n > size {
		return p.reset()
	}
	if p.h != nil {
		if _, err := io.Copy(p.h, io.NewSectionReader(p.f, 0, n)); err != nil {
			return err
		}
	}
	if _, err := p.f.Seek(n, io.SeekStart); err != nil {
		return err
	}
	p.n = n
	return nil
}

func (p *partial) reset() error {
	if err := p.f.Truncate(0); err != nil {
		p.werr = err
		return err
	}
	if _, err := p.f.Seek(0, io.SeekStart); err != nil {
		return err
	}
	if p.h != nil {
		p.h.Reset()
	}
	p.n = 0
	return nil
}

// contentRangeStart parses the first byte of "bytes START-END/TOTAL".
func contentRangeStart(v string) (int64, bool) {
	v, ok := strings.CutPrefix(v, "bytes ")
	if !ok {
		return 0, false
	}
	start, _, ok := strings.Cut(v, "-")
	if !ok {
		return 0, false
	}
	n, err := strconv.ParseInt(start, 10, 64)
	return n, err == nil
}

// linkPointer creates the relative symlink huggingface_hub creates, e.g.
// snapshots/<commit>/config.json -> ../../blobs/<etag>; relative so that the
// cache still works after being moved or mounted elsewhere.
func (c *Client) linkPointer(blob, pointer string) error {
	if err := os.MkdirAll(filepath.Dir(pointer), 0o755); err != nil {
		return c.cacheError("create", err)
	}
	rel, err := filepath.Rel(filepath.Dir(pointer), blob)
	if err != nil {
		return err
	}
	for range 3 {
		err = os.Symlink(rel, pointer)
		if !errors.Is(err, fs.ErrExist) {
			break
		}
		// Another pull may have made the same link a moment ago; anything
		// else there is stale (a dangling link from an interrupted run).
		if cur, rerr := os.Readlink(pointer); rerr == nil && cur == rel {
			return nil
		}
		if rerr := os.Remove(pointer); rerr != nil && !errors.Is(rerr, fs.ErrNotExist) {
			return c.cacheError("replace", rerr)
		}
	}
	if err != nil {
		return c.cacheError("link", err)
	}
	return nil
}

func (c *Client) writeRef(repoDir, rev, commit string) error {
	p, err := inside(filepath.Join(repoDir, "refs"), filepath.FromSlash(rev))
	if err != nil {
		return err
	}
	if cur, err := os.ReadFile(p); err == nil && strings.TrimSpace(string(cur)) == commit {
		return nil
	}
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		return c.cacheError("create", err)
	}
	// Write then rename, so that a concurrent reader (Python included) never
	// sees an empty or half-written ref.
	tmp, err := os.CreateTemp(filepath.Dir(p), ".tmp-ref-*")
	if err != nil {
		return c.cacheError("write", err)
	}
	_, werr := tmp.WriteString(commit)
	cerr := tmp.Close()
	if werr == nil {
		werr = cerr
	}
	if werr == nil {
		werr = os.Rename(tmp.Name(), p)
	}
	if werr != nil {
		os.Remove(tmp.Name())
		return c.cacheError("write", werr)
	}
	return nil
}

// retry runs f until it succeeds, fails for a reason retrying cannot fix, or
// has been tried maxAttempts times.
func retry(ctx context.Context, f func() error) error {
	for attempt := 1; ; attempt++ {
		err := f()
		if err == nil || !isRetryable(err) || attempt == maxAttempts {
			return err
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(retryDelay * time.Duration(attempt)):
		}
	}
}

func isSHA256(s string) bool {
	if len(s) != 64 {
		return false
	}
	_, err := hex.DecodeString(s)
	return err == nil
}

func isFile(p string) bool {
	st, err := os.Stat(p)
	return err == nil && st.Mode().IsRegular()
}
