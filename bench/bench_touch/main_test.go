//go:build linux

package main

import (
	"syscall"
	"testing"
)

// TestTouch checks that touch makes memory resident and frees it: the
// process's minor faults grow by at least the pages touched (one per 2 MB
// page when the kernel hands out huge ones), and a size mmap refuses is an
// error.
func TestTouch(t *testing.T) {
	for _, huge := range []bool{false, true} {
		var before, after syscall.Rusage
		if err := syscall.Getrusage(syscall.RUSAGE_SELF, &before); err != nil {
			t.Fatal(err)
		}
		const n = 8 << 20
		d, err := touch(n, huge)
		if err != nil {
			t.Fatalf("touch(%d, %v): %v", n, huge, err)
		}
		if err := syscall.Getrusage(syscall.RUSAGE_SELF, &after); err != nil {
			t.Fatal(err)
		}
		if d <= 0 {
			t.Errorf("touch(%d, %v) took %v", n, huge, d)
		}
		if faults := after.Minflt - before.Minflt; faults < n/(2<<20) {
			t.Errorf("touch(%d, %v): %d minor faults, want at least %d", n, huge, faults, n/(2<<20))
		}
	}
	if _, err := touch(0, false); err == nil {
		t.Error("touch(0) did not fail")
	}
}
