package nsqd

import "syscall"

// setSockoptInt sets a socket option on a raw socket handle
// (nsqd/sockopt_unix_test.go takes a descriptor).
func setSockoptInt(fd uintptr, level, opt, value int) error {
	return syscall.SetsockoptInt(syscall.Handle(fd), level, opt, value)
}
