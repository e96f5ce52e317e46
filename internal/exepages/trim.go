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
// requeue; a departing consumer runs the requeue to disk; each leaves every
// page it faulted (and the fault-around pages beside it) mapped for as long as
// the process lives. Measured in bench/compare.sh's disk shape (README,
// "Peak RSS"), the executable's resident pages were 7.3 MB from the end of
// publishing on, of which the consume phase used about 1 MB in any one
// second: with the pages dropped every second they stay between 4 and 5 MB.
//
// What it costs. One Release reads /proc/self/smaps and makes one madvise
// call per read-only mapping of the executable, about 1 ms of CPU
// (BenchmarkRelease); what runs afterwards faults its pages back in, 64 KB
// per fault from the page cache, about a hundred faults for the working set
// of a busy second. Both are in the background of one second: about 0.1% of
// a core. A second is short enough that code which ran only for a phase
// (publishing, start-up, an idle spell's housekeeping) is gone soon after
// it, and long enough that the working set is faulted in far less often than
// it is run.
const TrimEvery = time.Second

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
