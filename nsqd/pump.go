package nsqd

import (
	"math/rand/v2"
	"time"

	"github.com/nsqgo/nsq/internal/protocol"
)

// pump is a client's delivery goroutine: it moves ready messages from the
// channel into the client's output buffer while the client has credit
// (RDY minus in flight) and sends heartbeats; what it delivered is timed
// out by the client's own timer (timeouts.go).
//
// Flushing is adaptive: it keeps writing while messages are ready and
// flushes as soon as none are (or credit runs out), so a busy consumer gets
// many messages per write and an idle one gets each message at once. The
// output_buffer_timeout a client negotiates is therefore always met.
func (c *client) pump() {
	heartbeat := c.nsqd.clock.NewTicker(time.Hour)
	defer heartbeat.Stop()
	currentHeartbeat := time.Duration(0)
	batch := make([]Message, 0, maxDeliveryBatch)
	pending := false // frames written since the last flush

	for {
		hooks := c.nsqd.pumpHooks.Load()
		if hooks != nil {
			hooks.pass(c)
		}
		if hb := time.Duration(c.heartbeatInterval.Load()); hb != currentHeartbeat {
			currentHeartbeat = hb
			if hb > 0 {
				heartbeat.Reset(hb)
			} else {
				heartbeat.Stop()
			}
		}

		var messagesReady <-chan struct{}
		ch := c.channel.Load()
		if ch != nil && c.state.Load() == stateSubscribed {
			// A pass holds deliverMu: the reader's inline passes
			// (deliverInline) wait for none and run between the pump's.
			c.deliverMu.Lock()
			c.awaitingCredit.Store(true)
			delivered, wrote := false, false
			var err error
			if credit := c.credit(); credit > 0 {
				c.awaitingCredit.Store(false)
				want := int(min(credit, maxDeliveryBatch))
				batch, messagesReady = ch.take(batch[:0], want, c)
				if len(batch) > 0 {
					delivered = true
					var deadline int64
					deadline, err = c.deliver(ch, batch)
					clear(batch)
					// deadline is 0 when sampling or deduplication left nothing.
					wrote = deadline != 0
				}
			}
			c.deliverMu.Unlock()
			if err != nil {
				c.closeConn()
				return
			}
			if delivered {
				if wrote {
					pending = true
				}
				// Keep going while more may be ready, but never
				// starve heartbeats or exit.
				select {
				case <-c.exit:
					return
				case <-heartbeat.C():
					if c.sendHeartbeat() != nil {
						return
					}
				default:
				}
				continue
			}
		}

		if pending {
			if c.flushNow() != nil {
				c.closeConn()
				return
			}
			pending = false
		}

		if hooks != nil {
			hooks.park(c)
		}
		select {
		case <-c.exit:
			return
		case <-c.wake:
		case <-messagesReady:
		case <-heartbeat.C():
			if c.sendHeartbeat() != nil {
				return
			}
		}
	}
}

// deliverInline is a delivery pass run by the reader goroutine, in place
// of waking the pump, when the FINs (or REQs) of a socket read freed
// credit while the pump waits for credit (client_conn.go's beforeRead).
// A consumer at its RDY limit gets its next messages on every burst of
// FINs, and waking the parked pump for each burst was a goroutine
// hand-off each time: on two busy cores often a sleeping thread woken and
// a context switch, for a pass of a few dozen messages. Inline, the
// reader takes and writes them itself; the in-flight slots its FINs just
// freed are reused on the same core, too.
//
// It does what a pump pass does (take up to the credit, deliver) under
// deliverMu, which the pump's passes hold, and leaves the flush to the
// reader's next wait (client_conn.go's flushBeforeWait). When the pump is
// in a pass, or tests watch the pump (pumpHooks), it wakes the pump
// instead.
// It stops when the credit is spent, and hands on to the pump whenever
// the pump must look again: the channel had nothing ready (only the pump
// waits for messages: the wait take registered is the pump's to watch),
// or credit is left after maxInlineBatches batches.
func (c *client) deliverInline() {
	if c.nsqd.pumpHooks.Load() != nil || !c.deliverMu.TryLock() {
		c.signal()
		return
	}
	handOn, wrote := false, false
	var err error
	for i := 0; ; i++ {
		ch := c.channel.Load()
		credit := c.credit()
		if ch == nil || c.state.Load() != stateSubscribed || !c.awaitingCredit.Load() {
			handOn = true
			break
		}
		if credit <= 0 {
			break // the pump still waits for credit, and will be told
		}
		if i == maxInlineBatches {
			handOn = true
			break
		}
		batch, _ := ch.take(c.inlineBatch[:0], int(min(credit, maxDeliveryBatch)), c)
		c.inlineBatch = batch[:0]
		if len(batch) == 0 {
			handOn = true
			break
		}
		var deadline int64
		deadline, err = c.deliver(ch, batch)
		clear(batch)
		if err != nil {
			break
		}
		wrote = wrote || deadline != 0
	}
	c.deliverMu.Unlock()
	if err == nil && wrote {
		// Flushed with the answers, before the reader next waits
		// (client_conn.go's flushBeforeWait, or beforeRead).
		c.inlinePasses.Add(1)
		c.writeMu.Lock()
		if c.socket != nil && c.transport == c.conn {
			c.deliveredUnflushed = true
		} else {
			c.unflushed = true // no wait to flush at: flushed as answers
		}
		c.writeMu.Unlock()
	}
	if err != nil {
		c.closeConn()
		return
	}
	if handOn {
		c.signal()
	}
}

