package hub

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strings"
)

// repoFolder is huggingface_hub's folder name for a model repository.
func repoFolder(repo string) string { return "models--" + strings.ReplaceAll(repo, "/", "--") }

func (c *Client) repoDir(repo string) string { return filepath.Join(c.cacheDir, repoFolder(repo)) }

// inside joins elems onto base and refuses any result outside base. Names are
// validated before they get here; this is the last check before the disk,
// so that a validation bug cannot become a write outside the cache.
func inside(base string, elems ...string) (string, error) {
	p := filepath.Join(append([]string{base}, elems...)...)
	rel, err := filepath.Rel(base, p)
	if err != nil || !filepath.IsLocal(rel) {
		return "", fmt.Errorf("refusing path %q: it is outside %s", p, base)
	}
	return p, nil
}

// Resolve returns a local snapshot directory for ref. A snapshot already in
// the cache with weights in it is returned without any request, so running a
// cached model never needs the network; otherwise Resolve pulls (unless
// offline). Use Pull to check the Hub for a newer commit of a branch.
func (c *Client) Resolve(ctx context.Context, ref Ref) (string, error) {
	if err := ref.validate(); err != nil {
		return "", err
	}
	dir, err := c.cachedSnapshot(ref, nil)
	if err == nil || c.offline {
		return dir, err
	}
	return c.Pull(ctx, ref, nil)
}

// cachedSnapshot finds ref's snapshot following the documented resolution
// rules: a 40-hex revision is a commit, anything else is read from refs/.
// With globs each must match a cached file; without, the snapshot must hold
// a complete set of weights.
func (c *Client) cachedSnapshot(ref Ref, globs []glob) (string, error) {
	notCached := func(why string) error {
		if c.offline {
			return newError(ErrNotCached, "%s is not in the cache at %s (%s) and offline mode is on (HF_HUB_OFFLINE); pull it once while online", ref, c.cacheDir, why)
		}
		return newError(ErrNotCached, "%s is not in the cache at %s (%s)", ref, c.cacheDir, why)
	}
	repoDir := c.repoDir(ref.Repo)
	commit, err := cachedCommit(repoDir, ref.rev())
	if err != nil {
		return "", notCached(err.Error())
	}
	snap := filepath.Join(repoDir, "snapshots", commit)
	files, err := snapshotFiles(snap)
	if err != nil {
		return "", notCached("no snapshot for commit " + commit)
	}
	if len(globs) > 0 {
		for _, g := range globs {
			if !slices.ContainsFunc(files, g.re.MatchString) {
				return "", notCached(fmt.Sprintf("no cached file matches %q", g.pat))
			}
		}
		return snap, nil
	}
	if why := missingWeights(snap, files); why != "" {
		return "", notCached(why)
	}
	return snap, nil
}

func cachedCommit(repoDir, rev string) (string, error) {
	if commitHash.MatchString(rev) {
		if st, err := os.Stat(filepath.Join(repoDir, "snapshots", rev)); err == nil && st.IsDir() {
			return rev, nil
		}
	}
	p, err := inside(filepath.Join(repoDir, "refs"), filepath.FromSlash(rev))
	if err != nil {
		return "", err
	}
	b, err := os.ReadFile(p)
	if err != nil {
		return "", fmt.Errorf("no ref %q", rev)
	}
	commit := strings.TrimSpace(string(b))
	if !commitHash.MatchString(commit) {
		return "", fmt.Errorf("ref %q holds no commit hash", rev)
	}
	return commit, nil
}

// snapshotFiles lists the files of a snapshot whose links resolve, as
// slash-separated paths relative to it.
func snapshotFiles(snap string) ([]string, error) {
	if st, err := os.Stat(snap); err != nil || !st.IsDir() {
		return nil, fs.ErrNotExist
	}
	var files []string
	err := filepath.WalkDir(snap, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		if st, err := os.Stat(p); err == nil && st.Mode().IsRegular() {
			rel, _ := filepath.Rel(snap, p)
			files = append(files, filepath.ToSlash(rel))
		}
		return nil
	})
	return files, err
}

