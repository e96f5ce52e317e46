package nsqd

import (
	"fmt"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/nsqgo/nsq/internal/clock"
	"github.com/stretchr/testify/require"
)

// Session 26 review of the idle limit (timeouts.go; written for a lazily
// armed timer, since taken back, and kept for the eager one). Whatever
// the order of reads (deadlines later, earlier, already past, none), of
// suspensions, of clock jumps and of wall-clock steps, the read must fail
// exactly when the clock's monotonic reading reaches the deadline in force,
// never before, and never be left to wait past it.

// deadlineRecorder is a connection that records the last read deadline set.
type deadlineRecorder struct {
	discardConn
	last time.Time
	sets int
}

func (c *deadlineRecorder) SetReadDeadline(t time.Time) error {
	c.last, c.sets = t, c.sets+1
	return nil
}
func (c *deadlineRecorder) SetDeadline(t time.Time) error    { return c.SetReadDeadline(t) }
func (c *deadlineRecorder) SetWriteDeadline(time.Time) error { return nil }

func TestReviewIdleLimitMatchesItsModel(t *testing.T) {
	for seed := uint64(1); seed <= 300; seed++ {
		t.Run(fmt.Sprint(seed), func(t *testing.T) {
			rng := rand.New(rand.NewPCG(seed, 26))
			clk := clock.NewFake(time.Unix(1_000_000, 0))
			conn := &deadlineRecorder{}
			c := &client{nsqd: &NSQD{clock: clk}, conn: conn}

			// The model: the deadline in force, whether the read has
			// failed, and whether the socket's deadline is known (after a
			// TLS handshake's suspension it is the handshake's).
			var deadline int64
			expired, known := false, true
			// The limit's deadlines are on the monotonic reading, so the
			// model's now is too: the wall clock steps below.
			now := clk.Nanotime
			check := func(step string) {
				t.Helper()
				d, _, gotExpired := idleState(c)
				require.Equal(t, deadline, d, "%s: deadline in force", step)
				require.Equal(t, expired, gotExpired, "%s: expired at %d, deadline %d", step, now(), deadline)
				if known {
					if expired {
						require.True(t, conn.last.Equal(expiredDeadline()), "%s: the socket read does not fail", step)
					} else {
						require.True(t, conn.last.IsZero(), "%s: the socket holds a deadline %v", step, conn.last)
					}
				}
			}
			for step := 0; step < 200; step++ {
				switch op := rng.IntN(10); {
				case op < 4: // a read with a deadline ahead, later or earlier
					d := now() + 1 + rng.Int64N(int64(3*time.Second))
					if deadline > now() && rng.IntN(2) == 0 {
						d = deadline + rng.Int64N(int64(time.Second)) - int64(500*time.Millisecond)
						d = max(d, now()+1)
					}
					c.limitRead(d, rng.IntN(2) == 0)
					deadline, expired, known = d, false, true
					check(fmt.Sprintf("step %d: read until %d", step, d))
				case op == 4: // a read whose deadline has passed already
					d := now() - rng.Int64N(int64(time.Second))
					c.limitRead(d, false)
					deadline, expired, known = d, true, true
					check(fmt.Sprintf("step %d: read until past %d", step, d))
				case op == 5: // heartbeats off
					c.limitRead(0, true)
					deadline, expired, known = 0, false, true
					check(fmt.Sprintf("step %d: read with no deadline", step))
				case op == 6: // a TLS handshake
					c.suspendIdle()
					deadline, expired, known = 0, false, false
					check(fmt.Sprintf("step %d: suspended", step))
				case op == 7 && deadline > now(): // to the nanosecond before, and the deadline
					clk.Advance(time.Duration(deadline - 1 - now()))
					check(fmt.Sprintf("step %d: 1ns before the deadline", step))
					clk.Advance(time.Nanosecond)
					expired = true
					check(fmt.Sprintf("step %d: at the deadline", step))
				case op == 8: // the wall clock is set, either way: no time passes
					wall := time.Duration(rng.Int64N(int64(4*time.Hour))) - 2*time.Hour
					clk.StepWall(wall)
					check(fmt.Sprintf("step %d: wall clock stepped %v", step, wall))
				default: // the clock moves, or jumps far
					dt := rng.Int64N(int64(2 * time.Second))
					if rng.IntN(8) == 0 {
						dt = int64(time.Hour)
					}
					clk.Advance(time.Duration(dt))
					if deadline != 0 && now() >= deadline {
						expired = true
					}
					check(fmt.Sprintf("step %d: advanced %v", step, time.Duration(dt)))
				}
			}
		})
	}
}

// After IDENTIFY shortens the heartbeat, the next command's deadline is
// earlier than the one the timer was armed for at the connection's first
// read: the connection must still close at exactly the new deadline, not at
// the old one.
func TestReviewIdleShorterHeartbeatAfterIdentifyClosesOnTime(t *testing.T) {
	t.Parallel()
	n, clk := startClockedDaemon(t, func(o *Options) { o.ClientTimeout = 60 * time.Second })
	start := clk.Now()
	c := dialV2(t, n)
	cl, first := awaitCommandRead(t, n, c, 1)
	require.Equal(t, start.Add(60*time.Second).UnixNano(), first.UnixNano())
	c.identify(map[string]any{"heartbeat_interval": 1000})
	_, next := awaitCommandRead(t, n, c, 2)
	require.Equal(t, start.Add(2*time.Second).UnixNano(), next.UnixNano(), "the deadline of two new heartbeat intervals")

	clk.AdvanceTo(next.Add(-time.Nanosecond))
	requireNotIdleExpired(t, cl)
	clk.AdvanceTo(next)
	c.expectClosed()
}

// A deadline that passes while the reader is busy with a command it has
// read whole (here, the commands after the first in one segment) fails
// only the next socket read if that read's deadline has passed; a command
// that began later, with a deadline ahead, is not cut short by the timer
// armed for the earlier one.
func TestReviewIdleTimerArmedForAnOldCommandDoesNotCutANewOne(t *testing.T) {
	t.Parallel()
	n, clk := startClockedDaemon(t, func(o *Options) { o.ClientTimeout = idleClientTimeout })
	start := clk.Now()
	c := dialV2(t, n)
	cl, _ := awaitCommandRead(t, n, c, 1)
	// Each NOP moves the deadline later by the time advanced; the timer
	// stays armed for the first, fires there, and must re-arm.
	for i := 2; i <= 5; i++ {
		clk.Advance(idleClientTimeout / 3)
		c.send("NOP")
		_, d := awaitCommandRead(t, n, c, uint64(i))
		require.Equal(t, clk.Now().Add(idleClientTimeout).UnixNano(), d.UnixNano())
	}
	last := clk.Now().Add(idleClientTimeout)
	clk.AdvanceTo(start.Add(idleClientTimeout)) // the first deadline: long gone for the command now read
	requireNotIdleExpired(t, cl)
	// A command half sent: its first read set the deadline, and the bytes
	// that complete it arrive just before it.
	_, reads, _ := idleState(cl)
	c.sendRaw([]byte("NO"))
	awaitRead(t, cl, reads) // the next read waits for the rest
	clk.AdvanceTo(last.Add(-time.Nanosecond))
	requireNotIdleExpired(t, cl)
	c.sendRaw([]byte("P\n"))
	_, d := awaitCommandRead(t, n, c, 6)
	require.Equal(t, clk.Now().Add(idleClientTimeout).UnixNano(), d.UnixNano())
	clk.AdvanceTo(d.Add(-time.Nanosecond))
	requireNotIdleExpired(t, cl)
	clk.AdvanceTo(d)
	c.expectClosed()
}
