package nsqd

import (
	"bytes"
	"fmt"
	"runtime"
	"runtime/pprof"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/nsqgo/nsq/internal/diskqueue"
)

// stallStateTimeout bounds the read of the daemon's state in dumpStall: the
// state is read under the daemon's own locks, and a stall may be one of
// them held.
const stallStateTimeout = 2 * time.Second

// dumpStall logs, for a test that waited in vain for a frame (helpers_test.go,
// testConn.readFrame), every goroutine of the process with its stack and
// the state of n's topics, channels and consumers: enough to tell a daemon
// that is slow (a goroutine in a disk write or fsync, messages on their way)
// from one that lost a wake-up (a consumer with credit parked while its
// channel holds ready messages).
func dumpStall(t testing.TB, n *NSQD) {
	t.Helper()
	var stacks bytes.Buffer
	if err := pprof.Lookup("goroutine").WriteTo(&stacks, 2); err != nil {
		fmt.Fprintf(&stacks, "goroutine profile: %s\n", err)
	}
	t.Logf("no frame within the deadline; goroutines at %s:\n%s", time.Now().Format(time.RFC3339Nano), stacks.String())

	// Read in a goroutine of its own: if a lock is held for good, the
	// test still fails (and says so) instead of hanging here. The
	// goroutine logs nothing itself, as it may outlive the test.
	state := make(chan string, 1)
	go func() { state <- daemonState(n) }()
	select {
	case s := <-state:
		t.Logf("daemon state:\n%s", s)
	case <-time.After(stallStateTimeout):
		t.Logf("daemon state: not readable within %s: one of its locks is held (see the goroutines above)", stallStateTimeout)
	}
}

// daemonState describes every topic, channel and consumer of n: where the
// messages are (memory, disk backlog with its read and write positions,
// deferred, in flight) and what each consumer's pump waits for.
func daemonState(n *NSQD) string {
	var b strings.Builder
	for _, t := range n.Topics() {
		t.mu.RLock()
		paused, starting, draining, drainAgain := t.paused, t.starting, t.draining, t.drainAgain
		t.mu.RUnlock()
		fmt.Fprintf(&b, "topic %s: paused=%t starting=%t draining=%t drainAgain=%t held memory=%d backlog %s\n",
			t.name, paused, starting, draining, drainAgain, t.held.MemoryLen(), diskState(t.held.DiskStats()))
		for _, c := range t.Channels() {
			channelState(&b, c)
		}
	}
	return b.String()
}

// channelState describes a channel and its consumers. Client fields other
// than waiting and readingBacklog (which c.mu guards) are atomics, read
// after c.mu is released, as Channel.stats does.
func channelState(b *strings.Builder, c *Channel) {
	type consumer struct {
		cl                      *client
		waiting, readingBacklog bool
	}
	c.mu.Lock()
	ready, deferred := c.queue.ReadyInMemory(), c.queue.DeferredCount()
	paused, exiting := c.paused, c.exiting
	waitArmed := c.readyWait != nil
	claimed, deferAt := c.backlogClaimed, c.deferAt
	consumers := make([]consumer, 0, len(c.clients))
	for _, cl := range sortClients(c.clientListLocked()) {
		consumers = append(consumers, consumer{cl, cl.waiting, cl.readingBacklog})
	}
	c.mu.Unlock()
	backlog, store := c.queue.DiskStats()
	fmt.Fprintf(b, "  channel %s: ready in memory=%d deferred=%d in flight=%d paused=%t exiting=%t readyWait armed=%t backlogClaimed=%d deferAt=%d\n",
		c.name, ready, deferred, c.inFlightCount.Load(), paused, exiting, waitArmed, claimed, deferAt)
	fmt.Fprintf(b, "    backlog %s\n    deferred store %s\n", diskState(backlog), diskState(store))
	for _, s := range consumers {
		cl := s.cl
		fmt.Fprintf(b, "    client %d (%s): state=%d RDY=%d in flight=%d credit=%d awaitingCredit=%t wake pending=%t waiting=%t readingBacklog=%t delivered=%d finished=%d requeued=%d\n",
			cl.id, cl.remoteAddr, cl.state.Load(), cl.readyCount.Load(), cl.inFlight.count.Load(), cl.credit(),
			cl.awaitingCredit.Load(), len(cl.wake) > 0, s.waiting, s.readingBacklog,
			cl.messageCount.Load(), cl.finishCount.Load(), cl.requeueCount.Load())
	}
}

