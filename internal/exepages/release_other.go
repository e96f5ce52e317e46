//go:build !linux

package exepages

// Release does nothing where there is no /proc/self/smaps and madvise.
func Release() (int64, error) { return 0, nil }
