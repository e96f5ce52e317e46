package clock

import (
	"slices"
	"sync"
	"time"
)

// Fake is a Clock that moves only when told. Its timers fire inside
// Advance, in deadline order (ties in the order they were armed), each at
// its own deadline: Now, read from a callback, is that deadline. A
// callback may arm, reset or stop timers, including its own; one armed
// within the advanced span fires in the same Advance.
//
// A timer's channel holds one value, as the runtime's does; a tick that
// finds it full is dropped.
//
// Its Nanotime starts at the start time's nanoseconds since the epoch and
// moves with Advance, so that, until StepWall is called, it reads the same
// number as Now().UnixNano(). StepWall sets the wall clock as an
// administrator or NTP would: Now moves, Nanotime and the time left on
// every timer do not.
type Fake struct {
	mu      sync.Mutex
	now     time.Time
	mono    int64  // Nanotime
	seq     uint64 // arming order, for ties
	pending map[*fakeTimer]struct{}
	armed   chan struct{} // closed and replaced whenever a timer is armed
}

// NewFake returns a Fake clock reading start.
func NewFake(start time.Time) *Fake {
	return &Fake{now: start, mono: start.UnixNano(), pending: map[*fakeTimer]struct{}{}, armed: make(chan struct{})}
}

// Nanotime returns the fake monotonic reading.
func (f *Fake) Nanotime() int64 {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.mono
}

// StepWall sets the wall clock d later (earlier when d is negative)
// without time passing: Now moves by d; Nanotime does not, and no timer
// fires. A timer waits on the monotonic reading, so the wall time at which
// each pending one fires (NextDeadline, Deadlines, ArmedAt, AdvanceTo's
// argument) moves by d as well.
func (f *Fake) StepWall(d time.Duration) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.now = f.now.Add(d)
	for t := range f.pending {
		t.when = t.when.Add(d)
	}
}

// moveLocked sets the clock to t, no earlier than now, moving the
// monotonic reading by as much.
func (f *Fake) moveLocked(t time.Time) {
	if t.After(f.now) {
		f.mono += int64(t.Sub(f.now))
		f.now = t
	}
}

// Now returns the fake time.
func (f *Fake) Now() time.Time {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.now
}

// Advance moves the clock forward by d, firing every timer that falls due
// on the way.
func (f *Fake) Advance(d time.Duration) {
	f.mu.Lock()
	target := f.now.Add(d)
	f.mu.Unlock()
	f.AdvanceTo(target)
}

// AdvanceTo moves the clock forward to t (never back), firing every timer
// that falls due on the way.
func (f *Fake) AdvanceTo(t time.Time) {
	for {
		f.mu.Lock()
		next := f.nextDueLocked(t)
		if next == nil {
			f.moveLocked(t)
			f.mu.Unlock()
			return
		}
		delete(f.pending, next)
		f.moveLocked(next.when)
		fire := f.now
		if next.period > 0 {
			next.when = fire.Add(next.period)
			f.armLocked(next)
		}
		f.mu.Unlock()
		next.fire(fire)
	}
}

// Pending is how many timers and tickers are armed.
func (f *Fake) Pending() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return len(f.pending)
}

// NextDeadline is when the earliest armed timer fires; ok is false when
// none is armed.
func (f *Fake) NextDeadline() (deadline time.Time, ok bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if next := f.nextDueLocked(time.Time{}); next != nil {
		return next.when, true
	}
	return time.Time{}, false
}

// Deadlines lists when every armed timer and ticker fires next, earliest
// first, one entry per timer (two timers due together appear twice): a
// test awaits the deadline one particular timer was set to when another,
// earlier one is armed too.
func (f *Fake) Deadlines() []time.Time {
	f.mu.Lock()
	defer f.mu.Unlock()
	out := make([]time.Time, 0, len(f.pending))
	for t := range f.pending {
		out = append(out, t.when)
	}
	slices.SortFunc(out, time.Time.Compare)
	return out
}

// ArmedAt reports whether a timer is armed to fire at exactly at: a test
// that awaits one timer among several (Armed, then ArmedAt) learns that
// code running elsewhere has set that deadline.
func (f *Fake) ArmedAt(at time.Time) bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	for t := range f.pending {
		if t.when.Equal(at) {
			return true
		}
	}
	return false
}

// Armed returns a channel closed the next time any timer is armed or
// re-armed: a test awaits it to know that code running elsewhere has set
// the deadline it is about to advance past.
func (f *Fake) Armed() <-chan struct{} {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.armed
}

