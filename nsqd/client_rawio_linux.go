package nsqd

import (
	"io"
	"net"
	"os"
	"runtime"
	"syscall"
	"unsafe"
)

// socketIO reads and writes a plain TCP connection's socket with
// syscall.RawSyscall, through Go's poller (syscall.RawConn) for the waits,
// so the connection's deadlines bound them as they bound conn.Read and
// conn.Write.
//
// Why: a socket read or write made with syscall.Syscall tells the runtime
// that the goroutine's processor may be given away. When such a call
// outlasts the runtime's monitor tick (20 us; a loopback write of a
// delivery batch also runs the consumer's receive path and wake-up, and a
// read of FINs sends their ACK) while the other processor is busy, the
// monitor takes the processor back and hands it on, and keeps polling every
// 20 us because it found work to do: on the consume path of the memory
// shape that was 8% of the daemon's CPU in the monitor alone (README,
// "Consume path: socket reads and writes without the scheduler"), plus the
// hand-offs and the wake-ups of idle threads they cause. The socket is
// non-blocking, so these calls return as soon as the kernel has copied
// what fits (EAGAIN when nothing does: the poller then waits, holding no
// processor): the processor is never held across a wait.
type socketIO struct {
	raw syscall.RawConn
	rd  rawOp
	wr  rawOp
	// wouldBlock, when set, runs when a read finds nothing to read,
	// before the reader waits (client.flushBeforeWait); its error ends
	// the read.
	wouldBlock func() error
}

// rawOp is one direction's pending call: the buffer, the outcome, and the
// function the poller calls with the descriptor, bound once so that a call
// allocates no closure. The reader and the writer each have their own.
type rawOp struct {
	p     []byte
	n     int
	errno syscall.Errno
	err   error // wouldBlock's
	fn    func(fd uintptr) bool
	// noWait: a write that finds the socket full returns what it wrote
	// instead of waiting (WriteNow).
	noWait bool
}

// newSocketIO returns a socketIO for conn when it is a socket, nil
// otherwise (tests' fake connections, pipes).
func newSocketIO(conn net.Conn) *socketIO {
	if _, ok := conn.(*net.TCPConn); !ok {
		return nil
	}
	raw := rawConnOf(conn)
	if raw == nil {
		return nil
	}
	s := &socketIO{raw: raw}
	s.rd.fn = s.tryRead
	s.wr.fn = s.tryWrite
	return s
}

// rawConnOf returns conn's descriptor access for calls through the
// poller, or nil when conn has none.
func rawConnOf(conn net.Conn) syscall.RawConn {
	sc, ok := conn.(syscall.Conn)
	if !ok {
		return nil
	}
	raw, err := sc.SyscallConn()
	if err != nil {
		return nil
	}
	return raw
}

// tryRead runs one read(2); false asks the poller to wait until the
// socket is readable.
func (s *socketIO) tryRead(fd uintptr) bool {
	op := &s.rd
	for {
		n, _, errno := syscall.RawSyscall(syscall.SYS_READ, fd, uintptr(unsafe.Pointer(&op.p[0])), uintptr(len(op.p)))
		switch errno {
		case syscall.EINTR:
			continue
		case syscall.EAGAIN:
			if s.wouldBlock != nil {
				if op.err = s.wouldBlock(); op.err != nil {
					return true
				}
			}
			return false
		}
		op.n, op.errno = int(n), errno
		return true
	}
}

// tryWrite writes op.p on from op.n until all of it is written; false
// asks the poller to wait until the socket is writable again.
func (s *socketIO) tryWrite(fd uintptr) bool {
	op := &s.wr
	for op.n < len(op.p) {
		rest := op.p[op.n:]
		n, _, errno := syscall.RawSyscall(syscall.SYS_WRITE, fd, uintptr(unsafe.Pointer(&rest[0])), uintptr(len(rest)))
		switch errno {
		case 0:
			op.n += int(n)
		case syscall.EINTR:
		case syscall.EAGAIN:
			return op.noWait
		default:
			op.errno = errno
			return true
		}
	}
	return true
}

// Read is conn.Read: at most one read(2) that returns data, io.EOF when
// the peer has closed its side.
func (s *socketIO) Read(p []byte) (int, error) {
	if len(p) == 0 {
		return 0, nil
	}
	op := &s.rd
	op.p, op.n, op.errno, op.err = p, 0, 0, nil
	err := s.raw.Read(op.fn)
	runtime.KeepAlive(p)
	op.p = nil
	if err != nil {
		return 0, err
	}
	if op.err != nil {
		return 0, op.err
	}
	if op.errno != 0 {
		return 0, os.NewSyscallError("read", op.errno)
	}
	if op.n == 0 {
		return 0, io.EOF
	}
	return op.n, nil
}

// Write is conn.Write: all of p, or an error with how much went.
func (s *socketIO) Write(p []byte) (int, error) {
	return s.write(p, false)
}

// WriteNow writes what of p the socket takes without waiting: fewer than
// len(p) bytes and no error when the socket is full. A write deadline
// already past on the socket fails it before it writes anything, as it
// fails Write (the poller checks it first).
func (s *socketIO) WriteNow(p []byte) (int, error) {
	return s.write(p, true)
}

func (s *socketIO) write(p []byte, noWait bool) (int, error) {
	if len(p) == 0 {
		return 0, nil
	}
	op := &s.wr
	op.p, op.n, op.errno, op.noWait = p, 0, 0, noWait
	err := s.raw.Write(op.fn)
	runtime.KeepAlive(p)
	op.p = nil
	if err == nil && op.errno != 0 {
		err = os.NewSyscallError("write", op.errno)
	}
	return op.n, err
}
