package exepages

import (
	"sync"
	"time"

	"github.com/nsqgo/nsq/internal/clock"
)

// TrimEvery is how often nsqd gives back its executable's pages while it
// runs (apps/nsqd/main.go).
//
// Why not only once after start-up. The daemon's code is not one working
// set: publishing runs the protocol's PUB and MPUB paths, the topic's fan-out
// and the disk writer; consuming runs the disk reader, delivery, FIN and
// requeue; a departing consumer runs the requeue to disk; and start-up's
// stragglers (the first connection, the first HTTP call, the collector's
// first cycles) run once. Each leaves every page it faulted, and the
// fault-around pages beside it, mapped for as long as the process lives:
// measured in bench/compare.sh's disk shape (README, "Peak RSS"), the
// process's file pages were 8.6 MB from the end of publishing on, and 4 to
// 5.6 MB with the executable's pages dropped every second.
//
// What it costs. One Release reads /proc/self/smaps and makes one madvise
// call per read-only mapping of the executable, about 1 ms of CPU
// (BenchmarkRelease); then every thread faults the code it runs back in, 64
// KB per fault from the page cache. That burst is what the period is chosen
// for: every second it showed in the latency shape's p99 (1.4-1.7 ms against
// 0.6-0.9 ms without, three A/B runs of 3 to 6 rounds), while the peak it
// lowers is reached whenever a new phase's code comes in on top of the old
// one's, which a release every few seconds catches as well as one every
// second does.
const TrimEvery = 3 * time.Second

// Trimmer calls Release every period until Stop: a timer re-armed after each
// call, so no goroutine waits between them.
type Trimmer struct {
	clock   clock.Clock
	every   time.Duration
	release func() (int64, error)

	mu      sync.Mutex
	timer   clock.Timer
	stopped bool
}

// StartTrimmer starts calling Release every period of clk. An error of a
// Release leaves pages resident, which is all it can cost: the trimmer goes
// on.
func StartTrimmer(clk clock.Clock, every time.Duration) *Trimmer {
	return startTrimmer(clk, every, Release)
}

// startTrimmer is StartTrimmer with the release to call (tests count them).
func startTrimmer(clk clock.Clock, every time.Duration, release func() (int64, error)) *Trimmer {
	t := &Trimmer{clock: clk, every: every, release: release}
	t.mu.Lock()
	t.timer = clk.AfterFunc(every, t.fire)
	t.mu.Unlock()
	return t
}

func (t *Trimmer) fire() {
	t.mu.Lock()
	stopped := t.stopped
	t.mu.Unlock()
	if stopped {
		return
	}
	_, _ = t.release()
	t.mu.Lock()
	defer t.mu.Unlock()
	if !t.stopped {
		t.timer = t.clock.AfterFunc(t.every, t.fire)
	}
}

// Stop ends the calls; a Release under way when it is called completes.
func (t *Trimmer) Stop() {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.stopped = true
	t.timer.Stop()
}
