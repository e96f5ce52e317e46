package nsqd

import (
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"testing"
	"time"

	"github.com/nsqgo/nsq/internal/protocol"
	"github.com/nsqgo/nsq/nsqd/queue"
	"github.com/stretchr/testify/require"
)

// The hand-over of what a topic holds to its channels (topic.go's
// releaseHeldLocked and drain): a consumer gets every held message intact,
// whether it was held in memory or on disk, whatever part of it the
// channel keeps in memory or writes to its own disk.

// heldNow is what the topic holds, in hand-over order, with everything the
// topic stamped on it (peekHeld reads memory, then the disk backlog).
func heldNow(t *testing.T, topic *Topic) []Message {
	t.Helper()
	held, err := topic.peekHeld(1 << 20)
	require.NoError(t, err)
	require.EqualValues(t, topic.Depth(), len(held))
	return held
}

// consume subscribes to topic/channel with RDY count and reads count
// messages.
func consume(t *testing.T, n *NSQD, topic, channel string, count int) []protocol.DecodedMessage {
	t.Helper()
	c := dialV2(t, n)
	c.subscribe(topic, channel)
	c.send(fmt.Sprintf("RDY %d", count))
	return c.readMessages(count)
}

// requireIntact checks that got is want as delivered for the first time:
// same IDs, bodies and timestamps, one more attempt; in want's order when
// ordered (one part of the channel's queue), else as a set (the channel
// alternates its memory and its disk, as upstream does).
func requireIntact(t *testing.T, want []Message, got []protocol.DecodedMessage, ordered bool) {
	t.Helper()
	require.Len(t, got, len(want))
	byID := make(map[protocol.MessageID]Message, len(want))
	for _, m := range want {
		byID[m.ID] = m
	}
	require.Len(t, byID, len(want), "IDs are unique")
	for i, g := range got {
		w, ok := byID[g.ID]
		require.True(t, ok, "message %d: unknown ID %s", i, g.ID[:])
		delete(byID, g.ID)
		if ordered {
			require.Equal(t, want[i].ID, g.ID, "message %d out of order", i)
		}
		require.Equal(t, string(w.Body), string(g.Body), "message %d", i)
		require.Equal(t, w.Timestamp, g.Timestamp, "message %d", i)
		require.Equal(t, w.Attempts+1, g.Attempts, "message %d", i)
	}
}

// holdBatches publishes numbered bodies in batches of the given sizes.
func holdBatches(t *testing.T, topic *Topic, prefix string, sizes ...int) int {
	t.Helper()
	total := 0
	for _, size := range sizes {
		require.NoError(t, topic.PutMessages(messagesOf(numbered(fmt.Sprintf("%s%d-", prefix, total), size)...)))
		total += size
	}
	return total
}

// A topic that holds everything in memory hands it to the first channel in
// order, and counts none of it afterwards.
func TestSubGetsHeldMemoryInOrder(t *testing.T) {
	n := startDaemon(t, memBound(10_000))
	topic, err := n.GetTopic("t")
	require.NoError(t, err)
	total := holdBatches(t, topic, "m", 100, 1, 250, 7)
	require.Zero(t, topic.BackendDepth())
	want := heldNow(t, topic)

	got := consume(t, n, "t", "c", total)
	requireIntact(t, want, got, true)
	require.Zero(t, topic.Depth())
	require.Zero(t, topic.bound.bytes.Load(), "the topic's byte count is released")
	ch := existingChannel(t, n, "t", "c")
	require.EqualValues(t, total, ch.messageCount.Load())
	require.Zero(t, ch.Depth())
}

// A topic that holds everything on disk (--mem-queue-size=0) hands it to
// the channel's disk, in order.
func TestSubGetsHeldDiskInOrder(t *testing.T) {
	n := startDaemon(t, memBound(0))
	topic, err := n.GetTopic("t")
	require.NoError(t, err)
	total := holdBatches(t, topic, "d", 3*maxDeliveryBatch+5, 1, 40)
	require.EqualValues(t, total, topic.BackendDepth())
	want := heldNow(t, topic)

	got := consume(t, n, "t", "c", total)
	requireIntact(t, want, got, true)
	waitFor(t, "the drain to end", func() bool { return topic.Depth() == 0 })
	require.Zero(t, topic.bound.bytes.Load())
	ch := existingChannel(t, n, "t", "c")
	require.EqualValues(t, total, ch.messageCount.Load())
}

