package nsqd

import (
	"errors"
	"fmt"
	"io"
	"net"
	"syscall"
	"time"

	"github.com/nsqgo/nsq/internal/protocol"
)

// acceptBackoffMax caps the wait between retries of a failing Accept.
const acceptBackoffMax = time.Second

// serveTCP accepts connections until the listener closes. An Accept that
// fails for a reason that passes (out of file descriptors, EMFILE/ENFILE,
// or a connection aborted before it was taken) is retried after a backoff
// of 5 ms doubling to 1 s and logged at WARN with the count of failures in
// a row: connections that close free descriptors and serving resumes, as
// upstream's does. Only another error ends the daemon.
func (n *NSQD) serveTCP(listener net.Listener) error {
	var delay time.Duration
	failures := 0
	for {
		conn, err := listener.Accept()
		if err != nil {
			if n.exiting.Load() || errors.Is(err, net.ErrClosed) {
				return nil
			}
			if !isTransientAcceptErr(err) {
				return fmt.Errorf("TCP: accept: %w", err)
			}
			failures++
			delay = min(max(2*delay, 5*time.Millisecond), acceptBackoffMax)
			n.logf(warnLevel, "TCP: accept failed (%d in a row), retrying in %s: %s", failures, delay, err)
			backoff := n.clock.NewTimer(delay)
			select {
			case <-backoff.C():
				continue
			case <-n.exitCh:
				backoff.Stop()
				return nil
			}
		}
		if failures > 0 {
			n.logf(infoLevel, "TCP: accepting again after %d failed accepts", failures)
			failures, delay = 0, 0
		}
		n.wg.Add(1)
		go func() {
			defer n.wg.Done()
			n.handleConn(conn)
		}()
	}
}

// isTransientAcceptErr reports Accept errors worth waiting out.
func isTransientAcceptErr(err error) bool {
	for _, errno := range []syscall.Errno{syscall.EMFILE, syscall.ENFILE, syscall.ENOBUFS, syscall.ENOMEM, syscall.ECONNABORTED, syscall.EINTR, syscall.EAGAIN} {
		if errors.Is(err, errno) {
			return true
		}
	}
	var netErr net.Error
	return errors.As(err, &netErr) && netErr.Timeout()
}

// handleConn reads the magic and runs the V2 protocol.
func (n *NSQD) handleConn(conn net.Conn) {
	// A peer that connects and sends nothing holds a descriptor and a
	// goroutine: it gets --client-timeout (the idle bound of a client that
	// negotiated no heartbeat) to send the magic. The connection is not yet
	// registered for Exit to close either, so close it here on exit.
	// The bound is on the daemon's clock (timeouts.go).
	magicRead := make(chan struct{})
	go func() {
		select {
		case <-n.exitCh:
			conn.Close()
		case <-magicRead:
		}
	}()
	var magic [4]byte
	err := readWithin(conn, n.clock, n.opts.ClientTimeout, func() error {
		_, err := io.ReadFull(conn, magic[:])
		return err
	})
	close(magicRead)
	if err != nil {
		conn.Close()
		return
	}
	if string(magic[:]) != protocol.MagicV2 {
		protocol.WriteFrame(conn, protocol.FrameTypeError, []byte("E_BAD_PROTOCOL"))
		conn.Close()
		return
	}
	c := newClient(n.nextClientID.Add(1), conn, n)
	if !n.addClient(c) {
		conn.Close()
		return
	}
	n.logf(debugLevel, "TCP: new client(%s)", c.remoteAddr)

	pumpDone := make(chan struct{})
	go func() {
		defer close(pumpDone)
		c.pump()
	}()
	session := &v2Session{c: c, n: n, tlsPending: n.tls.required != TLSNotRequired}
	session.bodies.fresh = n.hugePages
	session.bodies.reusedBytes = &n.bodiesReused
	// run only returns when the connection ends, always with the reason.
	if err := session.run(); !isClosedErr(err) {
		n.logf(debugLevel, "[%s] closing: %s", c.remoteAddr, err)
	}
	close(c.exit)
	conn.Close()
	<-pumpDone
	c.stopTimeouts()
	c.release()
	n.removeClient(c)
}

// release hands a departing consumer's in-flight messages back to its
// channel at once (upstream lets them wait out their timeouts) and leaves
// the channel.
func (c *client) release() {
	ch := c.channel.Load()
	if ch == nil {
		return
	}
	c.inFlight.drainEach(func(held []Message) {
		ch.inFlightCount.Add(-int64(len(held)))
		forgetDeferral(held) // timeouts.go
		ch.requeue(held)
	})
	ch.removeClient(c)
}
