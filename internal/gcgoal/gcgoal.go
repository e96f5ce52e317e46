package gcgoal

import (
	"os"
	"runtime"
	"runtime/debug"
	"runtime/metrics"
	"sync"
)

// Policy says which GC percent applies at which live heap.
type Policy struct {
	// SmallBelow is the live heap (bytes marked by the last collection)
	// under which Small applies.
	SmallBelow uint64
	// Small is the GC percent while the live heap is under SmallBelow.
	Small int
	// Normal is the GC percent otherwise (100 is the runtime's default).
	Normal int
}

// Default is nsqd's policy: GOGC=50 while under 2 MB is live, which halves
// the collector's 4 MB minimum heap goal to 2 MB, and the default 100 from
// there on. The bound is where the two meet (2 MB live: a 3 MB goal with
// Small, the 4 MB minimum with Normal), so the goal never jumps as the
// heap crosses it; and whatever a bigger heap holds (messages waiting in
// memory, a disk consumer's reads in flight) is paced exactly as the
// runtime's default paces it. Only heaps whose every cycle costs little
// (under 2 MB to mark) are collected more often.
var Default = Policy{SmallBelow: 2 << 20, Small: 50, Normal: 100}

// Percent is the GC percent the policy gives for a live heap of live bytes.
func (p Policy) Percent(live uint64) int {
	if live < p.SmallBelow {
		return p.Small
	}
	return p.Normal
}

// Enabled reports whether the environment leaves the collector's pacing to
// the program: neither GOGC nor GOMEMLIMIT is set.
func Enabled() bool {
	_, gogc := os.LookupEnv("GOGC")
	_, limit := os.LookupEnv("GOMEMLIMIT")
	return !gogc && !limit
}

// Tuner applies a Policy after every collection until Stop.
type Tuner struct {
	policy Policy
	// observed, when set (tests), is called after each collection the
	// tuner handled, with the live heap it saw and the percent it set.
	observed func(live uint64, percent int)

	mu      sync.Mutex
	stopped bool
	percent int // the GC percent this tuner last set
	sample  []metrics.Sample
}

// liveHeapMetric is the heap the last collection marked live.
const liveHeapMetric = "/gc/heap/live:bytes"

// Start begins applying p after every garbage collection, and applies it
// once now to the live heap the last collection found (none yet: the
// policy for an empty heap). It returns nil, changing nothing, when the
// environment sets GOGC or GOMEMLIMIT.
func Start(p Policy) *Tuner {
	if !Enabled() {
		return nil
	}
	return start(p, nil)
}

func start(p Policy, observed func(live uint64, percent int)) *Tuner {
	t := &Tuner{
		policy:   p,
		observed: observed,
		percent:  p.Normal,
		sample:   []metrics.Sample{{Name: liveHeapMetric}},
	}
	t.apply()
	t.arm()
	return t
}

// sentinel is garbage as soon as it is armed, so the next collection finds
// it unreachable and runs its finalizer. It holds a pointer, so it is never
// packed into a tiny-allocator block whose finalizer would wait for the
// block's other objects.
type sentinel struct{ t *Tuner }

func (t *Tuner) arm() {
	runtime.SetFinalizer(&sentinel{t: t}, collected)
}

// collected runs on the runtime's finalizer goroutine after each cycle.
func collected(s *sentinel) {
	if s.t.apply() {
		s.t.arm()
	}
}

// apply sets the percent the policy gives for the current live heap, and
// reports whether the tuner is still running.
func (t *Tuner) apply() bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.stopped {
		return false
	}
	metrics.Read(t.sample)
	var live uint64
	if t.sample[0].Value.Kind() == metrics.KindUint64 {
		live = t.sample[0].Value.Uint64()
	}
	want := t.policy.Percent(live)
	if want != t.percent {
		debug.SetGCPercent(want)
		t.percent = want
	}
	if t.observed != nil {
		t.observed(live, want)
	}
	return true
}

// Stop ends the tuning and restores Policy.Normal. Safe on a nil Tuner
// (what Start returns when the environment set the pacing).
func (t *Tuner) Stop() {
	if t == nil {
		return
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.stopped {
		return
	}
	t.stopped = true
	if t.percent != t.policy.Normal {
		debug.SetGCPercent(t.policy.Normal)
		t.percent = t.policy.Normal
	}
}