// missingWeights says why a snapshot cannot be run ("" if it can): it needs
// a GGUF, or safetensors plus config.json, plus every shard its index names.
func missingWeights(snap string, files []string) string {
	has := map[string]bool{}
	var gguf, st bool
	for _, f := range files {
		has[f] = true
		if strings.Contains(f, "/") {
			continue
		}
		gguf = gguf || strings.HasSuffix(strings.ToLower(f), ".gguf")
		st = st || strings.HasSuffix(f, ".safetensors")
	}
	switch {
	case gguf && !st:
		return ""
	case !st:
		return "no weights"
	case !has["config.json"]:
		return "no config.json"
	}
	if !has["model.safetensors.index.json"] {
		return ""
	}
	b, err := os.ReadFile(filepath.Join(snap, "model.safetensors.index.json"))
	if err != nil {
		return "unreadable model.safetensors.index.json"
	}
	var idx struct {
		WeightMap map[string]string `json:"weight_map"`
	}
	if err := json.Unmarshal(b, &idx); err != nil {
		return "unreadable model.safetensors.index.json"
	}
	for _, shard := range idx.WeightMap {
		if !has[path.Clean(shard)] {
			return "missing shard " + shard
		}
	}
	return ""
}

// CachedModel is one model repository in the cache.
type CachedModel struct {
	Repo      string           `json:"repo"`
	Path      string           `json:"path"` // the models--ORG--NAME folder
	Size      int64            `json:"size"` // bytes of blobs (partial downloads included) and copied files
	Revisions []CachedRevision `json:"revisions"`
}

// CachedRevision is one snapshot of a cached model.
type CachedRevision struct {
	Commit string   `json:"commit"`
	Refs   []string `json:"refs,omitempty"` // branches and tags that point at Commit
	Path   string   `json:"path"`           // the snapshot directory
	Size   int64    `json:"size"`           // bytes of the distinct blobs it uses
	Files  int      `json:"files"`
}

// List returns the cached models sorted by name. It reads only the disk.
func (c *Client) List() ([]CachedModel, error) {
	entries, err := os.ReadDir(c.cacheDir)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, c.cacheError("read", err)
	}
	var out []CachedModel
	for _, e := range entries {
		name, ok := strings.CutPrefix(e.Name(), "models--")
		if !ok || !e.IsDir() {
			continue
		}
		dir := filepath.Join(c.cacheDir, e.Name())
		m := CachedModel{Repo: strings.ReplaceAll(name, "--", "/"), Path: dir, Size: dataSize(dir)}
		refs := readRefs(dir)
		snaps, _ := os.ReadDir(filepath.Join(dir, "snapshots"))
		for _, s := range snaps {
			if !s.IsDir() {
				continue
			}
			snap := filepath.Join(dir, "snapshots", s.Name())
			blobs := snapshotBlobs(snap)
			r := CachedRevision{Commit: s.Name(), Refs: refs[s.Name()], Path: snap, Files: len(blobs)}
			for _, size := range blobs {
				r.Size += size
			}
			m.Revisions = append(m.Revisions, r)
		}
		// Named revisions first, then by commit, so "main" is easy to spot.
		slices.SortFunc(m.Revisions, func(a, b CachedRevision) int {
			if c := boolCmp(len(a.Refs) > 0, len(b.Refs) > 0); c != 0 {
				return c
			}
			return strings.Compare(a.Commit, b.Commit)
		})
		out = append(out, m)
	}
	slices.SortFunc(out, func(a, b CachedModel) int { return strings.Compare(a.Repo, b.Repo) })
	return out, nil
}

func boolCmp(a, b bool) int {
	switch {
	case a == b:
		return 0
	case a:
		return -1
	}
	return 1
}

// readRefs maps commit -> ref names. Refs may be nested ("refs/pr/1").
func readRefs(repoDir string) map[string][]string {
	root := filepath.Join(repoDir, "refs")
	out := map[string][]string{}
	filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || strings.HasPrefix(d.Name(), ".") {
			return nil
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return nil
		}
		commit := strings.TrimSpace(string(b))
		rel, _ := filepath.Rel(root, p)
		out[commit] = append(out[commit], filepath.ToSlash(rel))
		return nil
	})
	for _, v := range out {
		slices.Sort(v)
	}
	return out
}

