package nsqd

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/nsqgo/nsq/nsqd/queue"
)

// boundedChannel creates topic/channel with the given /channel/config
// parameters.
func boundedChannel(t *testing.T, n *NSQD, topic, channel, params string) *Channel {
	t.Helper()
	adminPost(t, n, "/topic/create?topic="+topic)
	adminPost(t, n, "/channel/create?topic="+topic+"&channel="+channel)
	postOK(t, n, "/channel/config?topic="+topic+"&channel="+channel+"&"+params)
	return existingChannel(t, n, topic, channel)
}

func TestBoundRejectNewOverTCP(t *testing.T) {
	n := startDaemon(t, nil)
	c := boundedChannel(t, n, "orders", "work", "max_depth=2&overflow=reject-new")
	producer := dialV2(t, n)
	producer.pub("orders", "a")
	producer.pub("orders", "b")

	full := "queue is full (depth 2 + 1 > max_depth 2)"
	producer.send("PUB orders", []byte("c"))
	producer.expectError("E_PUB_FAILED PUB failed channel orders:work: " + full)
	producer.send("DPUB orders 1000", []byte("c"))
	producer.expectError("E_DPUB_FAILED DPUB failed channel orders:work: " + full)
	producer.send("MPUB orders", mpubBody("c", "d"))
	producer.expectError("E_MPUB_FAILED MPUB failed channel orders:work: queue is full (depth 2 + 2 > max_depth 2)")
	require.EqualValues(t, 2, c.Depth())

	// Not fatal: the same connection publishes again once there is room.
	consumer := dialV2(t, n)
	consumer.subscribe("orders", "work")
	consumer.send("RDY 1")
	m := consumer.readMessage()
	require.Equal(t, "a", string(m.Body))
	consumer.fin(m.ID)
	require.Equal(t, "b", string(consumer.readMessage().Body)) // RDY 1 again
	producer.pub("orders", "c")
	require.EqualValues(t, 1, c.Depth())
	require.EqualValues(t, 4, c.bound.rejected.Load())
}

func TestBoundRejectNewOverHTTP(t *testing.T) {
	n := startDaemon(t, nil)
	c := boundedChannel(t, n, "orders", "work", "max_bytes=5&overflow=reject-new")
	status, body := httpPost(t, n, "/pub?topic=orders", "abc")
	requireOK(t, "OK", status, body)
	status, body = httpPost(t, n, "/pub?topic=orders", "def")
	requireAPIError(t, http.StatusServiceUnavailable, "QUEUE_FULL", status, body)
	status, body = httpPost(t, n, "/mpub?topic=orders", "d\ne\nf")
	requireAPIError(t, http.StatusServiceUnavailable, "QUEUE_FULL", status, body)
	status, body = httpPost(t, n, "/mpub?topic=orders", "d\ne")
	requireOK(t, "OK", status, body)
	require.EqualValues(t, 3, c.Depth())
}

// An MPUB is accepted or refused whole across the topic's channels: one
// full reject-new channel refuses it for all, and none queues any of it.
func TestBoundMPUBIsWholeAcrossChannels(t *testing.T) {
	n := startDaemon(t, nil)
	bounded := boundedChannel(t, n, "orders", "bounded", "max_depth=3&overflow=reject-new")
	adminPost(t, n, "/channel/create?topic=orders&channel=open")
	adminPost(t, n, "/channel/create?topic=orders&channel=dropper")
	postOK(t, n, "/channel/config?topic=orders&channel=dropper&max_depth=1&overflow=drop-oldest")
	open := existingChannel(t, n, "orders", "open")
	dropper := existingChannel(t, n, "orders", "dropper")

	producer := dialV2(t, n)
	producer.mpub("orders", "a", "b")
	producer.send("MPUB orders", mpubBody("c", "d"))
	producer.expectError("E_MPUB_FAILED MPUB failed channel orders:bounded: queue is full (depth 2 + 2 > max_depth 3)")
	require.EqualValues(t, 2, bounded.Depth())
	require.EqualValues(t, 2, open.Depth())
	require.EqualValues(t, 1, dropper.Depth())
	require.EqualValues(t, 2, open.messageCount.Load())

	// A reservation refused by one channel was given back by the others:
	// the next batch that fits is accepted everywhere.
	producer.mpub("orders", "c")
	require.EqualValues(t, 3, bounded.Depth())
	require.EqualValues(t, 3, open.Depth())
}

