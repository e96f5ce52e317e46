package nsqd

import (
	"sync"
	"testing"
	"time"

	"github.com/nsqgo/nsq/internal/diskqueue"
	"github.com/nsqgo/nsq/nsqd/queue"
	"github.com/stretchr/testify/require"
)

// gatedBackend holds a topic's disk reads (or writes) until release is
// closed; entered receives when a held call starts.
type gatedBackend struct {
	queue.Disk
	gateReads, gatePuts bool
	entered             chan struct{}
	release             chan struct{}
	once                sync.Once
}

// newGatedBackend gates reads or puts (or both); open lets them through,
// and runs at the end of the test at the latest, so that a failed test
// does not leave the daemon's shutdown waiting on the gate.
func newGatedBackend(t *testing.T, reads, puts bool) *gatedBackend {
	g := &gatedBackend{gateReads: reads, gatePuts: puts,
		entered: make(chan struct{}, 1), release: make(chan struct{})}
	t.Cleanup(g.open)
	return g
}

func (g *gatedBackend) open() {
	g.once.Do(func() { close(g.release) })
}

func (g *gatedBackend) hold() {
	select {
	case g.entered <- struct{}{}:
	default:
	}
	<-g.release
}

func (g *gatedBackend) Read(max int) ([]diskqueue.Record, error) {
	if g.gateReads {
		g.hold()
	}
	return g.Disk.Read(max)
}

func (g *gatedBackend) Put(records [][]byte) (uint64, error) {
	if g.gatePuts {
		g.hold()
	}
	return g.Disk.Put(records)
}

// awaitSignal fails the test when ch does not deliver within a bound that
// only a deadlock exceeds.
func awaitSignal[T any](t *testing.T, ch <-chan T, what string) T {
	t.Helper()
	select {
	case v := <-ch:
		return v
	case <-time.After(10 * time.Second):
		t.Fatalf("%s: still waiting after 10s", what)
		var zero T
		return zero
	}
}

// within runs f in a goroutine and returns its result, failing the test if
// it does not finish within a bound that only a deadlock exceeds.
func within[T any](t *testing.T, what string, f func() T) T {
	t.Helper()
	done := make(chan T, 1)
	go func() { done <- f() }()
	return awaitSignal(t, done, what)
}

func memBound(size int64) func(*Options) {
	return func(o *Options) { o.MemQueueSize = size }
}

// A publisher of a topic whose disk backlog is being read does not wait for
// the read: the drain reads with the topic lock released.
func TestPublisherDoesNotWaitForTheTopicsDiskRead(t *testing.T) {
	n := startDaemon(t, memBound(2))
	topic, err := n.GetTopic("t")
	require.NoError(t, err)
	require.NoError(t, topic.PutMessages(messagesOf(numbered("held", 10)...)))
	require.EqualValues(t, 8, topic.BackendDepth())
	gate := newGatedBackend(t, true, false)
	swapTopicBackend(topic, func(q queue.Disk) queue.Disk { gate.Disk = q; return gate })

	ch, err := topic.GetChannel("c") // starts the drain
	require.NoError(t, err)
	awaitSignal(t, gate.entered, "the drain's read")

	require.NoError(t, within(t, "a publish while the drain reads", func() error {
		return topic.PutMessages(messagesOf("new"))
	}))
	require.EqualValues(t, 8, within(t, "Depth while the drain reads", topic.Depth),
		"the backlog is still on disk")

	gate.open()
	waitFor(t, "the hand-off", func() bool { return ch.Depth() == 11 })
	require.Zero(t, topic.Depth())
}