// AwaitArmed waits until cond, given the clock, holds, checking it again
// each time a timer is armed or re-armed, for at most bound of real time;
// it reports whether cond held. Tests await the timer that code running in
// another goroutine is about to arm (cond: ArmedAt, NextDeadline, Pending)
// before they advance past its deadline; the real-time bound only turns a
// timer that is never armed into a failure.
func (f *Fake) AwaitArmed(bound time.Duration, cond func(*Fake) bool) bool {
	limit := time.NewTimer(bound)
	defer limit.Stop()
	for {
		armed := f.Armed()
		if cond(f) {
			return true
		}
		select {
		case <-armed:
		case <-limit.C:
			return cond(f)
		}
	}
}

// EarliestIs is a condition for AwaitArmed: the earliest armed timer fires
// at exactly at.
func EarliestIs(at time.Time) func(*Fake) bool {
	return func(f *Fake) bool {
		next, ok := f.NextDeadline()
		return ok && next.Equal(at)
	}
}

// SomeArmedAt is a condition for AwaitArmed: some armed timer, not only the
// earliest, fires at exactly at.
func SomeArmedAt(at time.Time) func(*Fake) bool {
	return func(f *Fake) bool { return f.ArmedAt(at) }
}

// AtLeastPending is a condition for AwaitArmed: n or more timers are armed.
func AtLeastPending(n int) func(*Fake) bool {
	return func(f *Fake) bool { return f.Pending() >= n }
}

// nextDueLocked is the earliest pending timer due by limit (any pending
// timer when limit is zero).
func (f *Fake) nextDueLocked(limit time.Time) *fakeTimer {
	var best *fakeTimer
	for t := range f.pending {
		if !limit.IsZero() && t.when.After(limit) {
			continue
		}
		if best == nil || t.when.Before(best.when) || (t.when.Equal(best.when) && t.seq < best.seq) {
			best = t
		}
	}
	return best
}

func (f *Fake) armLocked(t *fakeTimer) {
	f.seq++
	t.seq = f.seq
	f.pending[t] = struct{}{}
	close(f.armed)
	f.armed = make(chan struct{})
}

// AfterFunc arms a timer that calls fn inside Advance.
func (f *Fake) AfterFunc(d time.Duration, fn func()) Timer {
	return f.newTimer(d, 0, fn, nil)
}

// NewTimer arms a timer that sends on its channel.
func (f *Fake) NewTimer(d time.Duration) Timer {
	return f.newTimer(d, 0, nil, make(chan time.Time, 1))
}

// NewTicker arms a ticker with period d.
func (f *Fake) NewTicker(d time.Duration) Ticker {
	if d <= 0 {
		panic("clock: non-positive ticker period")
	}
	return fakeTicker{f.newTimer(d, d, nil, make(chan time.Time, 1))}
}

func (f *Fake) newTimer(d, period time.Duration, fn func(), c chan time.Time) *fakeTimer {
	t := &fakeTimer{clock: f, fn: fn, c: c, period: period}
	f.mu.Lock()
	t.when = f.now.Add(d)
	f.armLocked(t)
	f.mu.Unlock()
	return t
}

type fakeTimer struct {
	clock  *Fake
	fn     func()
	c      chan time.Time
	period time.Duration // 0 for a one-shot timer
	when   time.Time
	seq    uint64
}

func (t *fakeTimer) fire(now time.Time) {
	if t.fn != nil {
		t.fn()
		return
	}
	select {
	case t.c <- now:
	default:
	}
}

func (t *fakeTimer) C() <-chan time.Time { return t.c }

func (t *fakeTimer) Reset(d time.Duration) bool {
	f := t.clock
	f.mu.Lock()
	defer f.mu.Unlock()
	_, wasPending := f.pending[t]
	t.drain()
	t.when = f.now.Add(d)
	if t.period > 0 {
		t.period = d
	}
	f.armLocked(t)
	return wasPending
}

func (t *fakeTimer) Stop() bool {
	f := t.clock
	f.mu.Lock()
	defer f.mu.Unlock()
	_, wasPending := f.pending[t]
	delete(f.pending, t)
	t.drain()
	return wasPending
}

// drain empties the channel so that no value from before a Reset or Stop
// is received after it, as with the runtime's timers since Go 1.23.
func (t *fakeTimer) drain() {
	if t.c == nil {
		return
	}
	select {
	case <-t.c:
	default:
	}
}

type fakeTicker struct{ t *fakeTimer }

func (k fakeTicker) C() <-chan time.Time { return k.t.c }
func (k fakeTicker) Reset(d time.Duration) {
	if d <= 0 {
		panic("clock: non-positive ticker period")
	}
	k.t.Reset(d)
}
func (k fakeTicker) Stop() { k.t.Stop() }
