package nsqd

import (
	"crypto/tls"
	"errors"
	"io"
	"os"
	"time"

	"github.com/nsqgo/nsq/nsqd/connlayer"
)

// The client's ties to its connection layers: IDENTIFY's TLS and
// compression upgrades put nsqd/connlayer's pieces in place (the order and
// framing are upgrade.go's), and /stats names the TLS session as upstream.

// tlsHandshakeTimeout bounds the handshake after IDENTIFY, as upstream.
const tlsHandshakeTimeout = 5 * time.Second

// flushWriter is what the client's output buffer writes into once a
// compression is negotiated (client.compressor): a connlayer.CompressWriter,
// known to the client only as a writer it must flush.
type flushWriter interface {
	io.Writer
	Flush() error
}

// upgradeTLS runs the server side of the handshake on the socket and makes
// the TLS session the transport. The caller is the reader goroutine holding
// writeMu with the output buffer flushed: nothing else touches the socket
// while the handshake owns it. On failure the layers are unchanged, so the
// error frame goes out in the clear, as upstream sends it.
func (c *client) upgradeTLS(config *tls.Config) error {
	c.suspendIdle() // the handshake has its own bound
	// Bytes already buffered past IDENTIFY are the start of the handshake.
	session, err := connlayer.ServerHandshake(c.conn, c.takeBuffered(), config, c.nsqd.clock, tlsHandshakeTimeout)
	if err != nil {
		return err
	}
	c.transport = session
	c.reader.Reset(c.deadlined)
	state := session.ConnectionState()
	c.tlsState.Store(&state)
	return nil
}

// upgradeCompression puts comp between the buffers and the deadline layer,
// in both directions. The caller is the reader goroutine, holding writeMu
// with the output buffer flushed, so neither side has bytes in flight.
func (c *client) upgradeCompression(comp connlayer.Compression) error {
	fw, err := comp.NewWriter(c.deadlined)
	if err != nil {
		return err
	}
	// Whatever the client sent after IDENTIFY is already compressed: it
	// goes through the decompressor ahead of what the socket still holds.
	c.decompressed = comp.NewReader(connlayer.Prepend(c.takeBuffered(), c.deadlined))
	c.reader.Reset(c.decompressed)
	c.compressor = connlayer.NewCompressWriter(fw)
	c.writer.Reset(c.compressor)
	switch comp.Name {
	case "snappy":
		c.snappy.Store(true)
	case "deflate":
		c.deflate.Store(true)
	}
	return nil
}

// setTLSStats fills a client's TLS fields in /stats the way upstream
// renders them; a plain connection leaves them at their zero values.
func setTLSStats(s *ClientStats, state *tls.ConnectionState) {
	if state == nil {
		return
	}
	s.TLS = true
	s.CipherSuite = connlayer.CipherSuiteName(state.CipherSuite)
	s.TLSVersion = connlayer.VersionName(state.Version)
	s.TLSNegotiatedProtocol = state.NegotiatedProtocol
	// Deprecated in crypto/tls (always true now), but upstream reports it.
	s.TLSNegotiatedProtocolIsMutual = state.NegotiatedProtocolIsMutual
}

// deadlineConn bounds the client's socket reads and writes by its heartbeat
// interval and flushes pending responses before a read blocks, so a
// pipelining producer gets its OKs in one write. It reads and writes the
// transport (the socket or its TLS session).
//
// A command must be complete within two heartbeat intervals of the first
// read that waits for it, as upstream's read deadline: the deadline is on
// the daemon's monotonic clock (clock.Clock.Nanotime, which setting the
// wall clock does not move, as a socket deadline is kept by the kernel)
// and enforced by the client's idle timer (timeouts.go),
// which fails the blocked read as a socket deadline would. A write gets one
// heartbeat interval, as upstream's, as a socket deadline on the wall clock:
// it bounds a peer that stops reading (armed when a write must wait, on a
// plain socket: writeSocket).
type deadlineConn struct {
	client *client
}

func (d *deadlineConn) Read(p []byte) (int, error) {
	if err := d.beforeRead(); err != nil {
		return 0, err
	}
	c := d.client
	if c.socket != nil && c.transport == c.conn {
		return c.socket.Read(p)
	}
	return c.transport.Read(p)
}

// flushBeforeWait is the socket reader's wouldBlock (socketIO): the
// deliveries of inline passes (pump.go's deliverInline) go out when the
// reader has read every command that arrived and is about to wait for
// more, rather than before its next read as answers do. While FINs keep
// arriving, a burst's deliveries then join the next burst's in the output
// buffer (flushed when full, or by the next answer's flush), instead of a
// socket write each: with bench_reader's bursts of 20 to 30 FINs per read,
// delivering each burst's credit at once doubled the daemon's writes.
// They wait no longer than until the client pauses: a client that waits
// for messages has stopped sending, so the read finds nothing and they
// go.
func (c *client) flushBeforeWait() error {
	c.writeMu.Lock()
	defer c.writeMu.Unlock()
	if !c.unflushed && !c.deliveredUnflushed {
		return nil
	}
	c.unflushed, c.deliveredUnflushed = false, false
	return c.flushLocked()
}

// readVector is Read into p and on into next in one system call, through
// v (the transport's vectorReader, newVectorReader).
func (d *deadlineConn) readVector(v vectorReader, p, next []byte) (int, error) {
	if err := d.beforeRead(); err != nil {
		return 0, err
	}
	// This read has no would-block hook: inline deliveries go out now.
	if err := d.client.flushBeforeWait(); err != nil {
		return 0, err
	}
	return v.ReadVector(p, next)
}

