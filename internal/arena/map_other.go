//go:build !linux

package arena

// mapAnon falls back to the Go heap: the memory is zeroed and stays valid
// while referenced, and the garbage collector frees it after Close.
func mapAnon(size int) (mapping, error) {
	return mapping{mem: make([]byte, size)}, nil
}
