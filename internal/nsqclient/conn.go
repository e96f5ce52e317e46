package nsqclient

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"net"
	"sync"
	"time"

	"github.com/nsqgo/nsq/internal/protocol"
)

const (
	readBufferSize = 16 * 1024
	// maxSpareBuffer is the largest write buffer kept for reuse; a big
	// MPUB's buffer is dropped rather than held for the connection's life.
	maxSpareBuffer = 1 << 20
)

// conn is one V2 connection to an nsqd: the handshake, a frame reader for
// the single goroutine that reads, and a writer any goroutine may use.
//
// Writes are group-committed: a command is appended to a pending buffer
// under wmu, then whoever holds flushMu writes everything pending in one
// system call. Concurrent FINs from many handlers thus share writes, and
// the bytes of one command are never interleaved with another's.
type conn struct {
	addr string
	opts *Options
	nc   net.Conn

	r     *bufio.Reader // frames; over TLS and decompression when negotiated
	w     io.Writer     // the stream commands go to
	flush func() error  // pushes out what a compressor holds; nil when none

	wmu     sync.Mutex
	pending []byte
	spare   []byte
	werr    error // sticky: once a write failed the connection is done

	flushMu sync.Mutex

	closeOnce sync.Once
}

// subscription is the SUB a consumer's handshake ends with.
type subscription struct {
	topic, channel string
}

// dial connects to addr and performs the handshake: magic, IDENTIFY, the
// negotiated TLS and compression upgrades, AUTH when nsqd requires it,
// and SUB when sub is given. ctx aborts the handshake (not the connection
// once established).
func dial(ctx context.Context, addr string, opts *Options, sub *subscription) (*conn, identifyResponse, error) {
	var resp identifyResponse
	dialer := net.Dialer{Timeout: opts.DialTimeout}
	nc, err := dialer.DialContext(ctx, "tcp", addr)
	if err != nil {
		return nil, resp, err // a *net.OpError: "dial tcp <addr>: ..."
	}
	c := &conn{addr: addr, opts: opts, nc: nc, w: nc, r: bufio.NewReaderSize(nc, readBufferSize)}
	// Closing the socket is the only way to interrupt blocked I/O when
	// the caller gives up; the deadline bounds a silent peer.
	stop := context.AfterFunc(ctx, c.close)
	defer stop()
	nc.SetDeadline(time.Now().Add(opts.ReadTimeout))

	resp, err = c.handshake(sub)
	if err == nil && ctx.Err() != nil {
		err = ctx.Err()
	}
	if err != nil {
		c.close()
		return nil, resp, fmt.Errorf("handshake with %s: %w", addr, err)
	}
	nc.SetDeadline(time.Time{})
	return c, resp, nil
}

func (c *conn) handshake(sub *subscription) (identifyResponse, error) {
	var resp identifyResponse
	body, err := identifyBody(c.opts)
	if err != nil {
		return resp, err
	}
	buf := append([]byte(protocol.MagicV2), appendIdentify(nil, body)...)
	if _, err := c.nc.Write(buf); err != nil {
		return resp, fmt.Errorf("write IDENTIFY: %w", err)
	}
	data, err := c.readResponse()
	if err != nil {
		return resp, fmt.Errorf("IDENTIFY: %w", err)
	}
	if resp, err = parseIdentifyResponse(data); err != nil {
		return resp, err
	}
	if err := c.upgrade(&resp); err != nil {
		return resp, err
	}
	if resp.AuthRequired {
		if err := c.auth(); err != nil {
			return resp, err
		}
	}
	if sub != nil {
		if err := c.send(func(b []byte) []byte { return appendSub(b, sub.topic, sub.channel) }); err != nil {
			return resp, fmt.Errorf("write SUB: %w", err)
		}
		if err := c.expectOK("SUB"); err != nil {
			return resp, err
		}
	}
	return resp, nil
}