// diskState describes a disk queue's counters and positions.
func diskState(s diskqueue.Stats) string {
	return fmt.Sprintf("depth=%d unacked=%d read=%d:%d write=%d:%d syncs=%d health=%v",
		s.Depth, s.Unacked, s.ReadFile, s.ReadPos, s.WriteFile, s.WritePos, s.Syncs, s.Health)
}

// A consumer parked with credit on an empty channel is described as such:
// its RDY, credit and waiting, the channel's armed wake-up and its backlog.
func TestStallDumpDescribesParkedConsumer(t *testing.T) {
	n := startDaemon(t, func(o *Options) { o.MemQueueSize = 0 })
	w := watchPumps(t, n)
	consumer := dialV2(t, n)
	consumer.subscribe("dumped", "ch")
	cl := clientOf(t, n, consumer)
	consumer.send("RDY 3")
	// The state is read again after each park of a pump until it shows the
	// consumer parked with its credit: under load the pump may park once
	// more at RDY 0 (a wake-up from SUB) before the RDY is applied, so the
	// first park after the RDY was sent is not necessarily the one that
	// saw it.
	wants := []string{
		"topic dumped: paused=false starting=false",
		"channel ch: ready in memory=0 deferred=0 in flight=0",
		"readyWait armed=true",
		"backlog depth=0 unacked=0",
		fmt.Sprintf("client %d (%s): state=%d RDY=3 in flight=0 credit=3", cl.id, cl.remoteAddr, stateSubscribed),
		"waiting=true readingBacklog=false",
	}
	bound := time.NewTimer(10 * time.Second)
	defer bound.Stop()
	for {
		w.mu.Lock()
		changed := w.changed // taken before the read: a park after it closes it
		w.mu.Unlock()
		state := daemonState(n)
		missing := ""
		for _, want := range wants {
			if !strings.Contains(state, want) {
				missing = want
				break
			}
		}
		if missing == "" {
			return
		}
		select {
		case <-changed:
		case <-bound.C:
			t.Fatalf("the state lacks %q:\n%s", missing, state)
		}
	}
}

// stallRecorder is a testing.TB that keeps what a helper logs and ends the
// helper's goroutine where the test would have failed.
type stallRecorder struct {
	testing.TB
	mu     sync.Mutex
	logs   []string
	failed bool
}

func (r *stallRecorder) Helper() {}

func (r *stallRecorder) Logf(format string, args ...any) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.logs = append(r.logs, fmt.Sprintf(format, args...))
}

func (r *stallRecorder) Errorf(format string, args ...any) {
	r.mu.Lock()
	r.failed = true
	r.mu.Unlock()
	r.Logf(format, args...)
}

func (r *stallRecorder) FailNow() {
	r.mu.Lock()
	r.failed = true
	r.mu.Unlock()
	runtime.Goexit()
}

// A frame that does not come within readFrame's deadline fails the read as
// before, after logging the goroutines (the daemon's pump among them) and
// the daemon's state.
func TestReadFrameTimeoutDumpsDaemon(t *testing.T) {
	n := startDaemon(t, nil)
	consumer := dialV2(t, n)
	consumer.subscribe("silent", "ch")
	consumer.send("RDY 1")
	waitFor(t, "the consumer's RDY 1", func() bool {
		clients := n.clientList()
		return len(clients) == 1 && clients[0].readyCount.Load() == 1
	})
	rec := &stallRecorder{TB: t}
	consumer.t = rec
	done := make(chan struct{})
	go func() {
		defer close(done)
		// Nothing is published: it times out. The wait is short (the
		// dump is what is tested, not the default bound).
		consumer.readFrameWithin(50 * time.Millisecond)
		t.Error("readFrame returned without a frame")
	}()
	select {
	case <-done:
	case <-time.After(30 * time.Second):
		t.Fatal("readFrame did not give up")
	}
	rec.mu.Lock()
	defer rec.mu.Unlock()
	if !rec.failed {
		t.Fatal("the timed-out read did not fail the test")
	}
	all := strings.Join(rec.logs, "\n")
	for _, want := range []string{"no frame within the deadline; goroutines", "(*client).pump", "daemon state:", "channel ch:", "RDY=1"} {
		if !strings.Contains(all, want) {
			t.Errorf("the log lacks %q", want)
		}
	}
}
