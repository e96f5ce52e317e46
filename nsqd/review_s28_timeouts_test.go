package nsqd

import (
	"testing"
	"time"

	"github.com/nsqgo/nsq/internal/protocol"
	"github.com/stretchr/testify/require"
)

// Review of session 28's move of in-flight deadlines to the monotonic
// reading (timeouts.go). The fake clock reads the same number on both
// readings until StepWall, so a test that never steps the wall cannot tell
// a deadline kept on one reading from one compared with the other. These
// tests step it, or start with it far from the monotonic reading, and
// check each path a held message leaves by.

// onceDeferred publishes "x" to t, has c (timedConsumer: 1 s msg_timeout,
// RDY 1) REQ it with a 500 ms delay, and reads it again when due: the
// message c then holds carries the wall-clock DeliverAt of that deferral.
func onceDeferred(t *testing.T, n *NSQD, c *testConn) protocol.MessageID {
	t.Helper()
	publish(t, n, "t", "x")
	m := c.readMessage()
	c.req(m.ID, 500*time.Millisecond)
	c.pub("t2", "marker") // orders the REQ before the clock reads below
	return m.ID
}

// A message that was deferred once (REQ with a delay) and delivered again
// when due times out msg_timeout after that delivery and is back at once,
// also when the wall clock was set back meanwhile: the timeout is on the
// monotonic reading, and the old deferral's due time (wall clock, in the
// future again after the step) must not defer it a second time for as
// long as the step. REQ 0 clears it (protocol_v2.go, req); the timeout
// requeue kept it.
func TestReviewS28TimedOutOnceDeferredMessageIsNotDeferredAgainAfterAWallStepBack(t *testing.T) {
	n, clk := startClockedDaemon(t, nil)
	c := timedConsumer(t, n, 1)
	id := onceDeferred(t, n, c)
	expectDeferredUntil(t, n, clk, c, "t", "c", clk.Now().Add(500*time.Millisecond))
	again := c.readMessage()
	require.Equal(t, id, again.ID)
	require.Equal(t, uint16(2), again.Attempts)

	clk.StepWall(-time.Hour)
	clk.Advance(time.Second) // msg_timeout after the second delivery
	require.Equal(t, uint64(1), existingChannel(t, n, "t", "c").timeoutCount.Load(), "not timed out at msg_timeout")
	require.Zero(t, deferredCount(t, n, "t", "c"), "the timed-out message was deferred again by its old due time")
	third := c.readMessage()
	require.Equal(t, id, third.ID)
	require.Equal(t, uint16(3), third.Attempts)
}

// The same for a consumer that leaves holding such a message: it goes back
// to the channel at once (tcp.go, release) and to the next consumer, not
// an hour later.
func TestReviewS28ReleasedOnceDeferredMessageIsNotDeferredAgainAfterAWallStepBack(t *testing.T) {
	n, clk := startClockedDaemon(t, nil)
	c := timedConsumer(t, n, 1)
	other := dialV2(t, n)
	other.subscribe("t", "c") // RDY 0 until c holds the message
	id := onceDeferred(t, n, c)
	expectDeferredUntil(t, n, clk, c, "t", "c", clk.Now().Add(500*time.Millisecond))
	require.Equal(t, id, c.readMessage().ID)

	clk.StepWall(-time.Hour)
	other.send("RDY 1")
	c.conn.Close()
	m := other.readMessage()
	require.Equal(t, id, m.ID)
	require.Zero(t, deferredCount(t, n, "t", "c"))
}

// The in-flight life of a message with the wall clock set far from the
// monotonic reading before anything is delivered (as with the real clock,
// whose monotonic reading counts from the daemon's start, not the epoch),
// both ways: every deadline is armed, checked and shown after the step,
// so a wall reading taken anywhere in place of the monotonic one (the
// timer's wait in armTimeout, the expiry check, delivery, TOUCH and its
// cap, peek) moves a timeout by the step. Each timeout is checked one
// nanosecond before and at its time.
func TestReviewS28InFlightLifeWithTheWallFarFromTheMonotonicReading(t *testing.T) {
	for _, step := range []time.Duration{time.Hour, -time.Hour, 10 * 365 * 24 * time.Hour, -10 * 365 * 24 * time.Hour} {
		t.Run(step.String(), func(t *testing.T) {
			t.Parallel()
			n, clk := startClockedDaemon(t, func(o *Options) { o.MaxMsgTimeout = 1200 * time.Millisecond })
			clk.StepWall(step)
			c := timedConsumer(t, n, 1) // 1 s msg_timeout
			publish(t, n, "t", "a")
			a := c.readMessage()
			ch := existingChannel(t, n, "t", "c")
			timeouts := func() uint64 { return ch.timeoutCount.Load() }
			// advanceTo moves the monotonic reading to at.
			advanceTo := func(at int64) { clk.Advance(time.Duration(at - clk.Nanotime())) }
			expectTimeoutAt := func(at int64, count uint64, what string) {
				t.Helper()
				advanceTo(at - 1)
				require.Equal(t, count-1, timeouts(), "%s timed out early", what)
				advanceTo(at)
				require.Equal(t, count, timeouts(), "%s not timed out at its time", what)
			}

			// A delivery times out msg_timeout later.
			expectTimeoutAt(clk.Nanotime()+int64(time.Second), 1, "the first delivery")
			a = c.readMessage()
			require.Equal(t, uint16(2), a.Attempts)
			delivered := clk.Nanotime()

			// Peek shows the deadline on the stepped wall clock.
			peeked := ch.peekInFlight(1)
			require.Len(t, peeked, 1)
			require.Equal(t, clk.Now().UnixNano()+int64(time.Second), peeked[0].TimeoutAt, "peek's timeout_at")

			// TOUCH after 500 ms would give 1.5 s; the cap is 1.2 s.
			clk.Advance(500 * time.Millisecond)
			c.touch(a.ID)
			c.pub("t2", "marker") // orders the TOUCH before the clock moves on
			expectTimeoutAt(delivered+int64(1200*time.Millisecond), 2, "the touched delivery")
			a = c.readMessage()
			require.Equal(t, uint16(3), a.Attempts)

			// REQ 0 is back at once, the clock unmoved.
			c.req(a.ID, 0)
			a = c.readMessage()
			require.Equal(t, uint16(4), a.Attempts)

			// A FIN'd message never times out.
			c.fin(a.ID)
			c.pub("t2", "marker")
			clk.Advance(3 * time.Second)
			require.Equal(t, uint64(2), timeouts(), "a finished message timed out")

			// Emptied while held, a message no longer times out, and the
			// next delivery times out at its own time: the timer armed for
			// the emptied one finds nothing due and waits on.
			publish(t, n, "t", "b")
			require.Equal(t, "b", string(c.readMessage().Body))
			emptied := clk.Nanotime()
			require.NoError(t, ch.Empty())
			clk.Advance(400 * time.Millisecond)
			publish(t, n, "t", "c")
			require.Equal(t, "c", string(c.readMessage().Body))
			advanceTo(emptied + int64(time.Second))
			require.Equal(t, uint64(2), timeouts(), "the emptied message timed out")
			expectTimeoutAt(emptied+int64(1400*time.Millisecond), 3, "the delivery after the empty")
			require.Equal(t, "c", string(c.readMessage().Body))
		})
	}
}