// beforeRead is what every read of the transport does first: credit and
// answers held back go out, and the read gets its deadline.
func (d *deadlineConn) beforeRead() error {
	c := d.client
	c.finTimeRead = false // the commands after this read are FIN'd later
	if c.creditPending {
		c.creditPending = false
		if c.awaitingCredit.Load() {
			c.deliverInline() // rather than wake the pump (pump.go)
		}
	}
	if err := c.flushPending(); err != nil {
		return err
	}
	if hb := c.heartbeatInterval.Load(); hb > 0 {
		first := c.readDeadline == 0
		if first {
			c.readDeadline = c.nsqd.clock.Nanotime() + 2*hb
		}
		c.limitRead(c.readDeadline, first)
	} else {
		c.limitRead(0, false)
	}
	return nil
}

func (d *deadlineConn) Write(p []byte) (int, error) {
	c := d.client
	if c.socket != nil && c.transport == c.conn {
		return d.writeSocket(p)
	}
	d.armWrite()
	return c.transport.Write(p)
}

// writeSocket writes p to the plain socket, arming the write deadline only
// when the write must wait. A write's deadline matters only while it waits
// for room in the socket: one the socket takes whole at once completes
// whatever its deadline, so a deadline set before it (time.Now and the
// runtime's timer update, on every write of the consume path) changes
// nothing. When the socket is full, the rest of the write waits under a
// deadline a heartbeat interval from then, which is from the write's start
// but for the system calls that filled the socket: a peer that stops
// reading is cut off within the bound it was before.
//
// A deadline left on the socket by an earlier write that waited (or by a
// TLS handshake's bound that failed) stays there: while ahead it does
// nothing to a write that does not wait (one that must wait sets its
// own), and once past it fails the next write before it writes anything
// (os.ErrDeadlineExceeded): that write clears it and tries again, as the
// deadline set before every write did.
func (d *deadlineConn) writeSocket(p []byte) (int, error) {
	c := d.client
	n, err := c.socket.WriteNow(p)
	if err != nil && n == 0 && errors.Is(err, os.ErrDeadlineExceeded) {
		c.conn.SetWriteDeadline(time.Time{})
		n, err = c.socket.WriteNow(p)
	}
	if err != nil || n == len(p) {
		return n, err
	}
	d.armWrite()
	m, err := c.socket.Write(p[n:])
	return n + m, err
}

// armWrite sets the write deadline a write that may wait gets: a heartbeat
// interval from now (client_vector.go's vectored writes arm it too).
func (d *deadlineConn) armWrite() {
	c := d.client
	if hb := time.Duration(c.heartbeatInterval.Load()); hb > 0 {
		c.conn.SetWriteDeadline(time.Now().Add(hb))
	} else {
		c.conn.SetWriteDeadline(time.Time{})
	}
}

// readSource is the layer the read buffer fills from: the deadline layer,
// or the decompressor over it.
func (c *client) readSource() io.Reader {
	if c.decompressed != nil {
		return c.decompressed
	}
	return c.deadlined
}

// directReader reads what the client's read buffer holds and then, once
// it is empty, straight from the layer below it (readSource), so that a
// big body is copied once, from the socket into the message's memory. Read
// through the buffer, every body's last 16 KB would be read ahead into the
// buffer and copied out of it again (bufio reads straight into the caller's
// slice only while that is at least a buffer long). Reading past the
// buffer is safe because the buffer is empty then: no byte is reordered.
type directReader struct{ c *client }

func (d directReader) Read(p []byte) (int, error) {
	if d.c.reader.Buffered() > 0 {
		return d.c.reader.Read(p)
	}
	return d.c.readSource().Read(p)
}

// vectorReader reads into p and, in the same system call, on into next
// (readv): ReadVector returns how many bytes it read in all, p filled
// first. A plain TCP connection has one (client_readv_linux.go).
type vectorReader interface {
	ReadVector(p, next []byte) (int, error)
}

// sizeAheadReader reads a big body of an MPUB as directReader does and,
// when it reads the body's last bytes straight from the socket, reads the
// next message's 4-byte size field in the same system call, as far as it
// has arrived, into ahead: one read per 64 KB message instead of two (the
// size field alone was a read of its own). It reads ahead only when the
// caller says a size field follows (not after an MPUB's last body, where
// the next command begins), only into ahead's 4 bytes, and only over a
// plain TCP connection (vector); otherwise it is directReader.
type sizeAheadReader struct {
	c      *client
	vector vectorReader // nil: read no size field ahead
	left   int          // body bytes still to read
	ahead  *sizeAhead
}

// sizeAhead holds the first bytes of a size field read with a body.
type sizeAhead struct {
	buf [4]byte
	n   int
}

func (r *sizeAheadReader) Read(p []byte) (int, error) {
	if r.vector == nil || len(p) != r.left || r.ahead.n != 0 || r.c.reader.Buffered() > 0 {
		n, err := directReader{r.c}.Read(p)
		r.left -= n
		return n, err
	}
	n, err := r.c.deadlined.readVector(r.vector, p, r.ahead.buf[:])
	body := min(n, len(p))
	r.ahead.n = n - body
	r.left -= body
	return body, err
}
