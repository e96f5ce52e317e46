package main

import (
	"sort"
	"sync"
	"time"
)

// manualClock is a clock whose time moves only when a test advances it;
// a timer fires when the time reaches its deadline.
type manualClock struct {
	mu     sync.Mutex
	now    time.Time
	timers []*manualTimer
}

func newManualClock(start time.Time) *manualClock { return &manualClock{now: start} }

func (c *manualClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *manualClock) NewTimer(d time.Duration) timer {
	t := &manualTimer{clock: c, ch: make(chan time.Time, 1)}
	c.mu.Lock()
	c.timers = append(c.timers, t)
	c.mu.Unlock()
	t.Reset(d)
	return t
}

// Advance moves the time on by d and fires every timer now due.
func (c *manualClock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
	c.fireDueLocked()
}

func (c *manualClock) fireDueLocked() {
	for _, t := range c.timers {
		if t.armed && !t.deadline.After(c.now) {
			t.armed = false
			t.ch <- c.now // empty: Reset and Stop drain it
		}
	}
}

// Deadlines lists the armed timers' deadlines, earliest first.
func (c *manualClock) Deadlines() []time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	var out []time.Time
	for _, t := range c.timers {
		if t.armed {
			out = append(out, t.deadline)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Before(out[j]) })
	return out
}

type manualTimer struct {
	clock    *manualClock
	ch       chan time.Time
	deadline time.Time
	armed    bool
}

func (t *manualTimer) C() <-chan time.Time { return t.ch }

func (t *manualTimer) Reset(d time.Duration) {
	t.clock.mu.Lock()
	defer t.clock.mu.Unlock()
	t.drainLocked()
	t.deadline, t.armed = t.clock.now.Add(d), true
	t.clock.fireDueLocked()
}

func (t *manualTimer) Stop() {
	t.clock.mu.Lock()
	defer t.clock.mu.Unlock()
	t.drainLocked()
	t.armed = false
}

func (t *manualTimer) drainLocked() {
	select {
	case <-t.ch:
	default:
	}
}
