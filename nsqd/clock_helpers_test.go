package nsqd

import (
	"testing"
	"time"

	"github.com/nsqgo/nsq/internal/clock"
	"github.com/stretchr/testify/require"
)

// startClockedDaemon runs a daemon whose time comes from a fake clock
// (internal/clock) that starts at the wall clock's now and moves only when
// the test advances it: a test of a message timeout or a heartbeat moves
// time to the deadline instead of waiting for it. The clock's timers fire
// inside Advance, so when Advance returns what was due has run (a timed-out
// message is back in its channel, a heartbeat is queued for the pump).
func startClockedDaemon(t testing.TB, configure func(*Options)) (*NSQD, *clock.Fake) {
	t.Helper()
	fake := clock.NewFake(time.Now())
	n := startDaemon(t, func(o *Options) {
		o.Clock = fake
		if configure != nil {
			configure(o)
		}
	})
	return n, fake
}

// awaitDeadline waits until the fake clock's earliest timer is armed to
// fire at exactly at (the pump re-arms its heartbeat ticker in its own goroutine
// after IDENTIFY, for instance). It waits on the clock's Armed event; the
// real-time bound only turns a missing timer into a failure.
func awaitDeadline(t testing.TB, fake *clock.Fake, at time.Time) {
	t.Helper()
	if !fake.AwaitArmed(10*time.Second, clock.EarliestIs(at)) {
		next, ok := fake.NextDeadline()
		t.Fatalf("earliest timer not armed for %s (next: %s, %v)", at.Format(time.RFC3339Nano), next.Format(time.RFC3339Nano), ok)
	}
}

// awaitArmedAt waits until some timer of the fake clock, not only the
// earliest, is armed to fire at exactly at, on the clock's Armed event.
func awaitArmedAt(t testing.TB, fake *clock.Fake, at time.Time) {
	t.Helper()
	if !fake.AwaitArmed(10*time.Second, clock.SomeArmedAt(at)) {
		t.Fatalf("no timer armed for %s", at.Format(time.RFC3339Nano))
	}
}

// expectDeferredUntil checks that a deferred message on topic/channel is
// held until due and no longer: it waits for the channel to arm its
// deferral timer for due, moves the fake clock to just before it and
// checks the message is still deferred and nothing reached c, then moves
// the clock to due. Timers fire inside Advance, so after the last step the
// message is back in the channel and the caller reads it from c.
func expectDeferredUntil(t *testing.T, n *NSQD, fake *clock.Fake, c *testConn, topic, channel string, due time.Time) {
	t.Helper()
	awaitDeadline(t, fake, due)
	fake.AdvanceTo(due.Add(-time.Nanosecond))
	require.Equal(t, 1, deferredCount(t, n, topic, channel), "released before its time")
	c.expectNoFrame(50 * time.Millisecond)
	fake.AdvanceTo(due)
	require.Zero(t, deferredCount(t, n, topic, channel), "not released at its time")
}
