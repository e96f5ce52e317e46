package nsqd

import (
	"crypto/tls"
	"net"
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
	session.SetDeadline(time.Now().Add(tlsHandshakeTimeout))
	if err := session.Handshake(); err != nil {
		return err
	}
	c.transport = session
	c.reader.Reset(c.deadlined)
	state := session.ConnectionState()
	c.tlsState.Store(&state)
	return nil
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
