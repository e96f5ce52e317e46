package nsqd

import (
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// In-flight deadlines (message timeout, TOUCH, the TOUCH cap) are on the
// daemon's monotonic reading (timeouts.go): setting the wall clock (the fake
// clock's StepWall: the wall jumps, no time passes) neither times a message
// out early nor holds it past its time. Steps both longer and shorter than
// msg_timeout, both ways. On wall-clock deadlines, a step forward timed out
// "b" with "a" at a's first deadline, and a step back held "b" past its own.
func TestMsgTimeoutIgnoresWallClockSteps(t *testing.T) {
	for _, step := range []time.Duration{time.Hour, -time.Hour, 500 * time.Millisecond, -500 * time.Millisecond} {
		t.Run(fmt.Sprint(step), func(t *testing.T) {
			t.Parallel()
			n, clk := startClockedDaemon(t, nil)
			c := timedConsumer(t, n, 2) // 1 s msg_timeout
			publish(t, n, "t", "a")
			a := c.readMessage()
			t0 := clk.Nanotime() // a's delivery: the clock has not moved since
			ch := existingChannel(t, n, "t", "c")

			clk.Advance(400 * time.Millisecond)
			publish(t, n, "t", "b")
			b := c.readMessage() // due at t0+1.4s

			clk.StepWall(step)
			clk.Advance(200 * time.Millisecond)
			c.touch(a.ID)         // a: due at t0+1.6s
			c.pub("t2", "marker") // orders the TOUCH before the clock moves on

			// Peek shows the deadlines on the wall clock as it reads now:
			// moved by the step.
			timeoutAt := map[string]int64{}
			for _, p := range ch.peekInFlight(10) {
				timeoutAt[string(p.Body)] = p.TimeoutAt
			}
			require.Equal(t, map[string]int64{
				"a": clk.Now().UnixNano() + (t0 + int64(1600*time.Millisecond) - clk.Nanotime()),
				"b": clk.Now().UnixNano() + (t0 + int64(1400*time.Millisecond) - clk.Nanotime()),
			}, timeoutAt, "peek's timeout_at")

			clk.Advance(time.Duration(t0 + int64(1400*time.Millisecond) - 1 - clk.Nanotime()))
			require.Zero(t, ch.timeoutCount.Load(), "timed out before msg_timeout")
			clk.Advance(time.Nanosecond)
			require.Equal(t, uint64(1), ch.timeoutCount.Load(), "b not timed out at msg_timeout")
			require.Equal(t, b.ID, c.readMessage().ID)

			clk.Advance(200*time.Millisecond - time.Nanosecond)
			require.Equal(t, uint64(1), ch.timeoutCount.Load(), "a timed out before touch time + msg_timeout")
			clk.Advance(time.Nanosecond)
			require.Equal(t, uint64(2), ch.timeoutCount.Load(), "a not timed out at touch time + msg_timeout")
			require.Equal(t, a.ID, c.readMessage().ID)
		})
	}
}

// The TOUCH cap (delivery + --max-msg-timeout) is measured on the monotonic
// reading too: a TOUCH after a step forward is neither uncapped nor timed
// out at once, and one after a step back is capped where it was.
func TestTouchCapIgnoresWallClockSteps(t *testing.T) {
	for _, step := range []time.Duration{time.Hour, -time.Hour} {
		t.Run(fmt.Sprint(step), func(t *testing.T) {
			t.Parallel()
			n, clk := startClockedDaemon(t, func(o *Options) { o.MaxMsgTimeout = 1500 * time.Millisecond })
			c := timedConsumer(t, n, 1) // 1 s msg_timeout
			publish(t, n, "t", "capped")
			msg := c.readMessage()
			delivered := clk.Nanotime()
			ch := existingChannel(t, n, "t", "c")

			clk.Advance(900 * time.Millisecond)
			clk.StepWall(step)
			c.touch(msg.ID) // uncapped: due 1.9 s after delivery
			c.pub("t2", "marker")

			clk.Advance(time.Duration(delivered + int64(1500*time.Millisecond) - 1 - clk.Nanotime()))
			require.Zero(t, ch.timeoutCount.Load(), "timed out before the cap")
			clk.Advance(time.Nanosecond)
			require.Equal(t, uint64(1), ch.timeoutCount.Load(), "not timed out at delivery + max_msg_timeout")
			require.Equal(t, msg.ID, c.readMessage().ID)
		})
	}
}

// Peek's timeout_at is wall-clock time with the real clock too, whose
// monotonic reading counts from the daemon's start rather than the epoch:
// a message delivered between before and after times out msg_timeout
// later. Peek reads the wall clock, then the monotonic one: time between
// the two reads (a preemption on a loaded machine) makes its answer that
// much earlier, never later, so the lower bound has a generous slack and
// the upper one a small one (the test's and the daemon's clock reads).
func TestPeekInFlightTimeoutAtIsWallClock(t *testing.T) {
	t.Parallel()
	n := startDaemon(t, nil)
	c := timedConsumer(t, n, 1) // 1 s msg_timeout
	before := time.Now()
	publish(t, n, "t", "held")
	c.readMessage()
	after := time.Now()
	peeked := existingChannel(t, n, "t", "c").peekInFlight(10)
	require.Len(t, peeked, 1)
	require.GreaterOrEqual(t, peeked[0].TimeoutAt, before.Add(time.Second).Add(-10*time.Second).UnixNano())
	require.LessOrEqual(t, peeked[0].TimeoutAt, after.Add(time.Second+time.Millisecond).UnixNano())
}

// A deferral's due time (REQ with a delay, DPUB) stays wall-clock time: it
// is written to disk with the record (nsqd/queue/message.go) and must mean
// the same after a restart, when the monotonic reading starts again. A REQ
// made after a step is due its delay after the stepped wall clock. (This
// pins the decision; it held before in-flight deadlines moved too.)
func TestReqDelayIsDueOnTheWallClock(t *testing.T) {
	t.Parallel()
	n, clk := startClockedDaemon(t, nil)
	c, msg := consumerWithMessage(t, n)
	clk.StepWall(-time.Hour)
	c.req(msg.ID, 500*time.Millisecond)
	c.pub("t2", "marker") // orders the REQ before the peek
	deferred := existingChannel(t, n, "t", "c").peekDeferred(10)
	require.Len(t, deferred, 1)
	require.Equal(t, clk.Now().Add(500*time.Millisecond).UnixNano(), deferred[0].DeliverAt)
}
