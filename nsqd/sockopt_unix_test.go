//go:build unix

package nsqd

import "syscall"

// setSockoptInt sets a socket option on a raw descriptor: an int here, a
// Handle on Windows (nsqd/sockopt_windows_test.go).
func setSockoptInt(fd uintptr, level, opt, value int) error {
	return syscall.SetsockoptInt(int(fd), level, opt, value)
}
