package nsqd

import (
	"sync"
	"time"

	"github.com/nsqgo/nsq/internal/clock"
)

// clientTimeouts fires the in-flight timeouts of one client on a timer of
// its own, not in the client's delivery loop: that loop blocks in a socket
// write while the consumer is not reading (up to the write deadline, a
// heartbeat interval or more), and a message's timeout must fire at its
// time whatever its holder's socket is doing, so that another consumer
// gets it.
type clientTimeouts struct {
	mu      sync.Mutex
	timer   clock.Timer // on the daemon's clock
	next    int64       // when timer fires, ns since the epoch; 0 = not armed
	stopped bool
	scratch []Message
}

// armTimeout makes sure the client's timeouts are checked by deadline.
func (c *client) armTimeout(deadline int64) {
	t := &c.timeouts
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.stopped || (t.next != 0 && t.next <= deadline) {
		return
	}
	t.next = deadline
	wait := time.Duration(deadline - c.nsqd.clock.Now().UnixNano())
	if t.timer == nil {
		t.timer = c.nsqd.clock.AfterFunc(wait, c.fireTimeouts)
		return
	}
	t.timer.Reset(wait)
}

// fireTimeouts runs on the timer: it requeues the client's timed-out
// messages and re-arms for the next deadline (TOUCH moves deadlines later,
// so the timer may find nothing due yet).
func (c *client) fireTimeouts() {
	t := &c.timeouts
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.stopped {
		return
	}
	now := c.nsqd.clock.Now().UnixNano()
	expired, next := c.inFlight.expire(now, t.scratch[:0])
	if ch := c.channel.Load(); len(expired) > 0 && ch != nil {
		ch.inFlightCount.Add(-int64(len(expired)))
		ch.timeoutCount.Add(uint64(len(expired)))
		ch.requeue(expired)
	}
	if len(expired) > 0 {
		c.creditFreed() // the pump may be waiting for the credit they held
	}
	clear(expired)
	t.scratch = expired[:0]
	t.next = next
	if next != 0 {
		t.timer.Reset(time.Duration(next - now))
	}
}

// stopTimeouts ends the timer when the client goes; what it still holds is
// requeued by release.
func (c *client) stopTimeouts() {
	t := &c.timeouts
	t.mu.Lock()
	defer t.mu.Unlock()
	t.stopped = true
	if t.timer != nil {
		t.timer.Stop()
	}
}
