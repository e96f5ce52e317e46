package clock

import (
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// Review of session 28's use of the fake clock's two readings: timers
// armed before a wall step, after one, and reset after another, and a
// ticker running across both, all wait on the monotonic reading, and a
// callback reads, on each reading, the time it fired at: the monotonic
// reading its deadline, the wall clock as stepped.
func TestReviewS28FakeTimersFireOnTheMonotonicReadingAcrossWallSteps(t *testing.T) {
	c := NewFake(epoch)
	mono0 := c.Nanotime()
	var fired []string
	note := func(name string) func() {
		return func() {
			fired = append(fired, fmt.Sprintf("%s mono+%s wall%+v", name, time.Duration(c.Nanotime()-mono0), c.Now().Sub(epoch)))
		}
	}
	c.AfterFunc(3*time.Second, note("before-steps"))
	ticker := c.NewTicker(1500 * time.Millisecond)
	c.StepWall(time.Hour)
	c.AfterFunc(2*time.Second, note("after-forward"))
	c.StepWall(-3 * time.Hour)
	reset := c.AfterFunc(10*time.Second, note("reset-after-back"))
	reset.Reset(time.Second)
	require.Equal(t, mono0, c.Nanotime(), "a wall step moved the monotonic reading")

	c.Advance(4 * time.Second)
	require.Equal(t, []string{
		"reset-after-back mono+1s wall-1h59m59s",
		"after-forward mono+2s wall-1h59m58s",
		"before-steps mono+3s wall-1h59m57s",
	}, fired)
	require.Equal(t, mono0+int64(4*time.Second), c.Nanotime())

	// The ticker ticked at 1.5 s and 3 s; its channel kept the first.
	select {
	case at := <-ticker.C():
		require.Equal(t, epoch.Add(-2*time.Hour+1500*time.Millisecond), at)
	default:
		t.Fatal("the ticker did not tick")
	}
	c.Advance(500*time.Millisecond - time.Nanosecond)
	select {
	case at := <-ticker.C():
		t.Fatalf("ticked early, at %s", at)
	default:
	}
	c.Advance(time.Nanosecond)
	select {
	case at := <-ticker.C():
		require.Equal(t, epoch.Add(-2*time.Hour+4500*time.Millisecond), at)
	default:
		t.Fatal("the ticker did not tick 4.5 s after it was armed")
	}
}