// auth sends AUTH; nsqd answers with the identity JSON or a fatal error.
func (c *conn) auth() error {
	if c.opts.AuthSecret == "" {
		return fmt.Errorf("nsqd requires AUTH and no auth_secret is set")
	}
	if err := c.send(func(b []byte) []byte { return appendAuth(b, c.opts.AuthSecret) }); err != nil {
		return fmt.Errorf("write AUTH: %w", err)
	}
	data, err := c.readResponse()
	if err != nil {
		return fmt.Errorf("AUTH: %w", err)
	}
	c.opts.logf(infoLevel, "(%s) Auth accepted: %s", c.addr, data)
	return nil
}

// expectOK reads the answer to a handshake step that must be "OK".
func (c *conn) expectOK(step string) error {
	data, err := c.readResponse()
	if err != nil {
		return fmt.Errorf("%s: %w", step, err)
	}
	if !bytes.Equal(data, protocol.OK) {
		return fmt.Errorf("%s: expected OK, got %q", step, data)
	}
	return nil
}

// readResponse reads the handshake answer: the next response frame that
// is not a heartbeat, or the error frame as a *ProtocolError.
func (c *conn) readResponse() ([]byte, error) {
	for {
		frameType, data, err := readFrame(c.r)
		if err != nil {
			return nil, err
		}
		switch frameType {
		case protocol.FrameTypeError:
			return nil, parseProtocolError(data)
		case protocol.FrameTypeMessage:
			return nil, fmt.Errorf("%w: message during handshake", ErrBadFrame)
		}
		if !bytes.Equal(data, protocol.Heartbeat) {
			return data, nil
		}
	}
}

// readFrame reads the next frame within the read timeout; nsqd sends a
// heartbeat at least every heartbeat interval, so silence means trouble.
// Only one goroutine may call it.
func (c *conn) readFrame() (int32, []byte, error) {
	c.nc.SetReadDeadline(time.Now().Add(c.opts.ReadTimeout))
	return readFrame(c.r)
}

// send appends a command with encode and writes everything pending. It
// returns the connection's write error, if any.
func (c *conn) send(encode func([]byte) []byte) error {
	c.wmu.Lock()
	if err := c.werr; err != nil {
		c.wmu.Unlock()
		return err
	}
	c.pending = encode(c.pending)
	c.wmu.Unlock()
	return c.flushPending()
}

func (c *conn) flushPending() error {
	c.flushMu.Lock()
	defer c.flushMu.Unlock()
	c.wmu.Lock()
	buf, err := c.pending, c.werr
	c.pending = c.spare[:0]
	c.spare = nil
	c.wmu.Unlock()
	if err == nil && len(buf) > 0 {
		err = c.write(buf)
	}
	c.wmu.Lock()
	if cap(buf) <= maxSpareBuffer {
		c.spare = buf[:0]
	}
	if err != nil && c.werr == nil {
		c.werr = err
	}
	err = c.werr
	c.wmu.Unlock()
	if err != nil {
		c.close()
	}
	return err
}

func (c *conn) write(buf []byte) error {
	c.nc.SetWriteDeadline(time.Now().Add(c.opts.WriteTimeout))
	if _, err := c.w.Write(buf); err != nil {
		return fmt.Errorf("write to %s: %w", c.addr, err)
	}
	if c.flush != nil {
		if err := c.flush(); err != nil {
			return fmt.Errorf("flush to %s: %w", c.addr, err)
		}
	}
	return nil
}

// close closes the socket, which ends the reader's loop; safe to repeat.
func (c *conn) close() {
	c.closeOnce.Do(func() { c.nc.Close() })
}

// answerHeartbeat reports whether a response frame was a heartbeat, and
// if so answers it with NOP, which is what keeps nsqd from closing us.
func (c *conn) answerHeartbeat(data []byte) bool {
	if !bytes.Equal(data, protocol.Heartbeat) {
		return false
	}
	if err := c.send(appendNop); err != nil {
		c.opts.logf(errorLevel, "(%s) failed to answer heartbeat: %s", c.addr, err)
	}
	return true
}