// drop-oldest accepts the new message and moves the oldest to the dead set
// with reason overflow; consumers get the newest.
func TestBoundDropOldestMovesToDeadSet(t *testing.T) {
	n := startDaemon(t, nil)
	c := boundedChannel(t, n, "orders", "work", "max_depth=2&overflow=drop-oldest")
	publish(t, n, "orders", "m1", "m2", "m3", "m4")
	require.EqualValues(t, 2, c.Depth())

	ds, err := c.deadSet()
	require.NoError(t, err)
	dead, err := ds.Peek(0, 10)
	require.NoError(t, err)
	require.Len(t, dead, 2)
	for i, want := range []string{"m1", "m2"} {
		require.Equal(t, want, string(dead[i].Body))
		require.Equal(t, queue.DeadOverflow, dead[i].Reason)
	}
	require.EqualValues(t, 2, c.bound.dropped.Load())

	consumer := dialV2(t, n)
	consumer.subscribe("orders", "work")
	consumer.send("RDY 2")
	got := consumer.readMessages(2)
	require.Equal(t, "m3", string(got[0].Body))
	require.Equal(t, "m4", string(got[1].Body))
}

// With every bound off (the default) nothing is refused or dropped.
func TestBoundOffByDefault(t *testing.T) {
	n := startDaemon(t, func(o *Options) { o.MemQueueSize = 2 })
	adminPost(t, n, "/topic/create?topic=orders")
	adminPost(t, n, "/channel/create?topic=orders&channel=work")
	producer := dialV2(t, n)
	for _, body := range numbered("m", 50) {
		producer.pub("orders", body)
	}
	c := existingChannel(t, n, "orders", "work")
	require.EqualValues(t, 50, c.Depth())
	require.Zero(t, c.bound.rejected.Load()+c.bound.dropped.Load())
	require.False(t, strings.Contains(string(getRawStats(t, n)), "overflow"))
}

func getRawStats(t *testing.T, n *NSQD) []byte {
	t.Helper()
	status, body := httpGet(t, n, "/stats?format=json")
	require.Equal(t, http.StatusOK, status)
	return body
}

var _ = time.Second

// A topic with no channel holds messages itself, bounded by its own
// settings.
func TestBoundTopicRejectNew(t *testing.T) {
	n := startDaemon(t, nil)
	adminPost(t, n, "/topic/create?topic=orders")
	postOK(t, n, "/topic/config?topic=orders&max_depth=2&overflow=reject-new")
	producer := dialV2(t, n)
	producer.pub("orders", "a")
	producer.pub("orders", "b")
	producer.send("PUB orders", []byte("c"))
	producer.expectError("E_PUB_FAILED PUB failed topic orders: queue is full (depth 2 + 1 > max_depth 2)")
	status, body := httpPost(t, n, "/pub?topic=orders", "c")
	requireAPIError(t, http.StatusServiceUnavailable, "QUEUE_FULL", status, body)
	tp, err := n.GetExistingTopic("orders")
	require.NoError(t, err)
	require.EqualValues(t, 2, tp.Depth())
	require.EqualValues(t, 2, tp.bound.rejected.Load())
}

// drop-oldest on a topic drops its oldest held messages, memory and disk,
// and counts them; a channel created later gets the newest in order.
func TestBoundTopicDropOldestAcrossMemoryAndDisk(t *testing.T) {
	n := startDaemon(t, func(o *Options) { o.MemQueueSize = 1 })
	adminPost(t, n, "/topic/create?topic=orders")
	postOK(t, n, "/topic/config?topic=orders&max_depth=3&overflow=drop-oldest")
	publish(t, n, "orders", numbered("m", 7)...)
	tp, err := n.GetExistingTopic("orders")
	require.NoError(t, err)
	require.EqualValues(t, 3, tp.Depth())
	require.EqualValues(t, 4, tp.bound.dropped.Load())

	consumer := dialV2(t, n)
	consumer.subscribe("orders", "work")
	consumer.send("RDY 3")
	var got []string
	for _, m := range consumer.readMessages(3) {
		got = append(got, string(m.Body))
	}
	require.ElementsMatch(t, []string{"m4", "m5", "m6"}, got)
}

