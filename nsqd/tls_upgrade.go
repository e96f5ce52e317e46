package nsqd

import (
	"crypto/tls"
	"net"
	"sync"
	"time"
)

// tlsHandshakeTimeout bounds the handshake after IDENTIFY, as upstream.
const tlsHandshakeTimeout = 5 * time.Second

// upgradeTLS runs the server side of the handshake on the socket and makes
// the TLS session the transport. The caller is the reader goroutine holding
// writeMu with the output buffer flushed: nothing else touches the socket
// while the handshake owns it. On failure the layers are unchanged, so the
// error frame goes out in the clear, as upstream sends it.
func (c *client) upgradeTLS(config *tls.Config) error {
	var raw net.Conn = c.conn
	// Bytes already buffered past IDENTIFY are the start of the handshake.
	if leftover := c.takeBuffered(); len(leftover) > 0 {
		raw = &prefixConn{Conn: c.conn, prefix: leftover}
	}
	session := tls.Server(raw, config)
	if err := c.handshakeWithin(session, tlsHandshakeTimeout); err != nil {
		return err
	}
	c.transport = session
	c.reader.Reset(c.deadlined)
	state := session.ConnectionState()
	c.tlsState.Store(&state)
	return nil
}

// handshakeWithin runs the handshake, failing it with a timeout once limit
// has passed on the daemon's clock. A socket deadline alone would be
// measured on the wall clock (client.go), so the clock's timer ends a
// handshake still blocked then by setting one already past, which fails
// the pending read at once. The socket's deadlines are cleared first (the
// one left by the last command could end the handshake early) and are set
// again by the next read or write (deadlineConn), so the past one set by a
// timer firing just as the handshake completes does no harm; none is set
// once handshakeWithin has returned.
func (c *client) handshakeWithin(session *tls.Conn, limit time.Duration) error {
	c.conn.SetDeadline(time.Time{})
	var mu sync.Mutex
	done := false
	timer := c.nsqd.clock.AfterFunc(limit, func() {
		mu.Lock()
		defer mu.Unlock()
		if !done {
			c.conn.SetDeadline(time.Unix(1, 0))
		}
	})
	err := session.Handshake()
	timer.Stop()
	mu.Lock()
	done = true
	mu.Unlock()
	return err
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