// snapshotBlobs maps each distinct file a snapshot uses to its size: the
// blob a link points at, or the file itself where there are no symlinks
// (huggingface_hub's degraded mode on Windows).
func snapshotBlobs(snap string) map[string]int64 {
	out := map[string]int64{}
	filepath.WalkDir(snap, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return nil
		}
		target := p
		if d.Type()&fs.ModeSymlink != 0 {
			l, err := os.Readlink(p)
			if err != nil {
				return nil
			}
			if !filepath.IsAbs(l) {
				l = filepath.Join(filepath.Dir(p), l)
			}
			target = filepath.Clean(l)
		}
		if st, err := os.Stat(target); err == nil && st.Mode().IsRegular() {
			out[target] = st.Size()
		}
		return nil
	})
	return out
}

// dataSize is what a repository's files take: its blobs, plus files copied
// into snapshots where symlinks were unavailable. Refs and markers are noise.
func dataSize(repoDir string) int64 {
	return treeSize(filepath.Join(repoDir, "blobs")) + treeSize(filepath.Join(repoDir, "snapshots"))
}

// treeSize sums regular files, not symlinks, so each blob counts once.
func treeSize(dir string) int64 {
	var n int64
	filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err == nil && d.Type().IsRegular() {
			if info, err := d.Info(); err == nil {
				n += info.Size()
			}
		}
		return nil
	})
	return n
}

// Remove deletes ref from the cache and returns the bytes freed. Without a
// revision the whole repository goes. With one, its snapshot goes, with the
// refs that point at it and the blobs no other snapshot uses; removing the
// last snapshot removes the repository folder.
//
// Remove does not take the download locks: do not run it against a pull of
// the same model.
func (c *Client) Remove(ref Ref) (int64, error) {
	if err := ref.validate(); err != nil {
		return 0, err
	}
	repoDir := c.repoDir(ref.Repo)
	if st, err := os.Stat(repoDir); err != nil || !st.IsDir() {
		return 0, newError(ErrNotCached, "%s is not in the cache at %s", ref.Repo, c.cacheDir)
	}
	if ref.Revision == "" {
		return c.removeAll(ref.Repo)
	}

	commit, err := cachedCommit(repoDir, ref.Revision)
	if err != nil {
		return 0, newError(ErrNotCached, "%s is not in the cache at %s (%v)", ref, c.cacheDir, err)
	}
	snapsDir := filepath.Join(repoDir, "snapshots")
	snap := filepath.Join(snapsDir, commit)
	mine := snapshotBlobs(snap)
	others := map[string]bool{}
	entries, _ := os.ReadDir(snapsDir)
	remaining := 0
	for _, e := range entries {
		if e.IsDir() && e.Name() != commit {
			remaining++
			for b := range snapshotBlobs(filepath.Join(snapsDir, e.Name())) {
				others[b] = true
			}
		}
	}
	if remaining == 0 {
		return c.removeAll(ref.Repo)
	}

	var freed int64
	if err := os.RemoveAll(snap); err != nil {
		return 0, c.cacheError("remove", err)
	}
	os.RemoveAll(filepath.Join(repoDir, ".no_exist", commit))
	for _, name := range readRefs(repoDir)[commit] {
		if p, err := inside(filepath.Join(repoDir, "refs"), filepath.FromSlash(name)); err == nil {
			os.Remove(p)
		}
	}
	blobsDir := filepath.Join(repoDir, "blobs")
	for b, size := range mine {
		// Only files in our own blobs folder are ever deleted, whatever a
		// hand-made link points at.
		if filepath.Dir(b) != blobsDir || others[b] {
			continue
		}
		if err := os.Remove(b); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return freed, c.cacheError("remove", err)
		}
		freed += size
	}
	return freed, nil
}

func (c *Client) removeAll(repo string) (int64, error) {
	dir := c.repoDir(repo)
	freed := dataSize(dir)
	if err := os.RemoveAll(dir); err != nil {
		return 0, c.cacheError("remove", err)
	}
	os.RemoveAll(filepath.Join(c.cacheDir, ".locks", repoFolder(repo)))
	return freed, nil
}
