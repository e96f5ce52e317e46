package nsqclient

import (
	"bytes"
	"errors"
	"sync"
	"sync/atomic"
	"time"

	"github.com/nsqgo/nsq/internal/protocol"
)

// consumerConn is a Consumer's subscribed connection to one nsqd.
type consumerConn struct {
	c      *Consumer
	conn   *conn
	addr   string
	maxRDY int64 // nsqd's max_rdy_count

	// Under Consumer.mu: the RDY decided for this connection, since when
	// it has been non-zero, and whether CLS was sent.
	want     int64
	rdySince time.Time
	closing  bool

	// wantRDY publishes want to syncRDY, which writes it under rdyMu.
	wantRDY atomic.Int64
	rdyMu   sync.Mutex
	sentRDY int64

	inFlight  atomic.Int64
	lastMsg   atomic.Int64 // unix ns of the last message received
	closeWait atomic.Bool  // nsqd answered CLS
}

// run reads frames until the connection ends and returns why. Messages go
// to the handlers; heartbeats are answered; CLOSE_WAIT closes the
// connection as soon as nothing is in flight.
func (cc *consumerConn) run() error {
	for {
		frameType, data, err := cc.conn.readFrame()
		if err != nil {
			return err
		}
		switch frameType {
		case protocol.FrameTypeResponse:
			cc.onResponse(data)
		case protocol.FrameTypeError:
			perr := parseProtocolError(data)
			cc.c.logf(errorLevel, "(%s) protocol error - %s", cc.addr, perr)
			if perr.fatal() {
				return perr
			}
		case protocol.FrameTypeMessage:
			if !cc.onMessage(data) {
				return errors.New("consumer closed")
			}
		}
	}
}

func (cc *consumerConn) onResponse(data []byte) {
	switch {
	case cc.conn.answerHeartbeat(data):
	case bytes.Equal(data, protocol.CloseWait):
		cc.c.logf(infoLevel, "(%s) received CLOSE_WAIT from nsqd", cc.addr)
		cc.closeWait.Store(true)
		if cc.inFlight.Load() == 0 {
			cc.conn.close()
		}
	default:
		cc.c.logf(debugLevel, "(%s) unexpected response %q", cc.addr, data)
	}
}

// onMessage hands a message to the handlers; false means the consumer was
// closed without draining, so the message is left for nsqd to redeliver.
func (cc *consumerConn) onMessage(data []byte) bool {
	decoded, err := protocol.DecodeMessage(data)
	if err != nil {
		return true // readFrame already rejects short messages
	}
	m := &Message{
		ID:          decoded.ID,
		Body:        decoded.Body,
		Timestamp:   decoded.Timestamp,
		Attempts:    decoded.Attempts,
		NSQDAddress: cc.addr,
		owner:       cc,
	}
	cc.inFlight.Add(1)
	cc.lastMsg.Store(cc.c.clock.Now().UnixNano())
	cc.c.received.Add(1)
	select {
	case cc.c.incoming <- m:
		return true
	case <-cc.c.forceCh:
		return false
	}
}

func (cc *consumerConn) finish(m *Message) {
	if err := cc.conn.send(func(b []byte) []byte { return appendFin(b, &m.ID) }); err != nil {
		cc.c.logf(debugLevel, "(%s) FIN %s failed - %s", cc.addr, m.ID[:], err)
	}
	cc.c.finished.Add(1)
	cc.responded(signalResume)
}

func (cc *consumerConn) requeue(m *Message, delay time.Duration, backoff bool) {
	delay = requeueDelay(&cc.c.opts, delay, m.Attempts)
	if err := cc.conn.send(func(b []byte) []byte { return appendReq(b, &m.ID, delay) }); err != nil {
		cc.c.logf(debugLevel, "(%s) REQ %s failed - %s", cc.addr, m.ID[:], err)
	}
	cc.c.requeued.Add(1)
	if backoff {
		cc.responded(signalBackoff)
	} else {
		cc.responded(signalContinue)
	}
}

func (cc *consumerConn) touch(m *Message) {
	if err := cc.conn.send(func(b []byte) []byte { return appendTouch(b, &m.ID) }); err != nil {
		cc.c.logf(debugLevel, "(%s) TOUCH %s failed - %s", cc.addr, m.ID[:], err)
	}
}

// responded accounts for an answered message: the backoff state machine
// learns the outcome, and a connection draining after CLOSE_WAIT closes
// with its last message.
func (cc *consumerConn) responded(sig backoffSignal) {
	left := cc.inFlight.Add(-1)
	cc.c.backoffSignal(sig)
	if left == 0 && cc.closeWait.Load() {
		cc.conn.close()
	}
}

// syncRDY writes the latest RDY decision of each connection that differs
// from what nsqd last got. Deciding under Consumer.mu and writing here,
// under the connection's own lock, keeps network I/O out of the consumer
// lock while the last decision always wins on the wire. Lowered counts go
// out first, so that moving RDY between connections does not briefly
// allow more than max-in-flight.
func syncRDY(conns []*consumerConn) {
	for _, lower := range []bool{true, false} {
		for _, cc := range conns {
			if cc.lowersRDY() == lower {
				cc.syncRDY()
			}
		}
	}
}

func (cc *consumerConn) lowersRDY() bool {
	cc.rdyMu.Lock()
	defer cc.rdyMu.Unlock()
	return cc.wantRDY.Load() < cc.sentRDY
}

func (cc *consumerConn) syncRDY() {
	cc.rdyMu.Lock()
	defer cc.rdyMu.Unlock()
	want := cc.wantRDY.Load()
	if want == cc.sentRDY {
		return
	}
	if err := cc.conn.send(func(b []byte) []byte { return appendRdy(b, want) }); err != nil {
		// The reader sees the same failure and ends the connection.
		cc.c.logf(debugLevel, "(%s) RDY %d failed - %s", cc.addr, want, err)
		return
	}
	cc.sentRDY = want
}
