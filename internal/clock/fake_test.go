package clock

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

var epoch = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)

// log records what fired, and when, as offsets from epoch.
type log struct {
	clock *Fake
	lines []string
}

func (l *log) note(name string) func() {
	return func() { l.lines = append(l.lines, fmt.Sprintf("%s@%s", name, l.clock.Now().Sub(epoch))) }
}

func TestFakeFiresTimersInDeadlineOrderAtTheirOwnTime(t *testing.T) {
	c := NewFake(epoch)
	l := &log{clock: c}
	c.AfterFunc(3*time.Second, l.note("c"))
	c.AfterFunc(time.Second, l.note("a"))
	c.AfterFunc(2*time.Second, l.note("b1"))
	c.AfterFunc(2*time.Second, l.note("b2"))
	c.Advance(1500 * time.Millisecond)
	assert.Equal(t, "a@1s", strings.Join(l.lines, " "))
	c.Advance(10 * time.Second)
	assert.Equal(t, "a@1s b1@2s b2@2s c@3s", strings.Join(l.lines, " "))
	assert.Equal(t, epoch.Add(11500*time.Millisecond), c.Now())
	assert.Zero(t, c.Pending())
}

func TestFakeCallbackMayRearmItsOwnTimerWithinTheSameAdvance(t *testing.T) {
	c := NewFake(epoch)
	l := &log{clock: c}
	var timer Timer
	fires := 0
	timer = c.AfterFunc(time.Second, func() {
		l.note("tick")()
		if fires++; fires < 3 {
			timer.Reset(time.Second)
		}
	})
	c.Advance(5 * time.Second)
	assert.Equal(t, "tick@1s tick@2s tick@3s", strings.Join(l.lines, " "))
}

func TestFakeStopAndResetReportPendingAndDiscardOldValues(t *testing.T) {
	c := NewFake(epoch)
	timer := c.NewTimer(time.Second)
	c.Advance(time.Second)
	require.Len(t, timer.C(), 1, "fired value buffered")
	assert.False(t, timer.Reset(time.Second), "had fired")
	assert.Len(t, timer.C(), 0, "Reset drops the old value")
	assert.True(t, timer.Stop())
	c.Advance(time.Hour)
	assert.Len(t, timer.C(), 0, "a stopped timer never fires")
	assert.False(t, timer.Stop())
}

func TestFakeTickerTicksEveryPeriodAndDropsWhenFull(t *testing.T) {
	c := NewFake(epoch)
	tick := c.NewTicker(time.Second)
	c.Advance(3 * time.Second)
	got := <-tick.C()
	assert.Equal(t, epoch.Add(time.Second), got, "the first tick stays; later ones found the buffer full")
	c.Advance(time.Second)
	assert.Equal(t, epoch.Add(4*time.Second), <-tick.C())
	deadline, ok := c.NextDeadline()
	require.True(t, ok)
	assert.Equal(t, epoch.Add(5*time.Second), deadline)
	tick.Stop()
	_, ok = c.NextDeadline()
	assert.False(t, ok)
}

func TestFakeArmedIsClosedWhenAnotherGoroutineArmsATimer(t *testing.T) {
	c := NewFake(epoch)
	armed := c.Armed()
	fired := make(chan struct{})
	go c.AfterFunc(time.Minute, func() { close(fired) })
	select {
	case <-armed:
	case <-time.After(10 * time.Second):
		t.Fatal("arming was not signalled")
	}
	c.Advance(time.Minute)
	select {
	case <-fired:
	default:
		t.Fatal("the timer armed elsewhere did not fire inside Advance")
	}
}

func TestRealClockTimersFire(t *testing.T) {
	c := Real()
	done := make(chan struct{})
	c.AfterFunc(time.Millisecond, func() { close(done) })
	timer := c.NewTimer(time.Millisecond)
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		t.Fatal("AfterFunc did not fire")
	}
	select {
	case <-timer.C():
	case <-time.After(10 * time.Second):
		t.Fatal("timer did not fire")
	}
	assert.WithinDuration(t, time.Now(), c.Now(), time.Minute)
}

