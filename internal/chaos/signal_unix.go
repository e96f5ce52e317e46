//go:build unix

package chaos

import "syscall"

// The SIGSTOP fault's signals. Windows has neither (signal_windows.go).
const (
	sigStop = syscall.SIGSTOP
	sigCont = syscall.SIGCONT
)
