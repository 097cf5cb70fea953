// Package hubtest runs a fake Hugging Face Hub on an httptest server, for
// tests of anything that downloads models (point HF_ENDPOINT or
// hub.Options.Endpoint at Server.URL).
//
// It speaks the part of the Hub protocol the hub package uses, with the
// real Hub's quirks: the model API (/api/models/ORG/NAME/revision/REV),
// resolve URLs (/ORG/NAME/resolve/REV/PATH) that answer small files directly
// with a git-sha1 ETag and redirect LFS files to a second server standing
// for the CDN (another host, as on the Hub) with X-Linked-Etag and
// X-Linked-Size on the 302, Range requests,
// X-Error-Code on 401/403/404, and relative redirects for renamed repos.
// Faults can be injected into bodies, and every request is logged so tests
// can count them.
package hubtest

import (
	"bytes"
	"crypto/sha1"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"maps"
	"net/http"
	"net/http/httptest"
	"net/url"
	"path"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// Fault is a failure injected into the body of a file download.
type Fault int

const (
	// Cut sends the headers for the whole (remaining) body, then half of it,
	// then drops the connection.
	Cut Fault = iota + 1
	// Corrupt flips a byte in the middle of the body.
	Corrupt
)

// Request is one request the server received.
type Request struct {
	Method string
	Kind   string // "api", "resolve" (HEAD or GET of a resolve URL) or "cdn" (the CDN host)
	Path   string // unescaped URL path
	Range  string // the Range header, if any
	Auth   string // the Authorization header, if any
}

// Server is a fake Hub. Its methods are safe for concurrent use.
type Server struct {
	// URL is the endpoint to give to the client under test.
	URL string

	tb      testing.TB
	srv     *httptest.Server
	cdn     *httptest.Server
	mu      sync.Mutex
	repos   map[string]*repo
	renamed map[string]string
	faults  map[string]*fault // by blob oid
	log     []Request
	delay   time.Duration
	seq     int
}

type repo struct {
	token    string // non-empty: gated, this bearer token is needed
	branches map[string]string
	commits  map[string]map[string]blob
}

type blob struct {
	data []byte
	lfs  bool
	oid  string // sha256 for LFS files, git blob sha1 otherwise
}

type fault struct {
	kind  Fault
	times int
}

// New starts a fake Hub that is closed when the test ends.
func New(tb testing.TB) *Server {
	tb.Helper()
	s := &Server{tb: tb, repos: map[string]*repo{}, renamed: map[string]string{}, faults: map[string]*fault{}}
	s.srv = httptest.NewServer(http.HandlerFunc(s.serve))
	s.cdn = httptest.NewServer(http.HandlerFunc(s.serve))
	s.URL = s.srv.URL
	tb.Cleanup(s.srv.Close)
	tb.Cleanup(s.cdn.Close)
	return s
}

// IsLFS reports whether the fake stores name in LFS. It follows the default
// .gitattributes of new Hub repositories, by extension.
func IsLFS(name string) bool {
	switch strings.ToLower(path.Ext(name)) {
	case ".safetensors", ".gguf", ".bin", ".model", ".pt", ".pth", ".onnx", ".h5", ".msgpack":
		return true
	}
	return false
}

// GitBlobSHA1 is git's object id for a file, which the Hub uses as the ETag
// (and the cache as the blob name) of files not stored in LFS.
func GitBlobSHA1(data []byte) string {
	h := sha1.New()
	fmt.Fprintf(h, "blob %d\x00", len(data))
	h.Write(data)
	return hex.EncodeToString(h.Sum(nil))
}

// SHA256 is the ETag of an LFS file.
func SHA256(data []byte) string {
	s := sha256.Sum256(data)
	return hex.EncodeToString(s[:])
}

// ETag returns the ETag (and cache blob name) the fake gives a file.
func ETag(name string, data []byte) string {
	if IsLFS(name) {
		return SHA256(data)
	}
	return GitBlobSHA1(data)
}

// Push makes a new commit on branch of repo (creating both as needed) whose
// tree is exactly files, and returns its hash. Tags are branches here.
func (s *Server) Push(repoID, branch string, files map[string][]byte) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	r := s.repos[repoID]
	if r == nil {
		r = &repo{branches: map[string]string{}, commits: map[string]map[string]blob{}}
		s.repos[repoID] = r
	}
	s.seq++
	h := sha1.New()
	fmt.Fprintf(h, "%s\x00%s\x00%d", repoID, branch, s.seq)
	tree := map[string]blob{}
	for _, name := range slices.Sorted(maps.Keys(files)) {
		b := blob{data: bytes.Clone(files[name]), lfs: IsLFS(name), oid: ETag(name, files[name])}
		tree[name] = b
		fmt.Fprintf(h, "\x00%s\x00%s", name, b.oid)
	}
	commit := hex.EncodeToString(h.Sum(nil))
	r.commits[commit] = tree
	r.branches[branch] = commit
	return commit
}

// Gate makes repo gated: requests need "Authorization: Bearer token".
func (s *Server) Gate(repoID, token string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.mustRepo(repoID).token = token
}

