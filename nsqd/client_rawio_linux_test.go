package nsqd

import (
	"bytes"
	"errors"
	"io"
	"net"
	"os"
	"syscall"
	"testing"
	"time"
	"unsafe"
)

// tcpPair returns the two ends of a loopback TCP connection.
func tcpPair(t *testing.T) (server, client *net.TCPConn) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	accepted := make(chan net.Conn, 1)
	go func() {
		c, err := ln.Accept()
		if err != nil {
			accepted <- nil
			return
		}
		accepted <- c
	}()
	c, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	s := <-accepted
	if s == nil {
		t.Fatal("accept failed")
	}
	t.Cleanup(func() { s.Close(); c.Close() })
	return s.(*net.TCPConn), c.(*net.TCPConn)
}

// A write larger than both socket buffers waits in the poller whenever the
// socket is full (EAGAIN) and goes on from where it stopped; a read
// returns what one read(2) got. Every byte arrives once, in order.
func TestSocketIOMovesEveryByteThroughFullBuffers(t *testing.T) {
	server, client := tcpPair(t)
	server.SetWriteBuffer(64 << 10)
	client.SetReadBuffer(64 << 10)
	sock := newSocketIO(server)
	if sock == nil {
		t.Fatal("no socketIO for a TCP connection")
	}
	out := patterned(4 << 20)
	got := make(chan []byte, 1)
	go func() {
		b := make([]byte, len(out))
		_, err := io.ReadFull(client, b)
		if err != nil {
			b = nil
		}
		got <- b
	}()
	n, err := sock.Write(out)
	if err != nil || n != len(out) {
		t.Fatalf("Write = %d, %v; want %d, nil", n, err, len(out))
	}
	if b := <-got; !bytes.Equal(b, out) {
		t.Fatal("the peer did not read what was written")
	}

	in := patterned(1 << 20)
	go client.Write(in)
	b := make([]byte, len(in))
	reads := 0
	for read := 0; read < len(in); reads++ {
		n, err := sock.Read(b[read:])
		if err != nil {
			t.Fatalf("Read after %d bytes: %v", read, err)
		}
		read += n
	}
	if !bytes.Equal(b, in) {
		t.Fatal("Read did not return what the peer wrote")
	}
	if reads < 2 {
		t.Fatalf("1 MB through a 64 KB receive buffer came in %d reads", reads)
	}
}

// The peer's close is io.EOF, as conn.Read gives it; our own close fails
// both directions with net.ErrClosed, which isClosedErr takes for a peer
// gone away.
func TestSocketIOEOFAndClose(t *testing.T) {
	server, client := tcpPair(t)
	sock := newSocketIO(server)
	client.Write([]byte("FIN"))
	client.Close()
	b := make([]byte, 8)
	if n, err := sock.Read(b); n != 3 || err != nil {
		t.Fatalf("Read = %d, %v; want 3, nil", n, err)
	}
	if n, err := sock.Read(b); n != 0 || err != io.EOF {
		t.Fatalf("Read at the peer's close = %d, %v; want 0, io.EOF", n, err)
	}
	server.Close()
	if _, err := sock.Read(b); !errors.Is(err, net.ErrClosed) || !isClosedErr(err) {
		t.Fatalf("Read after Close: %v; want net.ErrClosed", err)
	}
	if _, err := sock.Write(b); !errors.Is(err, net.ErrClosed) || !isClosedErr(err) {
		t.Fatalf("Write after Close: %v; want net.ErrClosed", err)
	}
	if n, err := sock.Read(nil); n != 0 || err != nil {
		t.Fatalf("Read(nil) = %d, %v; want 0, nil", n, err)
	}
}

// The connection's deadlines bound the waits: a read with nothing to read
// and a write into a full socket fail as timeouts (the idle limit and the
// write deadline of client_conn.go rely on it), the write saying how much
// went.
func TestSocketIOHonoursDeadlines(t *testing.T) {
	server, client := tcpPair(t)
	server.SetWriteBuffer(4096)
	client.SetReadBuffer(4096)
	sock := newSocketIO(server)
	server.SetReadDeadline(time.Now().Add(-time.Second))
	_, err := sock.Read(make([]byte, 16))
	var netErr net.Error
	if !errors.As(err, &netErr) || !netErr.Timeout() || !errors.Is(err, os.ErrDeadlineExceeded) {
		t.Fatalf("Read past its deadline: %v; want a timeout", err)
	}
	out := patterned(16 << 20) // the peer reads nothing: the socket fills
	n := writeUntilDeadline(t, server, sock, out)
	// What it reported went, in order.
	server.SetWriteDeadline(time.Time{})
	go func() { sock.Write([]byte("end")) }()
	b := make([]byte, n+3)
	if _, err := io.ReadFull(client, b); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(b[:n], out[:n]) || string(b[n:]) != "end" {
		t.Fatal("the peer read other bytes than Write reported")
	}
}

