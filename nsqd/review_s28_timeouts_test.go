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