// Pause does not land inside a drain step: once it returns, no more of the
// disk backlog reaches the channel, and Unpause hands over the rest.
func TestPauseStopsTheDrainBetweenBatches(t *testing.T) {
	n := startDaemon(t, memBound(0))
	topic, err := n.GetTopic("t")
	require.NoError(t, err)
	const total = 3 * maxDeliveryBatch
	require.NoError(t, topic.PutMessages(messagesOf(numbered("m", total)...)))
	gate := newGatedBackend(t, true, false)
	swapTopicBackend(topic, func(q queue.Disk) queue.Disk { gate.Disk = q; return gate })
	ch, err := topic.GetChannel("c")
	require.NoError(t, err)
	awaitSignal(t, gate.entered, "the drain's read")

	paused := make(chan struct{})
	go func() { topic.Pause(); close(paused) }()
	gate.open()
	awaitSignal(t, paused, "Pause")
	topic.drainers.Wait() // the drain ends: the topic no longer distributes
	handed := ch.Depth()
	require.Positive(t, handed, "the batch read before Pause is handed over")
	require.EqualValues(t, total, handed+topic.Depth(), "every message is on the channel or the topic")

	topic.Unpause()
	waitFor(t, "the rest of the backlog", func() bool { return ch.Depth() == total })
	require.Zero(t, topic.Depth())
}

// A held batch's disk write runs with the topic lock released: the topic
// can resume meanwhile, and the batch is then handed over when its write
// ends, memory part and disk part, none of it stranded.
func TestHeldBatchWrittenWhileTheTopicResumesIsHandedOver(t *testing.T) {
	n := startDaemon(t, memBound(2))
	topic, err := n.GetTopic("t")
	require.NoError(t, err)
	ch, err := topic.GetChannel("c")
	require.NoError(t, err)
	topic.Pause()
	gate := newGatedBackend(t, false, true)
	swapTopicBackend(topic, func(q queue.Disk) queue.Disk { gate.Disk = q; return gate })

	published := make(chan error, 1)
	go func() { published <- topic.PutMessages(messagesOf(numbered("m", 5)...)) }()
	awaitSignal(t, gate.entered, "the held batch's write")

	// None of these waits for the write.
	require.Zero(t, within(t, "Depth during a held write", topic.Depth),
		"the batch is not accepted before its write ends")
	require.True(t, within(t, "IsPaused during a held write", topic.IsPaused))
	within(t, "Unpause during a held write", func() bool { topic.Unpause(); return true })
	require.NoError(t, within(t, "a new channel during a held write", func() error {
		_, err := topic.GetChannel("other")
		return err
	}))

	gate.open()
	require.NoError(t, awaitSignal(t, published, "the held publish"))
	topic.drainers.Wait()
	require.EqualValues(t, 5, ch.Depth(), "memory part and disk part reach the channel")
	require.Zero(t, topic.Depth())
}

// Close waits for a publisher writing a held batch, and keeps what that
// publisher was told was accepted: a restart finds the whole batch.
func TestCloseKeepsAHeldBatchWrittenDuringShutdown(t *testing.T) {
	dir := t.TempDir()
	n := startDaemon(t, func(o *Options) { o.MemQueueSize = 2; o.DataPath = dir })
	topic, err := n.GetTopic("t")
	require.NoError(t, err)
	gate := newGatedBackend(t, false, true)
	swapTopicBackend(topic, func(q queue.Disk) queue.Disk { gate.Disk = q; return gate })

	published := make(chan error, 1)
	go func() { published <- topic.PutMessages(messagesOf(numbered("m", 5)...)) }()
	awaitSignal(t, gate.entered, "the held batch's write")
	exited := make(chan struct{})
	go func() { n.Exit(); close(exited) }()
	gate.open()
	require.NoError(t, awaitSignal(t, published, "the held publish"))
	awaitSignal(t, exited, "Exit")

	n2 := startDaemon(t, func(o *Options) { o.MemQueueSize = 2; o.DataPath = dir })
	again, err := n2.GetExistingTopic("t")
	require.NoError(t, err)
	require.EqualValues(t, 5, again.Depth(), "memory part flushed, disk part kept")
}

