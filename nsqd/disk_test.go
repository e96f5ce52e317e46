package nsqd

import (
	"encoding/binary"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/nsqgo/nsq/internal/protocol"
	"github.com/stretchr/testify/require"
)

// drainBodies subscribes and reads count messages, FINing each.
func drainBodies(t *testing.T, n *NSQD, topic, channel string, count int) []string {
	t.Helper()
	c := dialV2(t, n)
	c.subscribe(topic, channel)
	c.send("RDY 100")
	bodies := make([]string, 0, count)
	for _, m := range c.readMessages(count) {
		bodies = append(bodies, string(m.Body))
		c.fin(m.ID)
	}
	return bodies
}

func TestZeroMemQueueSendsEveryMessageThroughDisk(t *testing.T) {
	n := startDaemon(t, func(o *Options) { o.MemQueueSize = 0 })
	topic, err := n.GetTopic("t")
	require.NoError(t, err)
	ch, err := topic.GetChannel("c")
	require.NoError(t, err)
	bodies := numbered("m", 50)
	p := dialV2(t, n)
	p.mpub("t", bodies...)
	require.Equal(t, int64(50), ch.BackendDepth(), "all 50 are on disk")
	require.Equal(t, bodies, drainBodies(t, n, "t", "c", 50), "through disk the order is kept")
}

func TestOverflowBeyondMemQueueGoesToDiskAndIsDelivered(t *testing.T) {
	n := startDaemon(t, func(o *Options) { o.MemQueueSize = 10 })
	topic, err := n.GetTopic("t")
	require.NoError(t, err)
	ch, err := topic.GetChannel("c")
	require.NoError(t, err)
	bodies := numbered("m", 100)
	dialV2(t, n).mpub("t", bodies...)
	require.Equal(t, int64(100), ch.Depth())
	require.Equal(t, int64(90), ch.BackendDepth())
	require.ElementsMatch(t, bodies, drainBodies(t, n, "t", "c", 100))
	require.Zero(t, ch.Depth())
}

func TestTopicWithoutChannelsSpillsToDiskAndHandsItOver(t *testing.T) {
	n := startDaemon(t, func(o *Options) { o.MemQueueSize = 5 })
	bodies := numbered("m", 40)
	dialV2(t, n).mpub("t", bodies...)
	topic, err := n.GetExistingTopic("t")
	require.NoError(t, err)
	require.Equal(t, int64(40), topic.Depth())
	require.Equal(t, int64(35), topic.BackendDepth())
	require.ElementsMatch(t, bodies, drainBodies(t, n, "t", "c", 40))
	waitFor(t, "the topic backlog to drain", func() bool { return topic.Depth() == 0 })
}

func TestGracefulRestartKeepsQueuedMessages(t *testing.T) {
	n := startDaemon(t, nil)
	topic, err := n.GetTopic("t")
	require.NoError(t, err)
	_, err = topic.GetChannel("c")
	require.NoError(t, err)
	bodies := numbered("m", 30)
	dialV2(t, n).mpub("t", bodies...)
	dialV2(t, n).mpub("held", bodies...) // no channel: held on the topic

	n = restartDaemon(t, n, nil)
	require.ElementsMatch(t, bodies, drainBodies(t, n, "t", "c", 30))
	require.ElementsMatch(t, bodies, drainBodies(t, n, "held", "c", 30))
}

func TestGracefulRestartRedeliversInFlightWithNextAttempt(t *testing.T) {
	n := startDaemon(t, nil)
	c := dialV2(t, n)
	c.subscribe("t", "c")
	c.pub("t", "held")
	c.send("RDY 1")
	first := c.readMessage()
	require.Equal(t, uint16(1), first.Attempts)

	n = restartDaemon(t, n, nil)
	again := dialV2(t, n)
	again.subscribe("t", "c")
	again.send("RDY 1")
	msg := again.readMessage()
	require.Equal(t, "held", string(msg.Body))
	require.Equal(t, first.ID, msg.ID, "the ID survives the restart")
	require.Equal(t, first.Timestamp, msg.Timestamp, "so does the publish time")
	require.Equal(t, uint16(2), msg.Attempts)
}

func TestDeferredMessageKeepsItsTimeAcrossRestart(t *testing.T) {
	n, clk := startClockedDaemon(t, nil)
	c := dialV2(t, n)
	c.subscribe("t", "c")
	due := clk.Now().Add(1500 * time.Millisecond)
	c.send("DPUB t 1500", []byte("later"))
	c.expectResponse("OK")
	// Part of its time passes before the restart: after it the message is
	// due at the time set at publish, not a full delay later.
	clk.Advance(time.Second)

	n = restartDaemon(t, n, func(o *Options) { o.Clock = clk })
	again := dialV2(t, n)
	again.subscribe("t", "c")
	again.send("RDY 1")
	expectDeferredUntil(t, n, clk, again, "t", "c", due)
	msg := again.readMessage()
	require.Equal(t, "later", string(msg.Body))
}