func TestFakeDeadlinesListsEveryArmedTimerEarliestFirst(t *testing.T) {
	c := NewFake(epoch)
	assert.Empty(t, c.Deadlines())
	c.AfterFunc(3*time.Second, func() {})
	stopped := c.NewTimer(time.Second)
	c.NewTimer(2 * time.Second)
	c.NewTicker(2 * time.Second)
	assert.Equal(t, []time.Time{epoch.Add(time.Second), epoch.Add(2 * time.Second), epoch.Add(2 * time.Second), epoch.Add(3 * time.Second)},
		c.Deadlines(), "timers due together appear once each")
	stopped.Stop()
	c.Advance(2 * time.Second)
	assert.Equal(t, []time.Time{epoch.Add(3 * time.Second), epoch.Add(4 * time.Second)}, c.Deadlines(),
		"fired timers are gone, the ticker re-armed")
}

func TestFakeArmedAtSeesEveryPendingTimerNotOnlyTheEarliest(t *testing.T) {
	c := NewFake(epoch)
	early := c.AfterFunc(time.Second, func() {})
	late := c.AfterFunc(time.Minute, func() {})
	require.True(t, c.ArmedAt(epoch.Add(time.Second)))
	require.True(t, c.ArmedAt(epoch.Add(time.Minute)), "a later timer behind the earliest")
	require.False(t, c.ArmedAt(epoch.Add(2*time.Minute)))
	late.Reset(2 * time.Minute)
	require.False(t, c.ArmedAt(epoch.Add(time.Minute)), "moved by Reset")
	require.True(t, c.ArmedAt(epoch.Add(2*time.Minute)))
	early.Stop()
	require.False(t, c.ArmedAt(epoch.Add(time.Second)), "stopped")
}

func TestFakeAwaitArmedSeesATimerArmedElsewhere(t *testing.T) {
	c := NewFake(epoch)
	due := epoch.Add(3 * time.Second)
	require.False(t, c.AwaitArmed(time.Millisecond, SomeArmedAt(due)), "nothing armed yet")
	go func() {
		c.AfterFunc(time.Hour, func() {})
		c.AfterFunc(3*time.Second, func() {})
	}()
	require.True(t, c.AwaitArmed(10*time.Second, SomeArmedAt(due)))
	require.True(t, c.AwaitArmed(10*time.Second, AtLeastPending(2)))
	require.True(t, c.AwaitArmed(10*time.Second, EarliestIs(due)))
	require.False(t, c.AwaitArmed(time.Millisecond, EarliestIs(epoch.Add(time.Hour))), "not the earliest")
}

func TestFakeNanotimeMovesWithAdvanceAndNotWithAWallStep(t *testing.T) {
	c := NewFake(epoch)
	require.Equal(t, epoch.UnixNano(), c.Nanotime(), "reads as the wall clock until a step")
	fired := 0
	c.AfterFunc(10*time.Second, func() { fired++ })
	c.Advance(4 * time.Second)
	require.Equal(t, epoch.Add(4*time.Second).UnixNano(), c.Nanotime())

	// Forward: the wall jumps an hour, no time passes, nothing fires, and
	// the timer still has 6 s to wait.
	c.StepWall(time.Hour)
	require.Equal(t, epoch.Add(time.Hour+4*time.Second), c.Now())
	require.Equal(t, epoch.Add(4*time.Second).UnixNano(), c.Nanotime())
	require.Zero(t, fired)
	next, ok := c.NextDeadline()
	require.True(t, ok)
	require.Equal(t, epoch.Add(time.Hour+10*time.Second), next)
	c.Advance(6*time.Second - time.Nanosecond)
	require.Zero(t, fired)
	c.Advance(time.Nanosecond)
	require.Equal(t, 1, fired)
	require.Equal(t, epoch.Add(10*time.Second).UnixNano(), c.Nanotime())

	// Back: the wall goes back two hours; a timer armed after it waits its
	// own duration on the monotonic reading.
	c.StepWall(-2 * time.Hour)
	require.Equal(t, epoch.Add(-time.Hour+10*time.Second), c.Now())
	c.AfterFunc(time.Second, func() { fired++ })
	c.Advance(time.Second)
	require.Equal(t, 2, fired)
	require.Equal(t, epoch.Add(11*time.Second).UnixNano(), c.Nanotime())
}

func TestRealNanotimeNeverGoesBack(t *testing.T) {
	c := Real()
	prev := c.Nanotime()
	require.GreaterOrEqual(t, prev, int64(0))
	for range 1000 {
		now := c.Nanotime()
		require.GreaterOrEqual(t, now, prev)
		prev = now
	}
	// A timer's wait is on the same reading.
	start := c.Nanotime()
	timer := c.NewTimer(time.Millisecond)
	<-timer.C()
	require.GreaterOrEqual(t, c.Nanotime()-start, int64(time.Millisecond))
}
