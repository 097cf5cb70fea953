package arena

import "golang.org/x/sys/unix"

// mapAnon maps size bytes of zeroed private memory that start on a huge
// page boundary (the mapping is one huge page larger so that it can be
// aligned) and asks for transparent huge pages. Where THP is off, or only
// on for madvise'd memory and that is refused, the memory is still good.
func mapAnon(size int) (mapping, error) {
	mem, err := unix.Mmap(-1, 0, size+hugePage, unix.PROT_READ|unix.PROT_WRITE, unix.MAP_PRIVATE|unix.MAP_ANONYMOUS)
	if err != nil {
		return mapping{}, err
	}
	off := 0
	if r := int(addr(mem) % hugePage); r != 0 {
		off = hugePage - r
	}
	aligned := mem[off : off+size : off+size]
	_ = unix.Madvise(aligned, unix.MADV_HUGEPAGE)
	return mapping{mem: aligned, release: func() error { return unix.Munmap(mem) }}, nil
}
