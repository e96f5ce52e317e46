package exepages

import (
	"errors"
	"sync/atomic"
	"testing"
	"time"

	"github.com/nsqgo/nsq/internal/clock"
	"github.com/stretchr/testify/require"
)

func TestTrimmerReleasesEveryPeriodUntilStopped(t *testing.T) {
	start := time.Unix(1_700_000_000, 0)
	clk := clock.NewFake(start)
	var calls atomic.Int32
	tr := startTrimmer(clk, time.Second, func() (int64, error) {
		calls.Add(1)
		return 0, nil
	})
	clk.Advance(999 * time.Millisecond)
	require.Zero(t, calls.Load(), "released before a period passed")
	clk.Advance(time.Millisecond)
	require.EqualValues(t, 1, calls.Load())
	for i := 2; i <= 5; i++ {
		// The next call is armed a period after the last one.
		require.True(t, clk.ArmedAt(start.Add(time.Duration(i)*time.Second)), "no release armed for second %d", i)
		clk.Advance(time.Second)
		require.EqualValues(t, i, calls.Load())
	}
	tr.Stop()
	require.Zero(t, clk.Pending(), "a stopped trimmer left a timer armed")
	clk.Advance(10 * time.Second)
	require.EqualValues(t, 5, calls.Load(), "released after Stop")
}

func TestTrimmerGoesOnAfterAFailedRelease(t *testing.T) {
	clk := clock.NewFake(time.Unix(1_700_000_000, 0))
	var calls atomic.Int32
	tr := startTrimmer(clk, time.Second, func() (int64, error) {
		calls.Add(1)
		return 0, errors.New("smaps unreadable")
	})
	defer tr.Stop()
	clk.Advance(3 * time.Second)
	require.EqualValues(t, 3, calls.Load())
}
