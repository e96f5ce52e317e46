package nsqd

import (
	"errors"
	"testing"
	"time"

	"github.com/nsqgo/nsq/nsqd/queue"
	"github.com/stretchr/testify/require"
)

// Lifecycle semantics: ephemeral topics and channels, pause, the memory
// bound and sampling, as upstream behaves (issue "Semantics").

func TestEphemeralChannelIsDeletedWithItsLastConsumer(t *testing.T) {
	n := startDaemon(t, nil)
	a := dialV2(t, n)
	a.subscribe("t", "c#ephemeral")
	b := dialV2(t, n)
	b.subscribe("t", "c#ephemeral")
	topic, err := n.GetExistingTopic("t")
	require.NoError(t, err)

	a.conn.Close()
	b.pub("t", "marker") // b is still served...
	_, err = topic.GetExistingChannel("c#ephemeral")
	require.NoError(t, err, "...and the channel survives while it has a consumer")

	b.conn.Close()
	waitFor(t, "ephemeral channel deletion", func() bool {
		_, err := topic.GetExistingChannel("c#ephemeral")
		return err != nil
	})
	_, err = n.GetExistingTopic("t")
	require.NoError(t, err, "a durable topic outlives its ephemeral channel")
}

func TestDurableChannelOutlivesItsConsumers(t *testing.T) {
	n := startDaemon(t, nil)
	c := dialV2(t, n)
	c.subscribe("t", "durable")
	c.send("CLS")
	c.expectResponse("CLOSE_WAIT")
	c.conn.Close()
	// Wait for the daemon to drop the client, then check the channel.
	waitFor(t, "client removal", func() bool { return len(n.clientList()) == 0 })
	existingChannel(t, n, "t", "durable")
}

func TestEphemeralTopicIsDeletedWithItsLastChannel(t *testing.T) {
	n := startDaemon(t, nil)
	c := dialV2(t, n)
	c.subscribe("t#ephemeral", "c#ephemeral")
	_, err := n.GetExistingTopic("t#ephemeral")
	require.NoError(t, err)
	c.conn.Close()
	waitFor(t, "ephemeral topic deletion", func() bool {
		_, err := n.GetExistingTopic("t#ephemeral")
		return err != nil
	})
}

func TestResubscribingToADeletedEphemeralChannelWorks(t *testing.T) {
	n := startDaemon(t, nil)
	first := dialV2(t, n)
	first.subscribe("t", "c#ephemeral")
	first.conn.Close()
	waitFor(t, "ephemeral channel deletion", func() bool {
		topic, err := n.GetExistingTopic("t")
		require.NoError(t, err)
		_, err = topic.GetExistingChannel("c#ephemeral")
		return err != nil
	})
	second := dialV2(t, n)
	second.subscribe("t", "c#ephemeral")
	second.send("RDY 1")
	publish(t, n, "t", "fresh")
	require.Equal(t, "fresh", string(second.readMessage().Body))
}

func TestPausedChannelHoldsMessagesUntilUnpaused(t *testing.T) {
	n := startDaemon(t, nil)
	pumps := watchPumps(t, n)
	c := dialV2(t, n)
	c.subscribe("t", "c")
	c.send("RDY 10")
	ch := existingChannel(t, n, "t", "c")
	ch.Pause()
	require.True(t, ch.IsPaused())
	publish(t, n, "t", "a", "b")
	expectPumpDeliversNothing(t, n, pumps, c, "10")
	require.Equal(t, int64(2), ch.Depth())

	ch.Unpause()
	require.ElementsMatch(t, []string{"a", "b"}, bodiesOf(c.readMessages(2)))
}

func TestPausingOneChannelLeavesOthersFlowing(t *testing.T) {
	n := startDaemon(t, nil)
	pumps := watchPumps(t, n)
	paused := dialV2(t, n)
	paused.subscribe("t", "paused")
	paused.send("RDY 1")
	flowing := dialV2(t, n)
	flowing.subscribe("t", "flowing")
	flowing.send("RDY 1")
	existingChannel(t, n, "t", "paused").Pause()
	publish(t, n, "t", "m")
	require.Equal(t, "m", string(flowing.readMessage().Body))
	expectPumpDeliversNothing(t, n, pumps, paused, "1")
	require.Equal(t, int64(1), existingChannel(t, n, "t", "paused").Depth())
}

func TestPausedTopicHoldsMessagesUntilUnpaused(t *testing.T) {
	n := startDaemon(t, nil)
	c := dialV2(t, n)
	c.subscribe("t", "c")
	c.send("RDY 10")
	topic, err := n.GetExistingTopic("t")
	require.NoError(t, err)
	topic.Pause()
	require.True(t, topic.IsPaused())
	publish(t, n, "t", "a", "b")
	// Held messages reach a channel only through a drain, and none runs
	// once Pause has returned (topic_drain_test.go): when this returns,
	// what the topic holds stays there until Unpause.
	topic.drainers.Wait()
	require.Equal(t, int64(2), topic.Depth(), "held on the topic")
	require.Zero(t, existingChannel(t, n, "t", "c").Depth(), "not handed to channels")

	topic.Unpause()
	require.ElementsMatch(t, []string{"a", "b"}, bodiesOf(c.readMessages(2)))
}

