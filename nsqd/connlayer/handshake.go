package connlayer

import (
	"bytes"
	"crypto/tls"
	"io"
	"net"
	"sync"
	"time"

	"github.com/nsqgo/nsq/internal/clock"
)

// ServerHandshake runs the server side of a TLS handshake on conn and
// returns the session. readAhead are bytes a buffered reader already took
// from conn past the last plain-text command: they are the start of the
// handshake, replayed before conn is read again. The handshake fails with
// a timeout once limit has passed on clk.
func ServerHandshake(conn net.Conn, readAhead []byte, config *tls.Config, clk clock.Clock, limit time.Duration) (*tls.Conn, error) {
	raw := conn
	if len(readAhead) > 0 {
		raw = &prefixConn{Conn: conn, prefix: readAhead}
	}
	session := tls.Server(raw, config)
	if err := handshakeWithin(conn, session, clk, limit); err != nil {
		return nil, err
	}
	return session, nil
}

// handshakeWithin bounds the handshake on clk. A socket deadline alone
// would be measured on the wall clock, so the clock's timer ends a
// handshake still blocked then by setting a deadline already past, which
// fails the pending read at once. The socket's deadlines are cleared first
// (one left by the last command could end the handshake early); the
// caller's next read or write sets its own, so a past one set by a timer
// firing just as the handshake completes does no harm, and none is set
// once handshakeWithin has returned.
func handshakeWithin(conn net.Conn, session *tls.Conn, clk clock.Clock, limit time.Duration) error {
	conn.SetDeadline(time.Time{})
	return Within(clk, limit, func() { conn.SetDeadline(time.Unix(1, 0)) }, session.Handshake)
}

// Within runs io (blocking socket I/O) and calls expire if io is still
// running once limit has passed on clk. expire sets a socket deadline
// already past, which fails the blocked call at once: a deadline of the
// daemon's clock enforced as a socket deadline on the wall clock would be.
// expire is never called after Within returns.
func Within(clk clock.Clock, limit time.Duration, expire func(), io func() error) error {
	var mu sync.Mutex
	done := false
	timer := clk.AfterFunc(limit, func() {
		mu.Lock()
		defer mu.Unlock()
		if !done {
			expire()
		}
	})
	err := io()
	timer.Stop()
	mu.Lock()
	done = true
	mu.Unlock()
	return err
}

// Prepend is r with readAhead (bytes a buffered reader already took from
// r, which belong to the next layer) read first.
func Prepend(readAhead []byte, r io.Reader) io.Reader {
	if len(readAhead) == 0 {
		return r
	}
	return io.MultiReader(bytes.NewReader(readAhead), r)
}

// prefixConn replays bytes read ahead of a layer switch before reading the
// connection itself.
type prefixConn struct {
	net.Conn
	prefix []byte
}

func (p *prefixConn) Read(b []byte) (int, error) {
	if len(p.prefix) > 0 {
		n := copy(b, p.prefix)
		p.prefix = p.prefix[n:]
		return n, nil
	}
	return p.Conn.Read(b)
}