// Rename moves repo to newID; requests for the old name get a relative
// redirect, as on the real Hub.
func (s *Server) Rename(oldID, newID string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.repos[newID] = s.mustRepo(oldID)
	delete(s.repos, oldID)
	s.renamed[oldID] = newID
}

// Fail injects fault into the next times downloads of file as found on the
// main branch of repo.
func (s *Server) Fail(repoID, file string, f Fault, times int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	r := s.mustRepo(repoID)
	b, ok := r.commits[r.branches["main"]][file]
	if !ok {
		s.tb.Fatalf("hubtest: %s has no %s on main", repoID, file)
	}
	s.faults[b.oid] = &fault{kind: f, times: times}
}

// SetBodyDelay makes every file body wait d before its first byte, so that
// tests can make concurrent downloads overlap.
func (s *Server) SetBodyDelay(d time.Duration) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.delay = d
}

// Requests returns a copy of the request log.
func (s *Server) Requests() []Request {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.log)
}

// Count returns how many logged requests had method and kind; an empty
// method or kind matches any.
func (s *Server) Count(method, kind string) int {
	n := 0
	for _, r := range s.Requests() {
		if (method == "" || r.Method == method) && (kind == "" || r.Kind == kind) {
			n++
		}
	}
	return n
}

// ResetLog forgets the requests logged so far.
func (s *Server) ResetLog() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.log = nil
}

func (s *Server) mustRepo(id string) *repo {
	r := s.repos[id]
	if r == nil {
		s.tb.Fatalf("hubtest: no repo %s", id)
	}
	return r
}

func (s *Server) serve(w http.ResponseWriter, r *http.Request) {
	kind := "resolve"
	switch {
	case strings.HasPrefix(r.URL.Path, "/api/models/"):
		kind = "api"
	case strings.HasPrefix(r.URL.Path, "/cdn/"):
		kind = "cdn"
	}
	s.mu.Lock()
	s.log = append(s.log, Request{Method: r.Method, Kind: kind, Path: r.URL.Path, Range: r.Header.Get("Range"), Auth: r.Header.Get("Authorization")})
	s.mu.Unlock()

	// Split the escaped path so that an escaped '/' inside a revision
	// ("refs%2Fpr%2F1") stays one part, as on the Hub.
	raw := strings.Split(strings.TrimPrefix(r.URL.EscapedPath(), "/"), "/")
	parts := make([]string, len(raw))
	for i, p := range raw {
		u, err := url.PathUnescape(p)
		if err != nil {
			http.Error(w, "bad path", http.StatusBadRequest)
			return
		}
		parts[i] = u
	}
	switch kind {
	case "cdn":
		s.serveCDN(w, r, parts)
	case "api":
		s.serveAPI(w, r, parts[2:])
	default:
		s.serveResolve(w, r, parts)
	}
}

func hubError(w http.ResponseWriter, status int, code, msg string) {
	w.Header().Set("X-Error-Code", code)
	w.Header().Set("X-Error-Message", msg)
	http.Error(w, msg, status)
}

// lookup finds repo and commit for a request, answering the error itself
// when it fails (ok false). A renamed repo gets a redirect to newPath(newID).
func (s *Server) lookup(w http.ResponseWriter, r *http.Request, id, rev string, newPath func(string) string) (map[string]blob, string, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if to, ok := s.renamed[id]; ok {
		w.Header().Set("Location", newPath(to))
		w.WriteHeader(http.StatusTemporaryRedirect)
		return nil, "", false
	}
	rp := s.repos[id]
	if rp == nil {
		hubError(w, http.StatusNotFound, "RepoNotFound", "Repository Not Found for url: "+r.URL.String())
		return nil, "", false
	}
	if rp.token != "" {
		switch auth := r.Header.Get("Authorization"); {
		case auth == "":
			hubError(w, http.StatusUnauthorized, "GatedRepo", "Access to model "+id+" is restricted. You must be authenticated to access it.")
			return nil, "", false
		case auth != "Bearer "+rp.token:
			hubError(w, http.StatusForbidden, "GatedRepo", "Access to model "+id+" is restricted and you are not in the authorized list.")
			return nil, "", false
		}
	}
	commit := rev
	if c, ok := rp.branches[rev]; ok {
		commit = c
	}
	tree, ok := rp.commits[commit]
	if !ok {
		hubError(w, http.StatusNotFound, "RevisionNotFound", "Invalid rev id: "+rev)
		return nil, "", false
	}
	return tree, commit, true
}

