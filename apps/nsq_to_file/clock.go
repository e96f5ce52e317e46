package main

import "time"

// clock is where the archiver's timing comes from: the sync interval, the
// rotation deadlines and the time a file is opened and named at. Tests
// give the router a clock they advance by hand, so that no test depends
// on which of two timers fires first.
type clock interface {
	Now() time.Time
	// NewTimer returns a timer that fires once, d from now.
	NewTimer(d time.Duration) timer
}

// timer is a one-shot timer with time.Timer's Go 1.23 semantics: after
// Reset or Stop returns, no value from before is delivered.
type timer interface {
	C() <-chan time.Time
	Reset(d time.Duration)
	Stop()
}

// wallClock is the real clock.
type wallClock struct{}

func (wallClock) Now() time.Time { return time.Now() }

func (wallClock) NewTimer(d time.Duration) timer { return wallTimer{time.NewTimer(d)} }

type wallTimer struct{ t *time.Timer }

func (w wallTimer) C() <-chan time.Time   { return w.t.C }
func (w wallTimer) Reset(d time.Duration) { w.t.Reset(d) }
func (w wallTimer) Stop()                 { w.t.Stop() }