// Held in memory and on disk, more than the channel keeps in memory: the
// memory part fills the channel's memory, the disk part goes to the
// channel's disk, and every message arrives once.
func TestSubGetsHeldMemoryAndDisk(t *testing.T) {
	n := startDaemon(t, memBound(100))
	topic, err := n.GetTopic("t")
	require.NoError(t, err)
	total := holdBatches(t, topic, "x", 60, 60, 300, 2*maxDeliveryBatch)
	require.EqualValues(t, 100, topic.held.MemoryLen())
	want := heldNow(t, topic)

	got := consume(t, n, "t", "c", total)
	requireIntact(t, want, got, false)
	waitFor(t, "the drain to end", func() bool { return topic.Depth() == 0 })
	require.Zero(t, topic.bound.bytes.Load())
}

// A paused topic with a bound, two channels whose memory is partly full:
// Unpause hands the held memory to both, each keeping what fits in memory
// and writing the rest to its own disk; each consumer gets its channel's
// messages and every held one, intact.
func TestUnpauseHandsHeldMemoryToEveryChannelPastTheirMemory(t *testing.T) {
	n := startDaemon(t, memBound(300))
	adminPost(t, n, "/topic/create?topic=t")
	postOK(t, n, "/topic/config?topic=t&max_depth=100000&overflow=reject-new")
	topic, err := n.GetTopic("t")
	require.NoError(t, err)
	for _, name := range []string{"a", "b"} {
		_, err := topic.GetChannel(name)
		require.NoError(t, err)
	}
	holdBatches(t, topic, "before", 200)
	// The channels' copies of the fan-out are what the held ones follow.
	first := existingChannel(t, n, "t", "a")
	first.mu.Lock()
	before := first.queue.Peek(nil, queue.Ready, 200)
	first.mu.Unlock()
	require.Len(t, before, 200)
	topic.Pause()
	holdBatches(t, topic, "held", 120, 130)
	require.EqualValues(t, 250, topic.held.MemoryLen())
	held := heldNow(t, topic)
	require.Positive(t, topic.bound.bytes.Load())

	topic.Unpause()
	require.Zero(t, topic.Depth())
	require.Zero(t, topic.bound.bytes.Load(), "the topic's byte count is released")
	want := append(before, held...)
	for _, name := range []string{"a", "b"} {
		ch := existingChannel(t, n, "t", name)
		require.EqualValues(t, 300, ch.queue.ReadyInMemory(), "channel %s: memory full", name)
		require.EqualValues(t, 150, ch.queue.BacklogDepth(), "channel %s: the rest on disk", name)
		got := consume(t, n, "t", name, len(want))
		requireIntact(t, want, got, false)
		require.EqualValues(t, len(want), ch.messageCount.Load())
	}
}

// A deferred message held by the topic stays deferred in the channel until
// its time, with its publish time; the others are delivered at once, in
// order.
func TestSubKeepsAHeldMessagesDeferral(t *testing.T) {
	for _, mem := range []int64{10_000, 0} {
		t.Run(fmt.Sprintf("mem=%d", mem), func(t *testing.T) {
			n, fake := startClockedDaemon(t, memBound(mem))
			topic, err := n.GetTopic("t")
			require.NoError(t, err)
			holdBatches(t, topic, "a", 3)
			require.NoError(t, topic.PutDeferred(messagesOf("later"), 100*time.Millisecond))
			holdBatches(t, topic, "b", 2)
			held := heldNow(t, topic)
			require.Len(t, held, 6)
			deferred := held[3]
			require.Equal(t, "later", string(deferred.Body))
			due := time.Unix(0, deferred.DeliverAt)
			require.Equal(t, deferred.Timestamp+int64(100*time.Millisecond), deferred.DeliverAt)
			now := append(append([]Message{}, held[:3]...), held[4:]...)

			c := dialV2(t, n)
			c.subscribe("t", "c")
			c.send("RDY 10")
			requireIntact(t, now, c.readMessages(5), true)
			expectDeferredUntil(t, n, fake, c, "t", "c", due)
			requireIntact(t, []Message{deferred}, c.readMessages(1), true)
		})
	}
}

