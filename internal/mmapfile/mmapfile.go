// Package mmapfile maps files read-only into memory so that model weights are
// used in place, without a copy and without counting against the Go heap.
package mmapfile

import (
	"fmt"
	"os"
)

// File is a read-only mapping of a whole file.
type File struct {
	path  string
	data  []byte
	unmap func([]byte) error
}

// Open maps path read-only. An empty file maps to an empty slice.
func Open(path string) (*File, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return nil, err
	}
	if st.IsDir() {
		return nil, fmt.Errorf("%s: is a directory", path)
	}
	size := st.Size()
	if size == 0 {
		return &File{path: path, data: []byte{}}, nil
	}
	if int64(int(size)) != size {
		return nil, fmt.Errorf("%s: file too large to map (%d bytes)", path, size)
	}
	data, unmap, err := mapFile(f, int(size))
	if err != nil {
		return nil, fmt.Errorf("%s: mmap: %w", path, err)
	}
	return &File{path: path, data: data, unmap: unmap}, nil
}

// Data returns the mapped bytes. They stay valid until Close.
func (f *File) Data() []byte { return f.data }

// Path returns the file's path.
func (f *File) Path() string { return f.path }

// Len returns the file size.
func (f *File) Len() int { return len(f.data) }

// Close unmaps the file. Slices from Data must not be used afterwards.
func (f *File) Close() error {
	if f == nil || f.unmap == nil {
		return nil
	}
	err := f.unmap(f.data)
	f.data, f.unmap = nil, nil
	return err
}
