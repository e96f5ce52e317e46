//go:build unix

package diskqueue

import (
	"syscall"
	"time"
)

// userCPU is the process's user CPU time so far: a benchmark of code whose
// system calls (reads of the page cache, unlinks) vary with the machine's
// load reports it per record beside ns/op, which it steadies.
func userCPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano())
}

// processCPU is the process's user and system CPU time so far: for a
// benchmark whose cost is largely system calls (writes, fsyncs).
func processCPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
