package nsqd

import (
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// Review of session 27's idle limit on the monotonic reading (timeouts.go,
// clock.Clock.Nanotime): with heartbeats off (IDENTIFY heartbeat_interval
// -1) a connection has no read deadline at all, whatever the clock does:
// neither time passing (many client timeouts) nor the wall clock set
// either way, before a command or in the middle of one, ends it.
func TestReviewS27HeartbeatsOffNoIdleLimitAcrossWallSteps(t *testing.T) {
	for _, step := range []time.Duration{time.Hour, -time.Hour} {
		t.Run(fmt.Sprint(step), func(t *testing.T) {
			t.Parallel()
			n, clk := startClockedDaemon(t, func(o *Options) { o.ClientTimeout = idleClientTimeout })
			c := dialV2(t, n)
			cl, _ := awaitCommandRead(t, n, c, 1)
			first, _, _ := idleState(cl)
			require.NotZero(t, first, "IDENTIFY is read under the default heartbeat")
			c.identify(map[string]any{"heartbeat_interval": -1})
			waitFor(t, "the reader to read with no deadline", func() bool {
				deadline, _, _ := idleState(cl)
				return deadline == 0
			})
			_, reads, _ := idleState(cl)

			clk.StepWall(step)
			clk.Advance(10 * idleClientTimeout)
			c.sendRaw([]byte("NO")) // half a command, its first read
			awaitRead(t, cl, reads)
			deadline, _, _ := idleState(cl)
			require.Zero(t, deadline, "a deadline with heartbeats off")
			clk.StepWall(-2 * step)
			clk.Advance(10 * idleClientTimeout)
			c.sendRaw([]byte("P\n"))
			// Still open, and served: a PUB is answered.
			c.pub("review_s27_idle", "still here")
		})
	}
}
