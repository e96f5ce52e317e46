package clock

import "time"

// Clock is a source of the current time and of timers.
type Clock interface {
	// Now is the wall clock's reading: it steps when the system's clock
	// is set (by hand, NTP), so a deadline that must hold whatever the
	// wall clock does is measured on Nanotime instead.
	Now() time.Time
	// Nanotime is the monotonic reading in nanoseconds: it never steps,
	// and only the difference between two readings of one Clock means
	// anything. Timers wait on it.
	Nanotime() int64
	// AfterFunc calls f in its own goroutine (Real) or in Advance's
	// goroutine (Fake) once d has passed.
	AfterFunc(d time.Duration, f func()) Timer
	// NewTimer returns a timer that sends the time on C once d has passed.
	NewTimer(d time.Duration) Timer
	// NewTicker returns a ticker that sends the time on C every d.
	NewTicker(d time.Duration) Ticker
}

// Timer is a one-shot timer with time.Timer's Go 1.23 semantics: after
// Reset or Stop returns, no value from before is received from C.
type Timer interface {
	// C is nil for a timer made by AfterFunc.
	C() <-chan time.Time
	// Reset re-arms the timer for d from now, reporting whether it was
	// still pending.
	Reset(d time.Duration) bool
	// Stop disarms the timer, reporting whether it was still pending.
	Stop() bool
}

// Ticker sends the time on C at a fixed period until stopped.
type Ticker interface {
	C() <-chan time.Time
	Reset(d time.Duration)
	Stop()
}

// Real returns the wall clock. Its Nanotime counts from the call to Real
// (time.Since on the runtime's monotonic reading, cheaper than Now, which
// reads the wall clock too).
func Real() Clock { return realClock{start: time.Now()} }

type realClock struct{ start time.Time }

func (realClock) Now() time.Time { return time.Now() }

func (r realClock) Nanotime() int64 { return int64(time.Since(r.start)) }

func (realClock) AfterFunc(d time.Duration, f func()) Timer {
	return realTimer{time.AfterFunc(d, f)}
}

func (realClock) NewTimer(d time.Duration) Timer { return realTimer{time.NewTimer(d)} }

func (realClock) NewTicker(d time.Duration) Ticker { return realTicker{time.NewTicker(d)} }

type realTimer struct{ t *time.Timer }

func (r realTimer) C() <-chan time.Time        { return r.t.C }
func (r realTimer) Reset(d time.Duration) bool { return r.t.Reset(d) }
func (r realTimer) Stop() bool                 { return r.t.Stop() }

type realTicker struct{ t *time.Ticker }

func (r realTicker) C() <-chan time.Time   { return r.t.C }
func (r realTicker) Reset(d time.Duration) { r.t.Reset(d) }
func (r realTicker) Stop()                 { r.t.Stop() }
