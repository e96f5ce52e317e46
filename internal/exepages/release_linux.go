//go:build linux

package exepages

import (
	"fmt"
	"os"
	"syscall"
)

// Release drops this process's mappings of the executable's resident,
// unmodified read-only pages (the package comment says why and when that is
// safe) and returns how many bytes were resident in the mappings it
// dropped.
func Release() (int64, error) {
	exe, err := os.Readlink("/proc/self/exe")
	if err != nil {
		return 0, fmt.Errorf("exepages: %w", err)
	}
	f, err := os.Open("/proc/self/smaps")
	if err != nil {
		return 0, fmt.Errorf("exepages: %w", err)
	}
	spans, err := selectSpans(f, exe)
	f.Close()
	if err != nil {
		return 0, err
	}
	var released int64
	for _, s := range spans {
		// The address range is the kernel's, not Go memory: a raw
		// syscall, no unsafe.Pointer to it.
		_, _, errno := syscall.Syscall(syscall.SYS_MADVISE, uintptr(s.start), uintptr(s.end-s.start), syscall.MADV_DONTNEED)
		if errno != 0 {
			return released, fmt.Errorf("exepages: madvise %#x-%#x: %w", s.start, s.end, errno)
		}
		released += s.rssBytes
	}
	return released, nil
}
