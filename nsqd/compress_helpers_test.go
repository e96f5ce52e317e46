package nsqd

import (
	"bufio"
	"crypto/tls"
	"errors"
	"io"
	"net"

	"github.com/golang/snappy"
	"github.com/klauspost/compress/flate"
	"github.com/stretchr/testify/require"
)

// compressedConn is the client's end of a compressed stream: it reads
// through a decompressor and flushes the compressor after every write, as
// the clients do. Deadlines still reach the socket (or TLS session) below.
type compressedConn struct {
	net.Conn
	r io.Reader
	w flushWriter
}

func (cc *compressedConn) Read(p []byte) (int, error) {
	n, err := cc.r.Read(p)
	// The daemon never ends its DEFLATE stream (nor does upstream's): a
	// closed socket is a stream cut short, which for the tests is a close.
	if errors.Is(err, io.ErrUnexpectedEOF) {
		err = io.EOF
	}
	return n, err
}

func (cc *compressedConn) Write(p []byte) (int, error) {
	n, err := cc.w.Write(p)
	if err == nil {
		err = cc.w.Flush()
	}
	return n, err
}

// switchCompression puts a compressor over the connection. The decoder
// reads through the old buffered reader: the daemon's first compressed
// bytes may already be in it, right behind the reply.
func (c *testConn) switchCompression(decode func(io.Reader) io.Reader, encode flushWriter) {
	c.conn = &compressedConn{Conn: c.conn, r: decode(c.reader), w: encode}
	c.reader = bufio.NewReader(c.conn)
}

// startSnappy switches to the framed snappy stream and reads its OK.
func (c *testConn) startSnappy() {
	c.t.Helper()
	c.switchCompression(func(r io.Reader) io.Reader { return snappy.NewReader(r) }, snappy.NewBufferedWriter(c.conn))
	c.expectResponse("OK")
}

// startDeflate switches to raw DEFLATE at level and reads its OK.
func (c *testConn) startDeflate(level int) {
	c.t.Helper()
	fw, err := flate.NewWriter(c.conn, level)
	require.NoError(c.t, err)
	c.switchCompression(func(r io.Reader) io.Reader { return flate.NewReader(r) }, fw)
	c.expectResponse("OK")
}

// identifySnappy negotiates snappy and switches to it.
func (c *testConn) identifySnappy(fields map[string]any) map[string]any {
	c.t.Helper()
	fields["feature_negotiation"] = true
	fields["snappy"] = true
	reply := c.identify(fields)
	require.Equal(c.t, true, reply["snappy"], "reply %v", reply)
	c.startSnappy()
	return reply
}

// identifyDeflate negotiates deflate and switches to it at the level the
// daemon answered.
func (c *testConn) identifyDeflate(fields map[string]any) map[string]any {
	c.t.Helper()
	fields["feature_negotiation"] = true
	fields["deflate"] = true
	reply := c.identify(fields)
	require.Equal(c.t, true, reply["deflate"], "reply %v", reply)
	c.startDeflate(int(reply["deflate_level"].(float64)))
	return reply
}

// upgradeAsAnswered performs, in upstream's order, the upgrades an
// IDENTIFY reply announced: TLS, then snappy or deflate on top.
func (c *testConn) upgradeAsAnswered(reply map[string]any, config *tls.Config) {
	c.t.Helper()
	if reply["tls_v1"] == true {
		c.startTLS(config)
		c.expectResponse("OK")
	}
	if reply["snappy"] == true {
		c.startSnappy()
	}
	if reply["deflate"] == true {
		c.startDeflate(int(reply["deflate_level"].(float64)))
	}
}
