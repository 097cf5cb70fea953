// Package embedded ships bitnet-tiny, a small real BitNet b1.58 model in the
// official HF packed layout, inside the binary, so that the CLI works
// offline with no model named.
package embedded

import (
	"embed"
	"io/fs"
	"os"
	"path/filepath"
)

//go:embed tiny
var files embed.FS

// Name is how the embedded model is reported.
const Name = "bitnet-tiny (built in)"

// FS returns the model folder as a file system.
func FS() fs.FS {
	sub, err := fs.Sub(files, "tiny")
	if err != nil {
		panic(err) // the embed pattern guarantees the folder exists
	}
	return sub
}

// Dir writes the model folder into dir (created if needed) unless it is
// already there, and returns the folder's path. Weights are mapped from
// files, so the model is materialised once per cache directory.
func Dir(dir string) (string, error) {
	target := filepath.Join(dir, "bitnet-tiny")
	err := fs.WalkDir(FS(), ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		dst := filepath.Join(target, p)
		data, err := fs.ReadFile(FS(), p)
		if err != nil {
			return err
		}
		if st, err := os.Stat(dst); err == nil && st.Size() == int64(len(data)) {
			return nil
		}
		if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
			return err
		}
		tmp := dst + ".tmp"
		if err := os.WriteFile(tmp, data, 0o644); err != nil {
			return err
		}
		return os.Rename(tmp, dst)
	})
	if err != nil {
		return "", err
	}
	return target, nil
}
