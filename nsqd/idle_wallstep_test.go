package nsqd

import (
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// The idle limit (timeouts.go) is judged on the daemon's monotonic reading
// (clock.Clock.Nanotime), as a socket deadline is kept by the kernel:
// setting the wall clock (the fake clock's StepWall: the wall jumps, no
// time passes) neither ends a connection before its two heartbeat
// intervals nor keeps a silent one open past them.
func TestIdleLimitIgnoresWallClockSteps(t *testing.T) {
	for _, step := range []time.Duration{time.Hour, -time.Hour, 24 * time.Hour, -idleClientTimeout / 2} {
		t.Run(fmt.Sprint(step), func(t *testing.T) {
			t.Parallel()
			n, clk := startClockedDaemon(t, func(o *Options) { o.ClientTimeout = idleClientTimeout })
			start := clk.Nanotime()
			c := dialV2(t, n)
			cl, _ := awaitCommandRead(t, n, c, 1)
			deadline, reads, _ := idleState(cl)
			require.Equal(t, start+int64(idleClientTimeout), deadline)

			clk.StepWall(step)
			// Half a command: a read of the same command after the step.
			c.sendRaw([]byte("NO"))
			awaitRead(t, cl, reads)
			requireNotIdleExpired(t, cl)
			clk.Advance(time.Duration(deadline - 1 - clk.Nanotime()))
			requireNotIdleExpired(t, cl)
			clk.Advance(time.Nanosecond)
			c.expectClosed()
		})
	}
}

// A command begun after a step gets two heartbeat intervals from its first
// read on the monotonic reading.
func TestIdleLimitAfterAWallClockStep(t *testing.T) {
	for _, step := range []time.Duration{time.Hour, -time.Hour} {
		t.Run(fmt.Sprint(step), func(t *testing.T) {
			t.Parallel()
			n, clk := startClockedDaemon(t, func(o *Options) { o.ClientTimeout = idleClientTimeout })
			c := dialV2(t, n)
			awaitCommandRead(t, n, c, 1)
			clk.StepWall(step)
			clk.Advance(idleClientTimeout / 4)
			c.send("NOP")
			cl, _ := awaitCommandRead(t, n, c, 2)
			deadline, _, _ := idleState(cl)
			require.Equal(t, clk.Nanotime()+int64(idleClientTimeout), deadline)
			clk.Advance(idleClientTimeout - time.Nanosecond)
			requireNotIdleExpired(t, cl)
			clk.Advance(time.Nanosecond)
			c.expectClosed()
		})
	}
}
