package hugepage

import (
	"errors"
	"os"
	"strconv"
	"syscall"
)

const sysfsTHP = "/sys/kernel/mm/transparent_hugepage/"

// Mode reads the kernel's policy for PMD-sized (2 MB) anonymous huge
// pages: the per-size setting of kernels with multi-size THP when it does
// not say "inherit", else the global one.
func Mode() THPMode {
	global, err := os.ReadFile(sysfsTHP + "enabled")
	if err != nil {
		return ModeUnavailable
	}
	if size, err := os.ReadFile(sysfsTHP + "hpage_pmd_size"); err == nil {
		if n, err := strconv.Atoi(string(trimSpace(size))); err == nil {
			perSize := sysfsTHP + "hugepages-" + strconv.Itoa(n>>10) + "kB/enabled"
			if content, err := os.ReadFile(perSize); err == nil {
				if mode, ok := parseMode(string(content)); ok {
					return mode
				}
			}
		}
	}
	mode, _ := parseMode(string(global))
	return mode
}

func trimSpace(b []byte) []byte {
	for len(b) > 0 && (b[len(b)-1] == '\n' || b[len(b)-1] == ' ') {
		b = b[:len(b)-1]
	}
	return b
}

// madviseHuge marks [start, start+length) MADV_HUGEPAGE. ENOMEM (part of
// the range unmapped) is not an error: the mapped parts got the flag.
func madviseHuge(start, length uintptr) error {
	_, _, errno := syscall.Syscall(syscall.SYS_MADVISE, start, length, syscall.MADV_HUGEPAGE)
	if errno != 0 && errno != syscall.ENOMEM {
		return errno
	}
	return nil
}

// errUnsupported reports an error that means no madvise call will ever
// succeed (a kernel without transparent huge pages).
func errUnsupported(err error) bool {
	return errors.Is(err, syscall.EINVAL)
}