// Empty takes the topic's disk part away whole: a batch the drain read
// before it is handed over before Empty returns, never after.
func TestEmptyDuringADrainLeavesNothingBehind(t *testing.T) {
	n := startDaemon(t, memBound(0))
	topic, err := n.GetTopic("t")
	require.NoError(t, err)
	const total = 3 * maxDeliveryBatch
	require.NoError(t, topic.PutMessages(messagesOf(numbered("m", total)...)))
	gate := newGatedBackend(t, true, false)
	swapTopicBackend(topic, func(q queue.Disk) queue.Disk { gate.Disk = q; return gate })
	ch, err := topic.GetChannel("c")
	require.NoError(t, err)
	awaitSignal(t, gate.entered, "the drain's read")

	emptied := make(chan error, 1)
	go func() { emptied <- topic.Empty() }()
	gate.open()
	require.NoError(t, awaitSignal(t, emptied, "Empty"))
	handed := ch.Depth()
	topic.drainers.Wait()
	require.Zero(t, topic.Depth())
	require.Equal(t, handed, ch.Depth(), "nothing reaches the channel after Empty returned")
	require.LessOrEqual(t, handed, int64(total))
}

// A held batch whose disk part was written before the topic was emptied,
// and which settles after, is emptied whole: its memory part is not held
// afterwards (nor its records kept). One published after the Empty is kept
// whole.
func TestTopicEmptyDuringAHeldWriteEmptiesItWhole(t *testing.T) {
	n := startDaemon(t, memBound(2))
	topic, err := n.GetTopic("t")
	require.NoError(t, err)
	gate := newGatedBackend(t, false, true)
	swapTopicBackend(topic, func(q queue.Disk) queue.Disk { gate.Disk = q; return gate })

	published := make(chan error, 1)
	go func() { published <- topic.PutMessages(messagesOf(numbered("m", 5)...)) }()
	awaitSignal(t, gate.entered, "the held batch's write")
	// The write goes through, then its Settle waits for the topic lock
	// held here, while the topic is emptied.
	topic.mu.Lock()
	gate.open()
	waitFor(t, "the held batch's records", func() bool { return topic.BackendDepth() == 3 })
	require.NoError(t, within(t, "Empty while a held batch settles", topic.Empty))
	topic.mu.Unlock()
	require.NoError(t, awaitSignal(t, published, "the publish"))
	require.Zero(t, topic.Depth(), "neither the batch's memory part nor its records are left")

	require.NoError(t, topic.PutMessages(messagesOf(numbered("n", 5)...)))
	require.EqualValues(t, 5, topic.Depth(), "a batch after the Empty is kept whole")
	require.EqualValues(t, 3, topic.BackendDepth())
}

// countingGate holds every disk write of a topic until released, counting
// those that reached the disk queue.
type countingGate struct {
	queue.Disk
	mu      sync.Mutex
	entered int
	release chan struct{}
}

func (g *countingGate) Put(records [][]byte) (uint64, error) {
	g.mu.Lock()
	g.entered++
	g.mu.Unlock()
	<-g.release
	return g.Disk.Put(records)
}

func (g *countingGate) count() int {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.entered
}

// Publishers of one topic whose held batches overflow its memory write at
// the same time (sharing the disk queue's group commit): none waits for
// another's write.
func TestHeldWritesOfOneTopicDoNotWaitForEachOther(t *testing.T) {
	n := startDaemon(t, memBound(1))
	topic, err := n.GetTopic("t")
	require.NoError(t, err)
	gate := &countingGate{release: make(chan struct{})}
	swapTopicBackend(topic, func(q queue.Disk) queue.Disk { gate.Disk = q; return gate })
	released := false
	defer func() {
		if !released {
			close(gate.release)
		}
	}()

	const publishers = 3
	done := make(chan error, publishers)
	for i := 0; i < publishers; i++ {
		go func() { done <- topic.PutMessages(messagesOf(numbered("m", 4)...)) }()
	}
	waitFor(t, "every publisher's write to reach the disk", func() bool { return gate.count() == publishers })
	close(gate.release)
	released = true
	for i := 0; i < publishers; i++ {
		require.NoError(t, awaitSignal(t, done, "a publisher"))
	}
	require.EqualValues(t, publishers*4, topic.Depth())
	require.EqualValues(t, publishers*4-1, topic.BackendDepth(), "one message fits in memory")
}
