package nsqd

import (
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/nsqgo/nsq/internal/protocol"
	"github.com/nsqgo/nsq/nsqd/queue"
	"github.com/stretchr/testify/require"
)

// blockDeferredStore makes topic:channel's deferred store impossible to
// open (a directory where its metadata file goes), as a full or failing
// disk would refuse its writes.
func blockDeferredStore(t *testing.T, n *NSQD, topic, channel string) (unblock func()) {
	t.Helper()
	path := filepath.Join(n.opts.DataPath, topic+":"+channel+queue.StoreSuffix+".diskqueue.meta.dat")
	require.NoError(t, os.Mkdir(path, 0o700))
	return func() { require.NoError(t, os.Remove(path)) }
}

func deferredLen(c *Channel) int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.queue.DeferredCount()
}

// Through disk (--mem-queue-size=0) a DPUB's message is durable only in the
// deferred store: when the store refuses it the publisher is told
// (E_DPUB_FAILED, HTTP 500) and nothing is held, instead of OK for a
// message only memory holds (before the fix: OK, lost by kill -9).
func TestDeferredPublishRefusedByStoreIsNotAcknowledged(t *testing.T) {
	n := startDaemon(t, func(o *Options) { o.MemQueueSize = 0 })
	topic, err := n.GetTopic("t")
	require.NoError(t, err)
	ch, err := topic.GetChannel("c")
	require.NoError(t, err)
	unblock := blockDeferredStore(t, n, "t", "c")

	producer := dialV2(t, n)
	producer.send("DPUB t 60000", []byte("refused"))
	frameType, data := producer.readFrame()
	require.Equal(t, protocol.FrameTypeError, frameType, "%q", data)
	require.True(t, strings.HasPrefix(string(data), "E_DPUB_FAILED DPUB failed"), "%q", data)

	status, body := httpPost(t, n, "/pub?topic=t&defer=60000", "refused too")
	require.Equal(t, http.StatusInternalServerError, status, "%s", body)
	require.Zero(t, deferredLen(ch), "a refused message is not held")

	unblock()
	dialV2(t, n).send("DPUB t 1", []byte("stored"))
	consumer := dialV2(t, n)
	consumer.subscribe("t", "c")
	consumer.send("RDY 5")
	require.Equal(t, "stored", string(consumer.readMessage().Body))
}

// The topic hands its disk backlog to a channel and releases its records
// only once the channel has stored its copies: if the channel's deferred
// store refuses them, the channel delivers them from memory and the topic
// keeps its records, so a crash cannot lose them (before the fix the
// topic released them: only memory held the messages).
func TestTopicKeepsRecordsAChannelCouldNotStore(t *testing.T) {
	n, clk := startClockedDaemon(t, func(o *Options) { o.MemQueueSize = 0 })
	due := clk.Now().Add(200 * time.Millisecond)
	topic, err := n.GetTopic("t")
	require.NoError(t, err)
	ch, err := topic.GetChannel("c")
	require.NoError(t, err)
	topic.Pause()
	blockDeferredStore(t, n, "t", "c")
	producer := dialV2(t, n)
	producer.send("DPUB t 200", []byte("deferred"))
	producer.expectResponse("OK")
	require.EqualValues(t, 1, topic.Depth())

	topic.Unpause()
	waitFor(t, "the hand-off", func() bool {
		topic.mu.RLock()
		defer topic.mu.RUnlock()
		return topic.held.BacklogDepth() == 0 && !topic.draining
	})
	require.Equal(t, 1, deferredLen(ch), "the channel holds the deferred message in memory")
	require.EqualValues(t, 1, topic.held.DiskStats().Unacked, "the topic keeps the record its channel could not store")

	consumer := dialV2(t, n)
	consumer.subscribe("t", "c")
	consumer.send("RDY 5")
	awaitDeadline(t, clk, due)
	clk.AdvanceTo(due)
	require.Equal(t, "deferred", string(consumer.readMessage().Body))
}