// serveAPI answers /api/models/ORG/NAME/revision/REV[?blobs=true].
func (s *Server) serveAPI(w http.ResponseWriter, r *http.Request, parts []string) {
	if len(parts) < 4 || parts[2] != "revision" {
		hubError(w, http.StatusNotFound, "RepoNotFound", "not found")
		return
	}
	id := parts[0] + "/" + parts[1]
	rev := strings.Join(parts[3:], "/")
	tree, commit, ok := s.lookup(w, r, id, rev, func(to string) string {
		return "/api/models/" + to + "/revision/" + url.PathEscape(rev) + "?" + r.URL.RawQuery
	})
	if !ok {
		return
	}
	type lfs struct {
		SHA256      string `json:"sha256"`
		Size        int    `json:"size"`
		PointerSize int    `json:"pointerSize"`
	}
	type sib struct {
		Name   string `json:"rfilename"`
		Size   int    `json:"size,omitempty"`
		BlobID string `json:"blobId,omitempty"`
		LFS    *lfs   `json:"lfs,omitempty"`
	}
	blobs := r.URL.Query().Get("blobs") == "true"
	var sibs []sib
	for _, name := range slices.Sorted(maps.Keys(tree)) {
		b := tree[name]
		sb := sib{Name: name}
		if blobs {
			sb.Size = len(b.data)
			sb.BlobID = GitBlobSHA1(b.data)
			if b.lfs {
				sb.LFS = &lfs{SHA256: b.oid, Size: len(b.data), PointerSize: 134}
			}
		}
		sibs = append(sibs, sb)
	}
	w.Header().Set("Content-Type", "application/json")
	json.NewEncoder(w).Encode(map[string]any{"id": id, "modelId": id, "sha": commit, "private": false, "siblings": sibs})
}

// serveResolve answers HEAD and GET of /ORG/NAME/resolve/REV/PATH.
func (s *Server) serveResolve(w http.ResponseWriter, r *http.Request, parts []string) {
	if len(parts) < 5 || parts[2] != "resolve" {
		hubError(w, http.StatusNotFound, "RepoNotFound", "not found")
		return
	}
	id, rev, file := parts[0]+"/"+parts[1], parts[3], strings.Join(parts[4:], "/")
	tree, commit, ok := s.lookup(w, r, id, rev, func(to string) string {
		return "/" + to + "/resolve/" + url.PathEscape(rev) + "/" + file
	})
	if !ok {
		return
	}
	b, ok := tree[file]
	if !ok {
		hubError(w, http.StatusNotFound, "EntryNotFound", file+" does not exist on "+rev)
		return
	}
	h := w.Header()
	h.Set("X-Repo-Commit", commit)
	if b.lfs {
		// The real Hub's redirect carries the LFS metadata; its ETag is that
		// of the small pointer file, so a client that reads ETag instead of
		// X-Linked-Etag gets the wrong blob name and fails verification.
		h.Set("ETag", `"`+GitBlobSHA1([]byte("version https://git-lfs.github.com/spec/v1\noid sha256:"+b.oid))+`"`)
		h.Set("X-Linked-Etag", `"`+b.oid+`"`)
		h.Set("X-Linked-Size", strconv.Itoa(len(b.data)))
		h.Set("Location", s.cdn.URL+"/cdn/"+b.oid+"?expires=never")
		w.WriteHeader(http.StatusFound)
		return
	}
	h.Set("ETag", `"`+b.oid+`"`)
	s.serveBlob(w, r, b)
}

func (s *Server) serveCDN(w http.ResponseWriter, r *http.Request, parts []string) {
	if len(parts) != 2 {
		http.NotFound(w, r)
		return
	}
	s.mu.Lock()
	var found *blob
	for _, rp := range s.repos {
		for _, tree := range rp.commits {
			for _, b := range tree {
				if b.oid == parts[1] {
					found = &b
				}
			}
		}
	}
	s.mu.Unlock()
	if found == nil {
		http.NotFound(w, r)
		return
	}
	s.serveBlob(w, r, *found)
}

func (s *Server) serveBlob(w http.ResponseWriter, r *http.Request, b blob) {
	w.Header().Set("Content-Type", "application/octet-stream")
	data := b.data
	if r.Method == http.MethodGet {
		s.mu.Lock()
		delay := s.delay
		var kind Fault
		if f := s.faults[b.oid]; f != nil && f.times > 0 {
			kind = f.kind
			f.times--
		}
		s.mu.Unlock()
		select {
		case <-time.After(delay):
		case <-r.Context().Done():
			return
		}
		switch kind {
		case Corrupt:
			data = bytes.Clone(data)
			data[len(data)/2] ^= 0x55
		case Cut:
			start := rangeStart(r.Header.Get("Range"), len(data))
			rest := data[start:]
			w.Header().Set("Content-Length", strconv.Itoa(len(rest)))
			if start > 0 {
				w.Header().Set("Content-Range", fmt.Sprintf("bytes %d-%d/%d", start, len(data)-1, len(data)))
				w.WriteHeader(http.StatusPartialContent)
			} else {
				w.WriteHeader(http.StatusOK)
			}
			w.Write(rest[:len(rest)/2])
			w.(http.Flusher).Flush()
			panic(http.ErrAbortHandler) // drops the connection mid-body
		}
	}
	http.ServeContent(w, r, "", time.Time{}, bytes.NewReader(data))
}

// rangeStart parses "bytes=N-", the only form the hub client sends.
func rangeStart(h string, size int) int {
	v, ok := strings.CutPrefix(h, "bytes=")
	if !ok {
		return 0
	}
	n, err := strconv.Atoi(strings.TrimSuffix(v, "-"))
	if err != nil || n < 0 || n > size {
		return 0
	}
	return n
}