// The drain moves the topic's disk backlog to a channel that keeps nothing
// in memory as the records were read: no message is decoded, copied and
// encoded again on the way, and the read memory is reused, so the drain
// allocates next to nothing per message (before, about 300 bytes: a read
// buffer, the decoded messages and the channel's Pending).
func TestDiskDrainAllocatesNoCopyPerMessage(t *testing.T) {
	const held = 20_000
	n := startDaemon(t, memBound(0))
	topic, err := n.GetTopic("t")
	require.NoError(t, err)
	putHeldBodies(t, topic, held)
	require.EqualValues(t, held, topic.BackendDepth())
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	ch, err := topic.GetChannel("c")
	require.NoError(t, err)
	waitFor(t, "the drain to end", func() bool {
		topic.mu.RLock()
		defer topic.mu.RUnlock()
		return !topic.draining && topic.Depth() == 0
	})
	runtime.ReadMemStats(&after)
	require.EqualValues(t, held, ch.Depth())
	require.EqualValues(t, held, ch.queue.BacklogDepth(), "all of it on the channel's disk")
	perMessage := float64(after.TotalAlloc-before.TotalAlloc) / held
	t.Logf("%.1f bytes allocated a message", perMessage)
	require.Less(t, perMessage, 40.0, "bytes allocated a message drained")
}

// A channel whose disk refuses the records the drain moves keeps the
// messages in memory and delivers them; the topic keeps its records of
// them (a crash delivers them again rather than losing them).
func TestDrainRefusedByTheChannelsDiskKeepsTheTopicsRecords(t *testing.T) {
	n := startDaemon(t, memBound(0))
	topic, err := n.GetTopic("t")
	require.NoError(t, err)
	ch, err := topic.GetChannel("c")
	require.NoError(t, err)
	topic.Pause()
	total := holdBatches(t, topic, "r", maxDeliveryBatch+10)
	want := heldNow(t, topic)
	breakChannelDisk(t, ch)

	topic.Unpause()
	waitFor(t, "the drain to end", func() bool {
		topic.mu.RLock()
		defer topic.mu.RUnlock()
		return !topic.draining && topic.held.BacklogDepth() == 0
	})
	require.EqualValues(t, total, ch.queue.ReadyInMemory(), "the channel holds them in memory")
	require.EqualValues(t, total, topic.held.DiskStats().Unacked, "the topic keeps its records")
	requireIntact(t, want, consume(t, n, "t", "c", total), true)
}

// A topic backlog left by upstream nsqd (records in upstream's layout) is
// drained through a channel that keeps nothing in memory: the records are
// encoded anew in ours, and every message is delivered intact.
func TestUpstreamTopicBacklogDrainedThroughDisk(t *testing.T) {
	dir := t.TempDir()
	md := `{"topics":[{"name":"orders","paused":false,"channels":[]}],"version":"1.3.0"}`
	require.NoError(t, os.WriteFile(filepath.Join(dir, metadataFile), []byte(md), 0o600))
	onTopic := numbered("held", 300)
	writeUpstreamQueue(t, dir, "orders", 2000, onTopic)
	n := startDaemon(t, func(o *Options) { o.DataPath = dir; o.MemQueueSize = 0 })
	topic, err := n.GetExistingTopic("orders")
	require.NoError(t, err)
	want := heldNow(t, topic)
	require.Len(t, want, len(onTopic))
	requireIntact(t, want, consume(t, n, "orders", "billing", len(want)), true)
}

// The SUB that creates a topic's first channel hands the held memory over
// without copying it: the channel points at the held records, so the
// hand-over allocates about a pointer a message (before, over 500 bytes:
// a slice of every held message grown from nil, and the channel's own
// copies).
func TestSubHandsHeldMemoryOverWithoutACopy(t *testing.T) {
	const held = 50_000
	n := startDaemon(t, memBound(1_000_000))
	topic, err := n.GetTopic("t")
	require.NoError(t, err)
	putHeldBodies(t, topic, held)
	require.EqualValues(t, held, topic.held.MemoryLen())
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	ch, err := topic.GetChannel("c")
	require.NoError(t, err)
	runtime.ReadMemStats(&after)
	require.Zero(t, topic.Depth())
	require.EqualValues(t, held, ch.queue.ReadyInMemory())
	perMessage := float64(after.TotalAlloc-before.TotalAlloc) / held
	t.Logf("%.1f bytes allocated a message", perMessage)
	require.Less(t, perMessage, 40.0, "bytes allocated a message handed over")
}

// putHeldBodies puts count 200-byte messages (a multiple of 200) into a
// topic with no channel, 200 at a time, for it to hold.
func putHeldBodies(t *testing.T, topic *Topic, count int) {
	t.Helper()
	body := make([]byte, 200)
	msgs := make([]Message, 200)
	for range count / len(msgs) {
		for k := range msgs {
			msgs[k] = Message{Body: body}
		}
		require.NoError(t, topic.PutMessages(msgs))
	}
}