func TestDeferredMessageSpilledToDiskKeepsItsTime(t *testing.T) {
	n, clk := startClockedDaemon(t, func(o *Options) { o.MemQueueSize = 0 })
	p := dialV2(t, n)
	due := clk.Now().Add(800 * time.Millisecond)
	p.send("DPUB t 800", []byte("later"))
	p.expectResponse("OK")
	topic, err := n.GetExistingTopic("t")
	require.NoError(t, err)
	require.Equal(t, int64(1), topic.BackendDepth(), "the topic had no room: it went to disk")
	// Time passes while it waits on disk for a channel: the channel that
	// takes it later holds it until its own time, not a full delay more.
	clk.Advance(500 * time.Millisecond)

	c := dialV2(t, n)
	c.subscribe("t", "c")
	c.send("RDY 1")
	expectDeferredUntil(t, n, clk, c, "t", "c", due)
	msg := c.readMessage()
	require.Equal(t, "later", string(msg.Body))
}

func TestDeletingTopicRemovesItsFiles(t *testing.T) {
	n := startDaemon(t, func(o *Options) { o.MemQueueSize = 0 })
	topic, err := n.GetTopic("gone")
	require.NoError(t, err)
	_, err = topic.GetChannel("c")
	require.NoError(t, err)
	dialV2(t, n).mpub("gone", "a", "b")
	files, err := filepath.Glob(filepath.Join(n.opts.DataPath, "gone*"))
	require.NoError(t, err)
	require.NotEmpty(t, files)

	require.NoError(t, n.DeleteExistingTopic("gone"))
	files, err = filepath.Glob(filepath.Join(n.opts.DataPath, "gone*"))
	require.NoError(t, err)
	require.Empty(t, files)
}

func TestEmptyChannelClearsItsDiskPart(t *testing.T) {
	n := startDaemon(t, func(o *Options) { o.MemQueueSize = 2 })
	topic, err := n.GetTopic("t")
	require.NoError(t, err)
	ch, err := topic.GetChannel("c")
	require.NoError(t, err)
	dialV2(t, n).mpub("t", numbered("m", 10)...)
	require.Equal(t, int64(8), ch.BackendDepth())
	require.NoError(t, ch.Empty())
	require.Zero(t, ch.Depth())
	dialV2(t, n).pub("t", "after")
	require.Equal(t, []string{"after"}, drainBodies(t, n, "t", "c", 1))
}

func TestEphemeralTopicsNeverTouchDisk(t *testing.T) {
	n := startDaemon(t, func(o *Options) { o.MemQueueSize = 0 })
	dialV2(t, n).mpub("e#ephemeral", "a", "b")
	entries, err := os.ReadDir(n.opts.DataPath)
	require.NoError(t, err)
	for _, e := range entries {
		require.NotContains(t, e.Name(), "ephemeral")
	}
}

func TestEphemeralOverflowIsDroppedAndCountedInStats(t *testing.T) {
	n := startDaemon(t, func(o *Options) { o.MemQueueSize = 3 })
	topic, err := n.GetTopic("e#ephemeral")
	require.NoError(t, err)
	_, err = topic.GetChannel("c#ephemeral")
	require.NoError(t, err)
	dialV2(t, n).mpub("e#ephemeral", numbered("m", 10)...)
	stats := n.GetStats("e#ephemeral", "", false)
	require.Len(t, stats.Topics, 1)
	require.Len(t, stats.Topics[0].Channels, 1)
	require.Equal(t, uint64(7), stats.Topics[0].Channels[0].DroppedCount)
	require.Equal(t, int64(3), stats.Topics[0].Channels[0].Depth)
	status, body, _ := httpDo(t, "GET", httpURL(n, "/stats?format=json&topic=e%23ephemeral"), nil)
	require.Equal(t, 200, status)
	require.Contains(t, string(body), `"dropped_count":7`)
}

func TestHealthyStatsCarryNoKeysBeyondUpstream(t *testing.T) {
	n := startDaemon(t, nil)
	dialV2(t, n).pub("t", "x")
	status, body, _ := httpDo(t, "GET", httpURL(n, "/stats?format=json"), nil)
	require.Equal(t, 200, status)
	require.NotContains(t, string(body), "dropped_count")
	require.NotContains(t, string(body), "disk_skipped")
}

// writeUpstreamQueue lays out a queue exactly as upstream nsqd 1.3 leaves it:
// one data file of int32-length-prefixed message payloads and the
// three-line meta file.
func writeUpstreamQueue(t *testing.T, dir, name string, firstID uint64, bodies []string) {
	t.Helper()
	var data []byte
	for i, body := range bodies {
		var id protocol.MessageID
		protocol.FormatID(firstID+uint64(i), &id)
		payload := protocol.AppendMessage(nil, time.Now().UnixNano(), 1, &id, []byte(body))
		data = binary.BigEndian.AppendUint32(data, uint32(len(payload)))
		data = append(data, payload...)
	}
	require.NoError(t, os.WriteFile(filepath.Join(dir, name+".diskqueue.000000.dat"), data, 0o600))
	meta := fmt.Sprintf("%d\n0,0\n0,%d\n", len(bodies), len(data))
	require.NoError(t, os.WriteFile(filepath.Join(dir, name+".diskqueue.meta.dat"), []byte(meta), 0o600))
}

