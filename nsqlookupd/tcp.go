package nsqlookupd

import (
	"errors"
	"fmt"
	"io"
	"net"
	"time"

	"github.com/nsqgo/nsq/internal/logging"
	"github.com/nsqgo/nsq/internal/protocol"
)

// serveTCP accepts registrant connections until the listener is closed.
func (l *NSQLookupd) serveTCP() error {
	var delay time.Duration
	for {
		conn, err := l.tcpListener.Accept()
		if err != nil {
			if errors.Is(err, net.ErrClosed) || l.isExiting() {
				return nil
			}
			// Running out of file descriptors is worth waiting out rather
			// than dying for; anything else is fatal, as upstream. The
			// back-off waits on the wall clock, not Options.Clock: it paces
			// retries against the kernel, which a test's fake time does not
			// move.
			if te, ok := err.(interface{ Temporary() bool }); ok && te.Temporary() {
				delay = min(max(2*delay, 5*time.Millisecond), time.Second)
				l.logf(logging.Warn, "temporary Accept() failure - %s", err)
				select {
				case <-time.After(delay):
					continue
				case <-l.exitCh:
					return nil
				}
			}
			return fmt.Errorf("listener.Accept() error - %w", err)
		}
		delay = 0
		if !l.trackConn(conn) {
			conn.Close()
			return nil
		}
		// This goroutine is itself counted in wg, so Add cannot race
		// with Exit's Wait.
		l.wg.Add(1)
		go func() {
			defer l.wg.Done()
			defer l.untrackConn(conn)
			l.handleConn(conn)
		}()
	}
}

// trackConn records conn so Exit can close it; false once Exit has begun.
func (l *NSQLookupd) trackConn(conn net.Conn) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.exiting {
		return false
	}
	l.conns[conn] = struct{}{}
	return true
}

func (l *NSQLookupd) untrackConn(conn net.Conn) {
	l.mu.Lock()
	delete(l.conns, conn)
	l.mu.Unlock()
}

// handleConn checks the protocol magic and runs V1 on the connection.
// nsqlookupd sets no deadlines: a silent registrant is only aged out of
// query answers by the inactivity timeout, as upstream.
func (l *NSQLookupd) handleConn(conn net.Conn) {
	defer conn.Close()
	remote := conn.RemoteAddr().String()
	l.logf(logging.Info, "TCP: new client(%s)", remote)
	var magic [4]byte
	if _, err := io.ReadFull(conn, magic[:]); err != nil {
		l.logf(logging.Error, "failed to read protocol version - %s", err)
		return
	}
	if string(magic[:]) != protocol.MagicV1 {
		l.logf(logging.Error, "client(%s) bad protocol magic '%s'", remote, magic[:])
		msg := "E_BAD_PROTOCOL"
		buf := make([]byte, 4, 4+len(msg))
		buf[3] = byte(len(msg))
		conn.Write(append(buf, msg...))
		return
	}
	if err := l.proto.serve(conn, conn, remote); err != nil && !l.isExiting() {
		l.logf(logging.Info, "PROTOCOL(V1): [%s] exiting ioloop - %s", remote, err)
		return
	}
	l.logf(logging.Info, "PROTOCOL(V1): [%s] exiting ioloop", remote)
}
