//go:build unix

package nsqd

import (
	"syscall"
	"testing"
)

// processCPU is the process's user + system CPU time in ns. On a machine
// shared with other jobs wall time per op swings several-fold with their
// load; CPU time per op does not, so the benchmarks report both.
func processCPU(b *testing.B) int64 {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		b.Fatal(err)
	}
	return ru.Utime.Nano() + ru.Stime.Nano()
}
