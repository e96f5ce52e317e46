package nsqd

import (
	"net"
	"sync"
	"time"

	"github.com/nsqgo/nsq/internal/clock"
	"github.com/nsqgo/nsq/nsqd/connlayer"
)

// clientTimeouts fires the in-flight timeouts of one client on a timer of
// its own, not in the client's delivery loop: that loop blocks in a socket
// write while the consumer is not reading (up to the write deadline, a
// heartbeat interval or more), and a message's timeout must fire at its
// time whatever its holder's socket is doing, so that another consumer
// gets it.
//
// Deadlines are on the clock's monotonic reading (Clock.Nanotime), as the
// timer's wait is: a message times out msg_timeout after its delivery (or
// its last TOUCH) however the wall clock is set meanwhile. On wall-clock
// nanoseconds, a wall clock set forward (by hand, NTP) timed out every
// message in flight at once, and one set back held them for as long as the
// step. Only peek shows a deadline, converted to the wall clock then
// (channel_peek.go); nothing persists one.
type clientTimeouts struct {
	mu      sync.Mutex
	timer   clock.Timer // on the daemon's clock
	next    int64       // when timer fires, on Nanotime; 0 = not armed
	stopped bool
	scratch []Message
}

// armTimeout makes sure the client's timeouts are checked by deadline
// (the clock's Nanotime).
func (c *client) armTimeout(deadline int64) {
	t := &c.timeouts
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.stopped || (t.next != 0 && t.next <= deadline) {
		return
	}
	t.next = deadline
	wait := time.Duration(deadline - c.nsqd.clock.Nanotime())
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
	now := c.nsqd.clock.Nanotime()
	expired, next := c.inFlight.expire(now, t.scratch[:0])
	forgetDeferral(expired)
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

// forgetDeferral clears the due time a message kept from an earlier
// deferral (REQ with a delay, DPUB) before it goes back to its channel
// ready, as REQ 0 does (protocol_v2.go): that time is on the wall clock,
// and after the wall clock is set back it lies ahead again, so the requeue
// would defer a timed-out or released message for as long as the step.
func forgetDeferral(msgs []Message) {
	for i := range msgs {
		msgs[i].DeliverAt = 0
	}
}

// stopTimeouts ends the client's timers when it goes (the in-flight
// timeouts' and the idle limit's); what it still holds is requeued by
// release.
func (c *client) stopTimeouts() {
	t := &c.timeouts
	t.mu.Lock()
	t.stopped = true
	if t.timer != nil {
		t.timer.Stop()
	}
	t.mu.Unlock()

	l := &c.idle
	l.mu.Lock()
	l.stopped = true
	if l.timer != nil {
		l.timer.Stop()
	}
	l.mu.Unlock()
}

// idleLimit ends a connection whose command is not complete by its read
// deadline (client.readDeadline: two heartbeat intervals from the first
// read that waits for it), on the daemon's clock, so that a test moves
// time past it rather than waiting. Deadlines and the judgement are on the
// clock's monotonic reading (Nanotime), as the timer's wait is: setting
// the wall clock neither ends a connection early nor keeps it open late.
// When the deadline passes with the reader still reading that command,
// the timer sets the socket's read deadline in the past: the blocked read
// fails with the timeout a socket deadline gives ("i/o timeout") and the
// connection closes as before, with no error frame, as upstream.
//
// One timer per connection, reset at the first read of each command (not
// at the other reads of a command, nor for commands already buffered): a
// read costs a lock and, at the start of a command, a clock read and a
// timer reset, no more than the socket deadline it replaces, which was set
// on every read. The timer is always armed for the deadline in force, so a
// test on a fake clock sees a command's read as a timer armed for its
// deadline.
type idleLimit struct {
	mu       sync.Mutex
	timer    clock.Timer // on the daemon's clock
	armedFor int64       // when timer fires, on Nanotime; 0 = not armed
	deadline int64       // the read deadline in force, on Nanotime; 0 = none (no heartbeats)
	// stale: the socket may hold a read deadline in the past (set by this
	// timer for a command the reader had already read, or by the TLS
	// handshake's bound); the next read with a deadline ahead clears it.
	stale   bool
	stopped bool
	// Socket reads so far, and those that began a command (set a new
	// deadline): counted for tests that must know the reader got there.
	reads, commandReads uint64
}

// limitRead puts deadline (the clock's Nanotime; 0 for none) in force
// for the socket read the reader is about to make, the first of a command
// when first.
func (c *client) limitRead(deadline int64, first bool) {
	l := &c.idle
	l.mu.Lock()
	defer l.mu.Unlock()
	l.reads++
	if first {
		l.commandReads++
	}
	l.deadline = deadline
	if deadline == 0 {
		if l.armedFor != 0 {
			l.timer.Stop()
			l.armedFor = 0
		}
		if l.stale {
			c.conn.SetReadDeadline(time.Time{})
			l.stale = false
		}
		return
	}
	if !l.stale && l.armedFor == deadline {
		return // another read of the same command
	}
	if l.stopped {
		return
	}
	now := c.nsqd.clock.Nanotime()
	if deadline <= now {
		// Past already (the command took its time in the daemon): the
		// read fails at once, as on a socket deadline gone by.
		c.conn.SetReadDeadline(expiredDeadline())
		l.stale = true
		return
	}
	if l.stale {
		c.conn.SetReadDeadline(time.Time{})
		l.stale = false
	}
	if l.armedFor != deadline {
		l.armedFor = deadline
		if l.timer == nil {
			l.timer = c.nsqd.clock.AfterFunc(time.Duration(deadline-now), c.checkIdle)
		} else {
			l.timer.Reset(time.Duration(deadline - now))
		}
	}
}

// checkIdle runs on the idle timer: it fails the pending read once the
// deadline in force has passed, and otherwise (it fired for a deadline a
// read moved later while it ran) re-arms for it.
func (c *client) checkIdle() {
	l := &c.idle
	l.mu.Lock()
	defer l.mu.Unlock()
	l.armedFor = 0
	if l.stopped || l.deadline == 0 || l.stale {
		return
	}
	now := c.nsqd.clock.Nanotime()
	if now < l.deadline {
		l.armedFor = l.deadline
		l.timer.Reset(time.Duration(l.deadline - now))
		return
	}
	c.conn.SetReadDeadline(expiredDeadline())
	l.stale = true
}

// suspendIdle lifts the idle limit while the TLS handshake owns the socket
// (it has a bound of its own, connlayer.ServerHandshake's), as upstream's
// handshake is not bound by the heartbeat; the reader's next read sets
// the limit again. The handshake's bound may leave a read deadline in the
// past on the socket: that read clears it.
func (c *client) suspendIdle() {
	l := &c.idle
	l.mu.Lock()
	defer l.mu.Unlock()
	l.deadline = 0
	if l.armedFor != 0 {
		l.timer.Stop()
		l.armedFor = 0
	}
	l.stale = true
}

// expiredDeadline is a socket deadline long past: a read blocked on the
// socket, or made while it is set, fails at once with a timeout.
func expiredDeadline() time.Time { return time.Unix(1, 0) }

// readWithin runs read (reads of conn) and fails a read still blocked once
// limit has passed on clk, as a socket deadline would on the wall clock.
// When it returns, conn holds no read deadline.
func readWithin(conn net.Conn, clk clock.Clock, limit time.Duration, read func() error) error {
	err := connlayer.Within(clk, limit, func() { conn.SetReadDeadline(expiredDeadline()) }, read)
	conn.SetReadDeadline(time.Time{})
	return err
}
