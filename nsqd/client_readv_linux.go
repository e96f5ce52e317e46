package nsqd

import (
	"io"
	"net"
	"os"
	"runtime"
	"syscall"
	"unsafe"
)

// socketVectorReader is a vectorReader over a socket's descriptor: one
// readv(2) fills p and then next. It waits for the socket through Go's
// poller (syscall.RawConn.Read), so the connection's read deadline bounds
// it as it bounds a plain Read.
type socketVectorReader struct {
	raw   syscall.RawConn
	iov   [2]syscall.Iovec
	n     int
	errno syscall.Errno
	// readv is r.tryReadv bound once, so a read allocates no closure.
	readv func(fd uintptr) bool
}

// newVectorReader returns a vectorReader for conn when it is a socket
// (a plain TCP connection), nil otherwise (TLS, tests' fake connections).
func newVectorReader(conn net.Conn) vectorReader {
	if v, ok := conn.(vectorReader); ok {
		return v
	}
	raw := rawConnOf(conn)
	if raw == nil {
		return nil
	}
	r := &socketVectorReader{raw: raw}
	r.readv = r.tryReadv
	return r
}

// tryReadv runs one readv; false asks the poller to wait until the socket
// is readable (EAGAIN).
func (r *socketVectorReader) tryReadv(fd uintptr) bool {
	for {
		n, _, errno := syscall.Syscall(syscall.SYS_READV, fd, uintptr(unsafe.Pointer(&r.iov[0])), uintptr(len(r.iov)))
		switch errno {
		case syscall.EINTR:
			continue
		case syscall.EAGAIN:
			return false
		}
		r.n, r.errno = int(n), errno
		return true
	}
}

func (r *socketVectorReader) ReadVector(p, next []byte) (int, error) {
	if len(p) == 0 {
		return 0, nil
	}
	// An empty next leaves the second element empty: readv then reads
	// as read(2) would.
	r.iov[0] = syscall.Iovec{Base: &p[0]}
	r.iov[0].SetLen(len(p))
	if len(next) > 0 {
		r.iov[1] = syscall.Iovec{Base: &next[0]}
		r.iov[1].SetLen(len(next))
	}
	r.n, r.errno = 0, 0
	err := r.raw.Read(r.readv)
	runtime.KeepAlive(p)
	runtime.KeepAlive(next)
	r.iov = [2]syscall.Iovec{} // hold no body memory between reads
	if err != nil {
		return 0, err
	}
	if r.errno != 0 {
		return 0, os.NewSyscallError("readv", r.errno)
	}
	if r.n == 0 {
		return 0, io.EOF
	}
	return r.n, nil
}