// maxInlineBatches bounds the batches one inline pass delivers: the
// reader goes back to its commands after at most that many, and the pump
// delivers the rest.
const maxInlineBatches = 4

// pumpHooks let a test see a pump's decisions, where what it shows is
// that something did not happen (a paused channel delivers nothing): a
// pass that began after the test's action and ended with the pump waiting
// found nothing to deliver, and the test need not watch for a frame that
// must not come. Set only by tests (NSQD.pumpHooks); the pump's cost
// without them is one atomic load per pass.
type pumpHooks struct {
	pass func(c *client) // a pass begins: the pump is about to look at its channel
	park func(c *client) // the pass delivered nothing more; the pump waits to be woken
}

// deliver marks a batch in flight and writes it. It returns the batch's
// timeout deadline.
func (c *client) deliver(ch *Channel, batch []Message) (int64, error) {
	if rate := c.sampleRate.Load(); rate > 0 {
		kept := batch[:0]
		for _, m := range batch {
			// Upstream drops a message when a draw in [0,100) exceeds the rate.
			if rand.Int32N(100) <= rate {
				kept = append(kept, m)
			} else {
				ch.release(&m)
			}
		}
		clear(batch[len(kept):])
		batch = kept
		if len(batch) == 0 {
			return 0, nil
		}
	}
	// The timeout is measured on the monotonic reading (timeouts.go).
	now := c.nsqd.clock.Nanotime()
	timeout := c.msgTimeout.Load()
	for i := range batch {
		batch[i].Attempts = countAttempt(batch[i].Attempts)
	}
	tracked := c.inFlight.add(batch, now, timeout)
	// Armed before the write, which may block: the timeout fires at its
	// time even if the socket never drains (timeouts.go).
	if tracked > 0 {
		c.armTimeout(now + timeout)
	}
	if tracked < len(batch) {
		// Second copies of messages this client holds wait until the held
		// copy's deadline; then they are delivered (a duplicate, which
		// at-least-once allows) unless that copy is still held. DeliverAt
		// is wall-clock time, as every deferral's (it is written to disk
		// with the record): a wall clock set meanwhile moves it against
		// the held copy's monotonic deadline, which costs at most an early
		// duplicate or a late one. Rare, so the wall clock is read here.
		due := c.nsqd.clock.Now().UnixNano() + timeout
		for i := tracked; i < len(batch); i++ {
			batch[i].Attempts--
			batch[i].DeliverAt = due
		}
		ch.deferAll(batch[tracked:])
		clear(batch[tracked:])
		batch = batch[:tracked]
		if tracked == 0 {
			return 0, nil
		}
	}
	ch.inFlightCount.Add(int64(len(batch)))
	c.messageCount.Add(uint64(len(batch)))

	c.writeMu.Lock()
	defer c.writeMu.Unlock()
	if err := c.writeBatchLocked(batch); err != nil {
		return 0, err
	}
	return now + timeout, nil
}

func (c *client) sendHeartbeat() error {
	if err := c.sendFrame(protocol.FrameTypeResponse, protocol.Heartbeat); err != nil {
		c.closeConn()
		return err
	}
	if err := c.flushNow(); err != nil {
		c.closeConn()
		return err
	}
	return nil
}
