package nsqd

import (
	"errors"
	"io"
	"net"

	"github.com/nsqgo/nsq/internal/protocol"
)

// serveTCP accepts connections until the listener closes.
func (n *NSQD) serveTCP(listener net.Listener) error {
	for {
		conn, err := listener.Accept()
		if err != nil {
			if n.exiting.Load() || errors.Is(err, net.ErrClosed) {
				return nil
			}
			var netErr net.Error
			if errors.As(err, &netErr) && netErr.Timeout() {
				continue
			}
			return err
		}
		n.wg.Add(1)
		go func() {
			defer n.wg.Done()
			n.handleConn(conn)
		}()
	}
}

// handleConn reads the magic and runs the V2 protocol.
func (n *NSQD) handleConn(conn net.Conn) {
	// The magic read has no deadline (as upstream), and the connection is
	// not yet registered for Exit to close, so close it here on exit:
	// otherwise a peer that connects and sends nothing blocks Exit forever.
	magicRead := make(chan struct{})
	go func() {
		select {
		case <-n.exitCh:
			conn.Close()
		case <-magicRead:
		}
	}()
	var magic [4]byte
	_, err := io.ReadFull(conn, magic[:])
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
	// run only returns when the connection ends, always with the reason.
	if err := session.run(); !isClosedErr(err) {
		n.logf(debugLevel, "[%s] closing: %s", c.remoteAddr, err)
	}
	close(c.exit)
	conn.Close()
	<-pumpDone
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
	if held := c.inFlight.drain(); len(held) > 0 {
		ch.inFlightCount.Add(-int64(len(held)))
		ch.requeue(held)
	}
	ch.removeClient(c)
}