// Refusals and drops are counted in /stats (new keys, present only when
// non-zero) and /metrics (nsq_publish_errors_total gets reason QUEUE_FULL).
func TestBoundCounters(t *testing.T) {
	n := startDaemon(t, nil)
	boundedChannel(t, n, "orders", "work", "max_depth=1&overflow=reject-new")
	adminPost(t, n, "/channel/create?topic=orders&channel=dropper")
	postOK(t, n, "/channel/config?topic=orders&channel=dropper&max_bytes=1&overflow=drop-oldest")
	producer := dialV2(t, n)
	producer.pub("orders", "a")
	producer.send("PUB orders", []byte("b"))
	producer.expectError("E_PUB_FAILED PUB failed channel orders:work: queue is full (depth 1 + 1 > max_depth 1)")
	status, body := httpPost(t, n, "/pub?topic=orders", "b")
	requireAPIError(t, http.StatusServiceUnavailable, "QUEUE_FULL", status, body)
	postOK(t, n, "/channel/config?topic=orders&channel=work&max_depth=5&max_bytes=2")
	producer.pub("orders", "b") // fits in work; pushes "a" out of dropper
	producer.send("PUB orders", []byte("cc"))
	producer.expectError("E_PUB_FAILED PUB failed channel orders:work: queue is full (bytes 2 + 2 > max_bytes 2)")

	stats := getStats(t, n, "")
	work := channelStats(t, stats, "orders", "work")
	require.EqualValues(t, 2, work.RejectedMaxDepthCount) // "b" over TCP and HTTP
	require.EqualValues(t, 1, work.RejectedMaxBytesCount)
	dropper := channelStats(t, stats, "orders", "dropper")
	require.EqualValues(t, 1, dropper.OverflowDroppedCount)
	require.Zero(t, dropper.RejectedMaxDepthCount+dropper.RejectedMaxBytesCount)

	status, metrics := httpGet(t, n, "/metrics")
	require.Equal(t, http.StatusOK, status)
	for _, want := range []string{
		`nsq_publish_errors_total{protocol="tcp",reason="QUEUE_FULL"} 2`,
		`nsq_publish_errors_total{protocol="http",reason="QUEUE_FULL"} 1`,
		`nsq_channel_messages_rejected_total{channel="work",limit="max_depth",topic="orders"} 2`,
		`nsq_channel_messages_rejected_total{channel="work",limit="max_bytes",topic="orders"} 1`,
		`nsq_channel_messages_overflow_dropped_total{channel="dropper",topic="orders"} 1`,
	} {
		require.Contains(t, string(metrics), want)
	}
}

// A topic's byte limit counts what an earlier run left on its disk (one
// scan at the first byte check), not only what this run held.
func TestBoundTopicBytesCountedAfterRestart(t *testing.T) {
	n := startDaemon(t, func(o *Options) { o.MemQueueSize = 0 })
	adminPost(t, n, "/topic/create?topic=orders")
	publish(t, n, "orders", "aaaa", "bbbb", "cccc")
	n = restartDaemon(t, n, func(o *Options) { o.MemQueueSize = 0 })
	postOK(t, n, "/topic/config?topic=orders&max_bytes=14&overflow=reject-new")
	producer := dialV2(t, n)
	producer.pub("orders", "dd")
	producer.send("PUB orders", []byte("e"))
	producer.expectError("E_PUB_FAILED PUB failed topic orders: queue is full (bytes 14 + 1 > max_bytes 14)")
}

// drop-oldest's victims of a channel with a dead_letter_topic are published
// there after the publisher's topic lock is released (channel_bound.go,
// killLate): the dead-letter topic's channel gets them, in order, and a
// pause of the dead-letter topic racing the publishes (a writer of its
// Topic.mu) cannot wedge them.
func TestBoundDropOldestToDeadLetterTopic(t *testing.T) {
	n := startDaemon(t, nil)
	adminPost(t, n, "/topic/create?topic=dl")
	adminPost(t, n, "/channel/create?topic=dl&channel=c")
	c := boundedChannel(t, n, "orders", "work", "max_depth=2&overflow=drop-oldest&dead_letter_topic=dl")
	dl := existingChannel(t, n, "dl", "c")
	done := make(chan struct{})
	go func() {
		defer close(done)
		topic, err := n.GetExistingTopic("dl")
		if err != nil {
			return
		}
		for i := 0; i < 50; i++ {
			topic.Pause()
			topic.Unpause()
		}
	}()
	for _, body := range numbered("m", 40) {
		publish(t, n, "orders", body)
	}
	<-done
	require.EqualValues(t, 2, c.Depth())
	waitFor(t, "38 dead letters", func() bool { return dl.Depth() == 38 })
	require.EqualValues(t, 38, c.bound.dropped.Load())
}