// writeUntilDeadline writes out, which the socket cannot take (the peer
// reads nothing), under a write deadline 100ms away, and returns how many
// bytes the write, failing as a timeout, reported written: more than 0 and
// fewer than len(out). A write that began only after its deadline (the
// test stalled between setting it and writing: the poller then fails it
// before it writes anything) is tried again, at most 5 times; a write
// that reports 0 bytes before its deadline, or does not return within
// 10s of it, fails the test.
func writeUntilDeadline(t *testing.T, server *net.TCPConn, sock *socketIO, out []byte) int {
	t.Helper()
	const wait = 100 * time.Millisecond
	type result struct {
		n   int
		err error
	}
	for attempt := 1; ; attempt++ {
		set := time.Now()
		server.SetWriteDeadline(set.Add(wait))
		done := make(chan result, 1)
		go func() {
			n, err := sock.Write(out)
			done <- result{n, err}
		}()
		var r result
		select {
		case r = <-done:
		case <-time.After(wait + 10*time.Second):
			// tcpPair's cleanup closes the socket, which wakes a write
			// waiting in the poller.
			t.Fatalf("Write into a full socket did not return within 10s of its deadline")
		}
		var netErr net.Error
		if !errors.As(r.err, &netErr) || !netErr.Timeout() {
			t.Fatalf("Write into a full socket past its deadline: %d, %v; want a timeout", r.n, r.err)
		}
		if r.n == 0 && time.Since(set) >= wait && attempt < 5 {
			t.Logf("attempt %d wrote nothing by its deadline (the test stalled?): trying again", attempt)
			continue
		}
		if r.n <= 0 || r.n >= len(out) {
			t.Fatalf("Write reported %d bytes written of %d; want what fitted", r.n, len(out))
		}
		return r.n
	}
}

// A client over a socket reads and writes it through socketIO; over
// anything else (tests' pipes) through the connection.
func TestClientUsesSocketIOOnlyForSockets(t *testing.T) {
	n := startDaemon(t, nil)
	server, _ := tcpPair(t)
	if c := newClient(1, server, n); c.socket == nil {
		t.Fatal("a TCP client has no socketIO")
	}
	p1, p2 := net.Pipe()
	defer p1.Close()
	defer p2.Close()
	if c := newClient(2, p1, n); c.socket != nil {
		t.Fatal("a pipe client has a socketIO")
	}
}

// wouldBlock runs when a read finds nothing (and not when bytes are
// waiting), before the reader waits; its error ends the read.
func TestSocketIOWouldBlockRunsBeforeAWait(t *testing.T) {
	server, client := tcpPair(t)
	sock := newSocketIO(server)
	calls := 0
	sock.wouldBlock = func() error {
		calls++
		client.Write([]byte("late")) // what the peer sends once answered
		return nil
	}
	client.Write([]byte("now"))
	raw, err := server.SyscallConn()
	if err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the bytes to arrive", func() bool {
		var queued int32
		raw.Control(func(fd uintptr) {
			syscall.Syscall(syscall.SYS_IOCTL, fd, syscall.TIOCINQ, uintptr(unsafe.Pointer(&queued)))
		})
		return queued == 3
	})
	b := make([]byte, 8)
	if n, err := sock.Read(b); n != 3 || err != nil || calls != 0 {
		t.Fatalf("Read with bytes waiting = %d, %v, wouldBlock called %d times; want 3, nil, 0", n, err, calls)
	}
	if n, err := sock.Read(b); string(b[:n]) != "late" || err != nil || calls != 1 {
		t.Fatalf("Read with nothing waiting = %q, %v, wouldBlock called %d times; want \"late\", nil, 1", b[:n], err, calls)
	}
	failed := errors.New("flush failed")
	sock.wouldBlock = func() error { return failed }
	if _, err := sock.Read(b); err != failed {
		t.Fatalf("Read whose wouldBlock failed: %v; want its error", err)
	}
}
