package nsqd

import (
	"net"
	"os"
	"syscall"
	"unsafe"
)

// vectorIO is a pending vectored write's system call state: the iovecs
// built from frameVector.bufs, the outcome, and the function the poller
// calls with the descriptor, bound once so that a write allocates no
// closure. Under writeMu, as the frameVector that holds it.
type vectorIO struct {
	iov   [2 * vectorMaxFrames]syscall.Iovec
	n     int
	errno syscall.Errno
	fn    func(fd uintptr) bool
}

// writevNow writes what of the pending frames (c.vector.bufs) the socket
// takes without waiting, with writev(2) called as socketIO calls write(2)
// (client_rawio_linux.go: syscall.RawSyscall through the poller, which
// checks the socket's write deadline first), and leaves the rest in bufs.
// It returns how many bytes went; a full socket is no error. writeMu held.
func (c *client) writevNow() (int, error) {
	v := &c.vector
	if v.sys == nil {
		v.sys = &vectorIO{}
		v.sys.fn = c.tryWritev
	}
	w := v.sys
	w.n, w.errno = 0, 0
	err := c.socket.raw.Write(w.fn)
	if err == nil && w.errno != 0 {
		err = os.NewSyscallError("writev", w.errno)
	}
	return w.n, err
}

// tryWritev writes bufs on until they are written or the socket is full;
// it never asks the poller to wait (true).
func (c *client) tryWritev(fd uintptr) bool {
	v := &c.vector
	w := v.sys
	for len(v.bufs) > 0 {
		count := 0
		for _, b := range v.bufs {
			if len(b) > 0 {
				w.iov[count].Base = &b[0]
				w.iov[count].SetLen(len(b))
				count++
			}
		}
		if count == 0 {
			v.bufs = v.bufs[:0]
			break
		}
		n, _, errno := syscall.RawSyscall(syscall.SYS_WRITEV, fd, uintptr(unsafe.Pointer(&w.iov[0])), uintptr(count))
		// The iovecs would otherwise keep the bodies alive until the
		// client's next vectored write.
		clear(w.iov[:count])
		switch errno {
		case 0:
			w.n += int(n)
			consumeBuffers(&v.bufs, int(n))
		case syscall.EINTR:
		case syscall.EAGAIN:
			return true
		default:
			w.errno = errno
			return true
		}
	}
	return true
}

// consumeBuffers drops the first n bytes of *bufs.
func consumeBuffers(bufs *net.Buffers, n int) {
	b := *bufs
	for len(b) > 0 && n >= len(b[0]) {
		n -= len(b[0])
		b = b[1:]
	}
	if n > 0 {
		b[0] = b[0][n:]
	}
	*bufs = b
}
