package connlayer

import (
	"bytes"
	"crypto/tls"
	"io"
	"net"
	"time"
)

// HandshakeTimeout bounds the TLS handshake after IDENTIFY, as upstream.
const HandshakeTimeout = 5 * time.Second

// ServerHandshake runs the server side of a TLS handshake on conn and
// returns the session. readAhead are bytes a buffered reader already took
// from conn past the last plain-text command: they are the start of the
// handshake, replayed before conn is read again. The socket deadline is
// the operating system's, so it is set from the wall clock.
func ServerHandshake(conn net.Conn, readAhead []byte, config *tls.Config) (*tls.Conn, error) {
	raw := conn
	if len(readAhead) > 0 {
		raw = &prefixConn{Conn: conn, prefix: readAhead}
	}
	session := tls.Server(raw, config)
	session.SetDeadline(time.Now().Add(HandshakeTimeout))
	if err := session.Handshake(); err != nil {
		return nil, err
	}
	return session, nil
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