// memBound10 is --mem-queue-size=10.
func memBound10(o *Options) { o.MemQueueSize = 10 }

// failingQueueDisk stands for a disk queue whose every write fails (a full
// or broken disk): durable overflow then has nowhere to go.
type failingQueueDisk struct{ queue.Disk }

func (failingQueueDisk) Put([][]byte) (uint64, error) { return 0, errors.New("disk full") }

// breakChannelDisk makes every write to a channel's backlog fail.
func breakChannelDisk(t *testing.T, ch *Channel) {
	ch.mu.Lock()
	defer ch.mu.Unlock()
	ch.queue.ReplaceBacklog(func(d queue.Disk) queue.Disk { return failingQueueDisk{d} })
}

func TestFullDurableChannelWithFailingDiskRefusesPublishAndKeepsWhatItAccepted(t *testing.T) {
	n := startDaemon(t, memBound10)
	c := dialV2(t, n)
	c.subscribe("t", "c")
	breakChannelDisk(t, existingChannel(t, n, "t", "c"))
	bodies := numbered("m", 10)
	publish(t, n, "t", bodies...)

	p := dialV2(t, n)
	p.send("PUB t", []byte("one too many"))
	p.expectFatal("E_PUB_FAILED PUB failed write to disk: disk full")

	c.send("RDY 20")
	require.ElementsMatch(t, bodies, bodiesOf(c.readMessages(10)))
	c.expectNoFrame(100 * time.Millisecond)
}

func TestFullDurableChannelWithFailingDiskRefusesWholeMpub(t *testing.T) {
	n := startDaemon(t, memBound10)
	c := dialV2(t, n)
	c.subscribe("t", "c")
	ch := existingChannel(t, n, "t", "c")
	breakChannelDisk(t, ch)
	p := dialV2(t, n)
	p.mpub("t", numbered("m", 8)...)
	p.send("MPUB t", mpubBody(numbered("x", 5)...))
	p.expectFatal("E_MPUB_FAILED MPUB failed write to disk: disk full")
	require.Equal(t, int64(8), ch.Depth(), "none of the refused batch is queued")
}

func TestFullDurableTopicWithFailingDiskRefusesPublish(t *testing.T) {
	n := startDaemon(t, memBound10)
	publish(t, n, "t", numbered("m", 10)...)
	topic, err := n.GetExistingTopic("t")
	require.NoError(t, err)
	swapTopicBackend(topic, func(q queue.Disk) queue.Disk { return failingQueueDisk{q} })

	p := dialV2(t, n)
	p.send("PUB t", []byte("one too many"))
	p.expectFatal("E_PUB_FAILED PUB failed write to disk: disk full")
	require.Equal(t, int64(10), topic.Depth())
	c := dialV2(t, n)
	c.subscribe("t", "c")
	c.send("RDY 20")
	require.ElementsMatch(t, numbered("m", 10), bodiesOf(c.readMessages(10)))
}

func TestFullEphemeralChannelDropsOverflow(t *testing.T) {
	n := startDaemon(t, memBound10)
	c := dialV2(t, n)
	c.subscribe("t", "c#ephemeral")
	publish(t, n, "t", numbered("m", 15)...) // every PUB is answered OK
	c.send("RDY 20")
	require.ElementsMatch(t, numbered("m", 10), bodiesOf(c.readMessages(10)))
	c.expectNoFrame(100 * time.Millisecond)
	require.Equal(t, uint64(5), existingChannel(t, n, "t", "c#ephemeral").queue.Dropped())
}

func TestFullEphemeralTopicDropsOverflow(t *testing.T) {
	n := startDaemon(t, memBound10)
	publish(t, n, "t#ephemeral", numbered("m", 15)...)
	topic, err := n.GetExistingTopic("t#ephemeral")
	require.NoError(t, err)
	require.Equal(t, int64(10), topic.Depth())
	c := dialV2(t, n)
	c.subscribe("t#ephemeral", "c")
	c.send("RDY 20")
	require.ElementsMatch(t, numbered("m", 10), bodiesOf(c.readMessages(10)))
	c.expectNoFrame(100 * time.Millisecond)
}

func TestSampleRateDeliversOnlyAShare(t *testing.T) {
	n := startDaemon(t, nil)
	const total = 400
	c := dialV2(t, n)
	c.identify(map[string]any{"sample_rate": 50})
	c.subscribe("t", "c")
	p := dialV2(t, n)
	p.mpub("t", numbered("m", total)...)
	c.send("RDY 2500")
	ch := existingChannel(t, n, "t", "c")
	// Sampled-out messages are dropped, never delivered: once the channel
	// is empty, the stream is quiet and every message counted in flight
	// has arrived, the client has had its share.
	waitFor(t, "channel drained", func() bool { return ch.Depth() == 0 })
	delivered := 0
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); {
		frameType, data, err := c.readFrameErr(100 * time.Millisecond)
		if err != nil {
			require.ErrorContains(t, err, "timeout")
			if int64(delivered) == ch.inFlightCount.Load() {
				break
			}
			continue
		}
		require.Equal(t, int32(2), frameType, "frame %q", data)
		delivered++
	}
	require.Equal(t, int64(delivered), ch.inFlightCount.Load())
	require.Greater(t, delivered, total*30/100)
	require.Less(t, delivered, total*72/100)
}
