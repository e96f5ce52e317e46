package nsqclient

import (
	"bufio"
	"compress/flate"
	"crypto/tls"
	"fmt"
	"net"

	"github.com/golang/snappy"
)

// upgrade performs what IDENTIFY negotiated, in nsqd's order (TLS, then
// snappy or deflate), each step confirmed by an OK frame in the new
// encoding. A feature we did not ask for is refused.
func (c *conn) upgrade(resp *identifyResponse) error {
	if resp.TLSv1 {
		if !c.opts.TLSv1 {
			return fmt.Errorf("nsqd negotiated TLS, which was not requested")
		}
		if err := c.upgradeTLS(); err != nil {
			return err
		}
	}
	switch {
	case resp.Snappy:
		if !c.opts.Snappy {
			return fmt.Errorf("nsqd negotiated snappy, which was not requested")
		}
		// Both sides switch right after the JSON frame, so the new
		// reader must start from whatever the old one already buffered.
		c.r = bufio.NewReaderSize(snappy.NewReader(c.r), readBufferSize)
		sw := snappy.NewBufferedWriter(c.w)
		c.w, c.flush = sw, sw.Flush
		return c.expectOK("snappy upgrade")
	case resp.Deflate:
		if !c.opts.Deflate {
			return fmt.Errorf("nsqd negotiated deflate, which was not requested")
		}
		c.r = bufio.NewReaderSize(flate.NewReader(c.r), readBufferSize)
		level := resp.DeflateLevel
		if level < flate.BestSpeed || level > flate.BestCompression {
			level = c.opts.DeflateLevel
		}
		fw, err := flate.NewWriter(c.w, level)
		if err != nil {
			return fmt.Errorf("deflate upgrade: %w", err)
		}
		c.w, c.flush = fw, fw.Flush
		return c.expectOK("deflate upgrade")
	}
	return nil
}

func (c *conn) upgradeTLS() error {
	cfg := c.opts.TLSConfig
	if cfg == nil {
		cfg = &tls.Config{MinVersion: tls.VersionTLS10}
	} else {
		cfg = cfg.Clone()
	}
	if cfg.ServerName == "" {
		host, _, err := net.SplitHostPort(c.addr)
		if err != nil {
			host = c.addr
		}
		cfg.ServerName = host
	}
	tc := tls.Client(bufferedConn{Conn: c.nc, r: c.r}, cfg)
	if err := tc.Handshake(); err != nil {
		return fmt.Errorf("TLS handshake: %w", err)
	}
	c.r = bufio.NewReaderSize(tc, readBufferSize)
	c.w = tc
	return c.expectOK("TLS upgrade")
}

// bufferedConn reads through the buffer that may already hold the peer's
// first TLS bytes, and writes straight to the socket.
type bufferedConn struct {
	net.Conn
	r *bufio.Reader
}

func (b bufferedConn) Read(p []byte) (int, error) { return b.r.Read(p) }
