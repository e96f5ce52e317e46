package nsqd

import (
	"sync"
	"testing"
	"time"
)

// pumpWatch follows the pumps' passes (pump.go's pumpHooks), so a test can
// show that a consumer was not given something (a paused channel's
// messages) by an event instead of a window of real time: once a pass that
// began after the test's action has ended with the pump waiting, the pump
// has looked and delivered nothing.
type pumpWatch struct {
	mu      sync.Mutex
	changed chan struct{} // closed and replaced on every park
	epoch   int           // advanced by mark
	// passEpoch is the epoch at the start of each client's current pass;
	// parkedAt the epoch of the pass each client last parked after.
	passEpoch map[*client]int
	parkedAt  map[*client]int
}

// watchPumps installs the hooks on n until the test ends.
func watchPumps(t testing.TB, n *NSQD) *pumpWatch {
	w := &pumpWatch{changed: make(chan struct{}), passEpoch: map[*client]int{}, parkedAt: map[*client]int{}}
	n.pumpHooks.Store(&pumpHooks{pass: w.pass, park: w.park})
	t.Cleanup(func() { n.pumpHooks.Store(nil) })
	return w
}

func (w *pumpWatch) pass(c *client) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.passEpoch[c] = w.epoch
}

func (w *pumpWatch) park(c *client) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.parkedAt[c] = w.passEpoch[c]
	close(w.changed)
	w.changed = make(chan struct{})
}

// mark starts a new epoch: passes that begin after it see everything the
// test did before it.
func (w *pumpWatch) mark() int {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.epoch++
	return w.epoch
}

// awaitParkedSince waits until cl's pump has ended a pass begun in epoch
// (or later) waiting: that pass delivered nothing more. Something must
// wake the pump after mark (a RDY does).
func (w *pumpWatch) awaitParkedSince(t testing.TB, cl *client, epoch int) {
	t.Helper()
	bound := time.NewTimer(10 * time.Second)
	defer bound.Stop()
	for {
		w.mu.Lock()
		done := w.parkedAt[cl] >= epoch
		changed := w.changed
		w.mu.Unlock()
		if done {
			return
		}
		select {
		case <-changed:
		case <-bound.C:
			t.Fatalf("the pump of %s did not look at its channel again", cl.remoteAddr)
		}
	}
}

// expectPumpDeliversNothing shows that c's consumer is given nothing now:
// after everything the test did so far, c's pump is woken (by a RDY of
// rdy, the consumer's count) and the pass that follows ends with nothing
// delivered and nothing in flight.
func expectPumpDeliversNothing(t testing.TB, n *NSQD, w *pumpWatch, c *testConn, rdy string) {
	t.Helper()
	expectPumpDeliversNoMore(t, n, w, c, rdy, 0)
}

// expectPumpDeliversNoMore is expectPumpDeliversNothing for a consumer
// that holds inFlight messages: after its pump's next pass it holds no
// more.
func expectPumpDeliversNoMore(t testing.TB, n *NSQD, w *pumpWatch, c *testConn, rdy string, inFlight int64) {
	t.Helper()
	cl := clientOf(t, n, c)
	epoch := w.mark()
	c.send("RDY " + rdy)
	w.awaitParkedSince(t, cl, epoch)
	if held := cl.inFlight.count.Load(); held != inFlight {
		t.Fatalf("the consumer holds %d message(s) in flight, want %d", held, inFlight)
	}
}
