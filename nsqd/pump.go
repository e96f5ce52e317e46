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
			c.awaitingCredit.Store(true)
			if credit := c.credit(); credit > 0 {
				c.awaitingCredit.Store(false)
				want := int(min(credit, maxDeliveryBatch))
				batch, messagesReady = ch.take(batch[:0], want, c)
				if len(batch) > 0 {
					deadline, err := c.deliver(ch, batch)
					clear(batch)
					if err != nil {
						c.closeConn()
						return
					}
					// deadline is 0 when sampling or deduplication left nothing.
					if deadline != 0 {
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
	now := c.nsqd.clock.Now().UnixNano()
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
		// at-least-once allows) unless that copy is still held.
		for i := tracked; i < len(batch); i++ {
			batch[i].Attempts--
			batch[i].DeliverAt = now + timeout
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
