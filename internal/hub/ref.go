package hub

import (
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"unicode/utf8"
)

// Ref names a model repository on the Hub and, optionally, a revision.
type Ref struct {
	Repo     string // "ORG/NAME"
	Revision string // branch, tag, "refs/pr/N" or 40-hex commit; "" means main
}

// String returns the reference in the form ParseRef accepts.
func (r Ref) String() string {
	if r.Revision == "" {
		return r.Repo
	}
	return r.Repo + "@" + r.Revision
}

func (r Ref) rev() string {
	if r.Revision == "" {
		return DefaultRevision
	}
	return r.Revision
}

// The Hub allows letters, digits, '-', '_' and '.' in names, with a word
// character at both ends and no "--" or ".." inside. "--" matters to us too:
// it is the separator in the cache folder name, so it must never be ambiguous.
var namePart = regexp.MustCompile(`^[A-Za-z0-9_](?:[A-Za-z0-9_.-]*[A-Za-z0-9_])?$`)

// Revisions are git ref names or commit hashes; this is a conservative subset
// of what git allows, so every one of them is also a safe relative path.
var revChars = regexp.MustCompile(`^[A-Za-z0-9_.-]+$`)

var commitHash = regexp.MustCompile(`^[0-9a-f]{40}$`)

// ParseRef parses "ORG/NAME" or "ORG/NAME@REVISION". It rejects anything that
// could not be a Hub model id or that would build a path outside the cache:
// "..", absolute paths, backslashes, empty parts, extra slashes.
func ParseRef(s string) (Ref, error) {
	repo, rev, hasRev := strings.Cut(s, "@")
	r := Ref{Repo: repo, Revision: rev}
	if hasRev && rev == "" {
		return Ref{}, fmt.Errorf("invalid model name %q: empty revision after '@'", s)
	}
	if err := r.validate(); err != nil {
		return Ref{}, err
	}
	return r, nil
}

func (r Ref) validate() error {
	if err := validateRepo(r.Repo); err != nil {
		return err
	}
	if r.Revision != "" {
		return validateRevision(r.Revision)
	}
	return nil
}

func validateRepo(repo string) error {
	org, name, ok := strings.Cut(repo, "/")
	if !ok || strings.Contains(name, "/") {
		return fmt.Errorf("invalid model name %q: want ORG/NAME[@REVISION], e.g. microsoft/bitnet-b1.58-2B-4T", repo)
	}
	if len(repo) > 96 {
		return fmt.Errorf("invalid model name %q: longer than 96 characters", repo)
	}
	for _, p := range []string{org, name} {
		if !namePart.MatchString(p) || strings.Contains(p, "--") || strings.Contains(p, "..") {
			return fmt.Errorf("invalid model name %q: %q may contain only letters, digits, '-', '_' and '.', must start and end with a letter, digit or '_', and may not contain \"--\" or \"..\"", repo, p)
		}
	}
	return nil
}

func validateRevision(rev string) error {
	if len(rev) > 255 {
		return fmt.Errorf("invalid revision %q: too long", rev)
	}
	for _, seg := range strings.Split(rev, "/") {
		if seg == "" || seg[0] == '.' || !revChars.MatchString(seg) {
			return fmt.Errorf("invalid revision %q: want a branch, tag or commit hash made of letters, digits, '-', '_', '.' and '/'-separated parts", rev)
		}
	}
	return nil
}

// IsRepoRef reports whether s should be treated as a Hub reference rather
// than a local path: an existing file or directory always wins, so a local
// folder that happens to be called "org/name" is never shadowed.
func IsRepoRef(s string) bool {
	if _, err := os.Stat(s); err == nil {
		return false
	}
	_, err := ParseRef(s)
	return err == nil
}

// validRelPath checks a repository file name (rfilename) before it becomes a
// path under snapshots/<commit>/. The server chooses these names, so they are
// treated as hostile: no absolute paths, no "." or ".." parts, no empty parts,
// no backslashes or control characters.
func validRelPath(p string) error {
	bad := func(why string) error { return fmt.Errorf("unsafe file name %q from the Hub: %s", p, why) }
	switch {
	case p == "":
		return bad("empty")
	case len(p) > 1024:
		return bad("too long")
	case !utf8.ValidString(p):
		return bad("not UTF-8")
	case strings.ContainsAny(p, "\\\x00"):
		return bad("backslash or NUL")
	case strings.HasPrefix(p, "/"):
		return bad("absolute")
	}
	for _, r := range p {
		if r < 0x20 || r == 0x7f {
			return bad("control character")
		}
	}
	for _, seg := range strings.Split(p, "/") {
		if seg == "" || seg == "." || seg == ".." {
			return bad("empty, '.' or '..' part")
		}
	}
	if !filepath.IsLocal(filepath.FromSlash(p)) {
		return bad("not a local path on this system")
	}
	return nil
}

// Etags name blobs, so they must be plain file names. Real ones are 40 (git
// sha1) or 64 (sha256) hex digits; the set is a little wider on purpose.
var etagChars = regexp.MustCompile(`^[A-Za-z0-9_-]{1,128}$`)

// normalizeETag strips the weak-validator prefix and quotes, as
// huggingface_hub does, so blob names match the ones Python writes.
func normalizeETag(e string) string {
	e = strings.TrimSpace(e)
	e = strings.TrimPrefix(e, "W/")
	return strings.Trim(e, `"`)
}