func TestUpstreamDataDirectoryIsAdopted(t *testing.T) {
	dir := t.TempDir()
	md := `{"topics":[{"name":"orders","paused":false,"channels":[{"name":"billing","paused":false}]}],"version":"1.3.0"}`
	require.NoError(t, os.WriteFile(filepath.Join(dir, metadataFile), []byte(md), 0o600))
	onChannel := numbered("queued", 25)
	onTopic := numbered("held", 5)
	writeUpstreamQueue(t, dir, "orders:billing", 1000, onChannel)
	writeUpstreamQueue(t, dir, "orders", 2000, onTopic)

	n := startDaemon(t, func(o *Options) { o.DataPath = dir })
	// New data goes on in our format and is delivered with the old.
	dialV2(t, n).pub("orders", "new")
	want := append(append([]string{"new"}, onChannel...), onTopic...)
	require.ElementsMatch(t, want, drainBodies(t, n, "orders", "billing", len(want)))
}

// After a crash a record that was requeued or deferred can come back beside
// its new copy. A client holding one copy is not given the other until the
// held copy's deadline (two entries for one ID could not both be answered);
// then the other is delivered, and every record is released once FIN'd.
func TestSecondCopyOfAHeldMessageWaitsForTheHeldOnesDeadline(t *testing.T) {
	n, clk := startClockedDaemon(t, func(o *Options) { o.MemQueueSize = 0 })
	ch := existingChannelAfterSub(t, n)
	msg := Message{Body: []byte("twice"), Timestamp: clk.Now().UnixNano()}
	protocol.FormatID(42, &msg.ID)
	require.NoError(t, ch.put([]Message{msg, msg}))
	require.Equal(t, int64(2), ch.BackendDepth())

	c := timedConsumer(t, n, 10) // 1 s msg_timeout
	first := c.readMessage()
	deadline := clk.Now().Add(time.Second) // the first copy's msg_timeout
	require.Equal(t, msg.ID, first.ID)
	waitFor(t, "the second copy to be held back", func() bool { return deferredCount(t, n, "t", "c") == 1 })
	c.fin(first.ID)
	c.pub("t2", "marker") // orders the FIN before the clock moves on
	// Even FIN'd, the first copy's deadline is what the second waits for.
	expectDeferredUntil(t, n, clk, c, "t", "c", deadline)
	second := c.readMessage()
	require.Equal(t, msg.ID, second.ID)
	require.Equal(t, uint16(1), second.Attempts, "the second copy was never delivered before")
	c.fin(second.ID)
	waitFor(t, "nothing in flight and nothing unacknowledged on disk", func() bool {
		backlog, store := ch.queue.DiskStats()
		return ch.inFlightCount.Load() == 0 && backlog.Unacked == 0 && store.Unacked == 0
	})
}

// At --mem-queue-size=0 an ephemeral channel, which has no disk, still
// hands messages to consumers ready for them (upstream's unbuffered queue)
// and drops only what none of them can take.
func TestEphemeralChannelWithoutMemoryQueueFeedsReadyConsumers(t *testing.T) {
	n := startDaemon(t, func(o *Options) { o.MemQueueSize = 0 })
	c := dialV2(t, n)
	c.subscribe("t", "c#ephemeral")
	c.send("RDY 2")
	ch := existingChannel(t, n, "t", "c#ephemeral")
	waitFor(t, "RDY 2 to reach the channel", func() bool {
		ch.mu.Lock()
		defer ch.mu.Unlock()
		return ch.consumerCreditLocked() == 2
	})
	dialV2(t, n).mpub("t", numbered("m", 5)...)
	require.Equal(t, numbered("m", 2), bodiesOf(c.readMessages(2)))
	require.Equal(t, uint64(3), ch.queue.Dropped())
}

// A durable-named channel of an ephemeral topic never touches disk either:
// nothing would find its files after a restart.
func TestChannelOfEphemeralTopicNeverTouchesDisk(t *testing.T) {
	n := startDaemon(t, func(o *Options) { o.MemQueueSize = 2 })
	ch := existingChannelOf(t, n, "e#ephemeral", "c")
	dialV2(t, n).mpub("e#ephemeral", numbered("m", 5)...)
	require.Equal(t, int64(2), ch.Depth())
	require.Equal(t, uint64(3), ch.queue.Dropped())
	files, err := filepath.Glob(filepath.Join(n.opts.DataPath, "e#ephemeral*"))
	require.NoError(t, err)
	require.Empty(t, files)
}

// existingChannelOf creates topic/channel the way a consumer does.
func existingChannelOf(t *testing.T, n *NSQD, topic, channel string) *Channel {
	t.Helper()
	dialV2(t, n).subscribe(topic, channel)
	return existingChannel(t, n, topic, channel)
}
