package nsqd

import (
	"encoding/json"
	"errors"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/nsqgo/nsq/internal/clock"
	"github.com/nsqgo/nsq/nsqd/queue"
	"github.com/nsqio/go-nsq"
	"github.com/stretchr/testify/require"
)

// deadMessages reads a channel's whole dead set.
func deadMessages(t *testing.T, ch *Channel) []queue.DeadMessage {
	t.Helper()
	ds, err := ch.deadSet()
	require.NoError(t, err)
	msgs, err := ds.Peek(0, 1000)
	require.NoError(t, err)
	return msgs
}

// channelStatsJSON is the channel's object in /stats?format=json, decoded
// loosely, so that a test sees exactly which keys are there.
func channelStatsJSON(t *testing.T, n *NSQD, topic, channel string) map[string]any {
	t.Helper()
	status, body, _ := httpDo(t, "GET", httpURL(n, "/stats?format=json&topic="+topic+"&channel="+channel), nil)
	require.Equal(t, http.StatusOK, status, "%s", body)
	var stats struct {
		Topics []struct {
			Channels []map[string]any `json:"channels"`
		} `json:"topics"`
	}
	require.NoError(t, json.Unmarshal(body, &stats), "%s", body)
	require.Len(t, stats.Topics, 1, "%s", body)
	require.Len(t, stats.Topics[0].Channels, 1, "%s", body)
	return stats.Topics[0].Channels[0]
}

func deadSetFiles(t *testing.T, n *NSQD) []string {
	t.Helper()
	files, err := filepath.Glob(filepath.Join(n.dataPath(), "*.deadset.*"))
	require.NoError(t, err)
	return files
}

// With --max-attempts 2, the REQ after the second delivery sends the
// message to the channel's dead set instead of back to the queue: the
// same ID, body, publish time and attempts, reason max_attempts. /stats and
// /metrics count it.
func TestDeadLetterMaxAttemptsByREQ(t *testing.T) {
	n := startDaemon(t, func(o *Options) { o.MaxAttempts = 2 })
	consumer := dialV2(t, n)
	consumer.subscribe("t", "c")
	consumer.send("RDY 1")
	require.Empty(t, deadSetFiles(t, n), "no file before the first death")
	publish(t, n, "t", "poison")

	first := consumer.readMessage()
	require.Equal(t, uint16(1), first.Attempts)
	consumer.req(first.ID, 0)
	second := consumer.readMessage()
	require.Equal(t, first.ID, second.ID)
	require.Equal(t, uint16(2), second.Attempts)
	consumer.req(second.ID, 0)

	ch := existingChannel(t, n, "t", "c")
	waitFor(t, "the dead set to hold the message", func() bool { return ch.deadDepth() == 1 })
	// Had it been requeued it would come before this one.
	publish(t, n, "t", "next")
	next := consumer.readMessage()
	require.Equal(t, "next", string(next.Body))
	consumer.fin(next.ID)

	dead := deadMessages(t, ch)
	require.Len(t, dead, 1)
	require.Equal(t, [16]byte(first.ID), dead[0].ID)
	require.Equal(t, "poison", string(dead[0].Body))
	require.Equal(t, first.Timestamp, dead[0].Timestamp)
	require.Equal(t, uint16(2), dead[0].Attempts)
	require.Equal(t, queue.DeadMaxAttempts, dead[0].Reason)
	require.NotEmpty(t, deadSetFiles(t, n))

	stats := channelStatsJSON(t, n, "t", "c")
	require.Equal(t, float64(1), stats["dead_count"])
	require.Equal(t, float64(1), stats["dead_lettered_max_attempts_count"])
	require.NotContains(t, stats, "expired_count")
	require.Equal(t, float64(2), stats["requeue_count"], "the fatal REQ is still counted as a REQ")

	status, body, _ := httpDo(t, "GET", httpURL(n, "/metrics"), nil)
	require.Equal(t, http.StatusOK, status)
	require.Contains(t, string(body), `nsq_channel_dead_lettered_total{channel="c",reason="max_attempts",topic="t"} 1`)
	require.Contains(t, string(body), `nsq_channel_dead_depth{channel="c",topic="t"} 1`)
}

// A timeout counts as a REQ does: with --max-attempts 1 the message whose
// only delivery timed out is dead, not delivered again.
func TestDeadLetterMaxAttemptsByTimeout(t *testing.T) {
	n, clk := startClockedDaemon(t, func(o *Options) { o.MaxAttempts = 1 })
	consumer := timedConsumer(t, n, 2)
	publish(t, n, "t", "slow")
	m := consumer.readMessage()
	require.Equal(t, uint16(1), m.Attempts)
	ch := existingChannel(t, n, "t", "c")
	// Its 1 s timeout, on the daemon's clock: the timer fires inside
	// Advance.
	clk.Advance(time.Second)
	waitFor(t, "the timeout to kill the message", func() bool { return ch.deadDepth() == 1 })
	publish(t, n, "t", "next")
	require.Equal(t, "next", string(consumer.readMessage().Body))
	dead := deadMessages(t, ch)
	require.Len(t, dead, 1)
	require.Equal(t, "slow", string(dead[0].Body))
	require.Equal(t, queue.DeadMaxAttempts, dead[0].Reason)
	require.Equal(t, uint64(1), ch.timeoutCount.Load())
}

// With --msg-ttl, a message older than its TTL when a consumer would get
// it is never delivered: it is dead with reason expired, and the consumer
// gets the next one. The daemon's clock is advanced, not slept.
func TestDeadLetterTTLExpiresOnDelivery(t *testing.T) {
	fake := clock.NewFake(time.Now())
	// The consumer's idle limit (on the same clock) outlasts the TTL.
	n := startDaemon(t, func(o *Options) { o.Clock = fake; o.MsgTTL = time.Minute; o.ClientTimeout = time.Hour })
	consumer := dialV2(t, n)
	consumer.subscribe("t", "c")
	publish(t, n, "t", "old")
	fake.Advance(time.Minute + time.Millisecond)
	publish(t, n, "t", "fresh")
	consumer.send("RDY 2")
	m := consumer.readMessage()
	require.Equal(t, "fresh", string(m.Body))

	// The expired message was killed by the take that delivered "fresh".
	ch := existingChannel(t, n, "t", "c")
	dead := deadMessages(t, ch)
	require.Len(t, dead, 1)
	require.Equal(t, "old", string(dead[0].Body))
	require.Equal(t, queue.DeadExpired, dead[0].Reason)
	require.Equal(t, uint16(0), dead[0].Attempts)
	require.Equal(t, fake.Now().UnixNano(), dead[0].DiedAt)
	stats := channelStatsJSON(t, n, "t", "c")
	require.Equal(t, float64(1), stats["expired_count"])
	require.Equal(t, float64(1), stats["dead_lettered_expired_count"])
}

// A deferred message counts its TTL from its publish time: deferred longer
// than the TTL, it dies when it comes due, and is never delivered.
func TestDeadLetterTTLDeferredCountsFromPublish(t *testing.T) {
	fake := clock.NewFake(time.Now())
	n := startDaemon(t, func(o *Options) { o.Clock = fake; o.MsgTTL = time.Minute })
	consumer := dialV2(t, n)
	consumer.subscribe("t", "c")
	consumer.send("RDY 5")
	consumer.send("DPUB t 120000", []byte("late"))
	consumer.expectResponse("OK")
	consumer.send("DPUB t 30000", []byte("early"))
	consumer.expectResponse("OK")
	fake.Advance(30 * time.Second)
	early := consumer.readMessage()
	require.Equal(t, "early", string(early.Body))
	// FIN'd, so that its message timeout (on the same clock) does not
	// bring it back to expire too.
	consumer.fin(early.ID)
	waitFor(t, "the FIN", func() bool { return existingChannel(t, n, "t", "c").finishCount.Load() == 1 })
	// The deferral timer fires inside Advance: the death is done when it
	// returns.
	fake.Advance(90 * time.Second)
	ch := existingChannel(t, n, "t", "c")
	dead := deadMessages(t, ch)
	require.Len(t, dead, 1)
	require.Equal(t, "late", string(dead[0].Body))
	require.Equal(t, queue.DeadExpired, dead[0].Reason)
	require.Equal(t, 0, ch.queue.DeferredCount())
}

// With a dead_letter_topic, a dead message is published to that topic on
// this nsqd (created as /pub would), so any consumer reads dead letters
// unchanged: same body, attempts from 1, an ID of the dead-letter topic's
// own (IDs are unique per topic, as upstream's: one made in the same
// millisecond as the original's may equal it). The dead set is not
// used; the reason is counted in the channel's stats.
func TestDeadLetterTopic(t *testing.T) {
	n := startDaemon(t, nil)
	consumer := dialV2(t, n)
	consumer.subscribe("t", "c")
	status, body, _ := httpDo(t, "POST", httpURL(n, "/channel/config?topic=t&channel=c&max_attempts=1&dead_letter_topic=t_dead"), nil)
	require.Equal(t, http.StatusOK, status, "%s", body)
	_, err := n.GetExistingTopic("t_dead")
	require.Error(t, err, "created on the first death, not before")

	consumer.send("RDY 1")
	publish(t, n, "t", "poison")
	m := consumer.readMessage()
	consumer.req(m.ID, 0)

	ch := existingChannel(t, n, "t", "c")
	waitFor(t, "the dead letter", func() bool { return ch.deadLettered(queue.DeadMaxAttempts) == 1 })
	letters := dialV2(t, n)
	letters.subscribe("t_dead", "archive")
	letters.send("RDY 1")
	dm := letters.readMessage()
	require.Equal(t, "poison", string(dm.Body))
	require.Equal(t, uint16(1), dm.Attempts)

	require.Empty(t, deadSetFiles(t, n), "the dead set is not used")
	stats := channelStatsJSON(t, n, "t", "c")
	require.Equal(t, float64(0), stats["dead_count"])
	require.Equal(t, float64(1), stats["dead_lettered_max_attempts_count"])
}

// An ephemeral channel keeps no files, so it has no dead set: what dies
// there is dropped and counted.
func TestDeadLetterEphemeralChannelDrops(t *testing.T) {
	n := startDaemon(t, func(o *Options) { o.MaxAttempts = 1 })
	consumer := dialV2(t, n)
	consumer.subscribe("t", "c#ephemeral")
	consumer.send("RDY 1")
	publish(t, n, "t", "poison")
	m := consumer.readMessage()
	consumer.req(m.ID, 0)
	ch := existingChannel(t, n, "t", "c#ephemeral")
	waitFor(t, "the drop", func() bool { return ch.dead.droppedNoSet.Load() == 1 })
	_, err := ch.deadSet()
	require.ErrorIs(t, err, errNoDeadSet)
	stats := channelStatsJSON(t, n, "t", "c%23ephemeral")
	require.Equal(t, float64(1), stats["dead_dropped_count"])
	require.Equal(t, float64(0), stats["dead_count"])
	require.Empty(t, deadSetFiles(t, n))
}

// --max-dead-depth bounds the dead set: the oldest are dropped and
// counted.
func TestDeadLetterMaxDeadDepth(t *testing.T) {
	n := startDaemon(t, func(o *Options) { o.MaxAttempts = 1; o.MaxDeadDepth = 2 })
	consumer := dialV2(t, n)
	consumer.subscribe("t", "c")
	consumer.send("RDY 3")
	publish(t, n, "t", "a", "b", "c")
	for _, m := range consumer.readMessages(3) {
		consumer.req(m.ID, 0)
	}
	ch := existingChannel(t, n, "t", "c")
	waitFor(t, "three deaths", func() bool { return ch.deadLettered(queue.DeadMaxAttempts) == 3 })
	dead := deadMessages(t, ch)
	require.Len(t, dead, 2)
	require.Equal(t, uint64(1), ch.dead.droppedBound.Load())
	stats := channelStatsJSON(t, n, "t", "c")
	require.Equal(t, float64(2), stats["dead_count"])
	require.Equal(t, float64(1), stats["dead_dropped_count"])
}

// Deleting the channel deletes its dead set; a dead set an earlier run
// left is opened at start (its depth in /stats before anything dies).
func TestDeadLetterSetLifecycle(t *testing.T) {
	dir := t.TempDir()
	run := func() *NSQD {
		return startDaemon(t, func(o *Options) { o.DataPath = dir; o.MaxAttempts = 1 })
	}
	n := run()
	consumer := dialV2(t, n)
	consumer.subscribe("t", "c")
	consumer.send("RDY 1")
	publish(t, n, "t", "poison")
	consumer.req(consumer.readMessage().ID, 0)
	ch := existingChannel(t, n, "t", "c")
	waitFor(t, "the death", func() bool { return ch.deadDepth() == 1 })
	n.Exit()

	n = run()
	ch = existingChannel(t, n, "t", "c")
	require.NotNil(t, ch.dead.set.Load(), "opened at start")
	require.Equal(t, int64(1), ch.deadDepth())
	require.Equal(t, float64(1), channelStatsJSON(t, n, "t", "c")["dead_count"])

	status, body, _ := httpDo(t, "POST", httpURL(n, "/channel/delete?topic=t&channel=c"), nil)
	require.Equal(t, http.StatusOK, status, "%s", body)
	require.Empty(t, deadSetFiles(t, n))
}

// Everything off (the default): REQ and timeouts requeue as upstream,
// however often, no dead set file is created, and /stats has none of the
// dead-letter keys.
func TestDeadLetterOffByDefault(t *testing.T) {
	n := startDaemon(t, nil)
	consumer := dialV2(t, n)
	consumer.subscribe("t", "c")
	consumer.send("RDY 1")
	publish(t, n, "t", "m")
	var m = consumer.readMessage()
	for i := 0; i < 5; i++ {
		consumer.req(m.ID, 0)
		m = consumer.readMessage()
	}
	require.Equal(t, uint16(6), m.Attempts)
	consumer.fin(m.ID)
	require.Empty(t, deadSetFiles(t, n))
	stats := channelStatsJSON(t, n, "t", "c")
	for key := range stats {
		require.False(t, strings.Contains(key, "dead") || strings.Contains(key, "expired"), "key %s", key)
	}
	entries, err := os.ReadDir(n.dataPath())
	require.NoError(t, err)
	for _, e := range entries {
		require.NotContains(t, e.Name(), "deadset")
	}
	status, body, _ := httpDo(t, "GET", httpURL(n, "/metrics"), nil)
	require.Equal(t, http.StatusOK, status)
	require.Contains(t, string(body), `nsq_channel_depth{channel="c",topic="t"}`)
	require.NotContains(t, string(body), `nsq_channel_dead_depth{`)
	require.NotContains(t, string(body), `nsq_channel_expired_total{`)
}

// statsd is handed the dead-path figures of a channel whose dead path is
// on, and none for one where it is off (nsqd/metrics/statsd renders them:
// TestDeadPathLinesOnlyWhereItIsOn).
func TestDeadLetterStatsdSnapshot(t *testing.T) {
	n := startDaemon(t, func(o *Options) { o.MaxAttempts = 1 })
	topic, err := n.GetTopic("t")
	require.NoError(t, err)
	_, err = topic.GetChannel("on")
	require.NoError(t, err)
	off := startDaemon(t, nil)
	offTopic, err := off.GetTopic("t")
	require.NoError(t, err)
	_, err = offTopic.GetChannel("off")
	require.NoError(t, err)

	snap := n.statsdSnapshot()
	require.NotNil(t, snap.Topics[0].Channels[0].Dead, "--max-attempts turns the dead path on")
	require.Equal(t, int64(0), snap.Topics[0].Channels[0].Dead.Count)
	snap = off.statsdSnapshot()
	require.Nil(t, snap.Topics[0].Channels[0].Dead, "off: upstream's packets")
}

// An unmodified go-nsq consumer whose handler always fails: with
// --max-attempts 3 (below go-nsq's own limit of 5) its third failure sends
// the message to the dead set; the handler never sees a fourth delivery.
func TestDeadLetterMaxAttemptsWithGoNSQ(t *testing.T) {
	n := startDaemon(t, func(o *Options) { o.MaxAttempts = 3 })
	log := newGonsqLog(t)
	var mu sync.Mutex
	calls := map[string]int{}
	sawNext := make(chan struct{})
	gonsqConsumer(t, n, log, "t", "c", func(cfg *nsq.Config) {
		cfg.DefaultRequeueDelay = 0
		cfg.MaxBackoffDuration = 0
	}, func(m *nsq.Message) error {
		mu.Lock()
		defer mu.Unlock()
		calls[string(m.Body)]++
		if string(m.Body) == "next" {
			close(sawNext)
			return nil
		}
		return errors.New("poison")
	})
	producer := gonsqProducer(t, n, log)
	require.NoError(t, producer.Publish("t", []byte("poison")))
	ch := awaitSubscribers(t, n, "t", "c", 1)
	waitFor(t, "the poison message in the dead set", func() bool { return ch.deadDepth() == 1 })
	require.NoError(t, producer.Publish("t", []byte("next")))
	select {
	case <-sawNext:
	case <-time.After(10 * time.Second):
		t.Fatal("the next message was not delivered")
	}
	mu.Lock()
	require.Equal(t, 3, calls["poison"])
	mu.Unlock()
	dead := deadMessages(t, ch)
	require.Len(t, dead, 1)
	require.Equal(t, uint16(3), dead[0].Attempts)
}

// /channel/empty empties the channel's queue, not its dead set (which has
// its own endpoint).
func TestDeadLetterChannelEmptyKeepsTheDeadSet(t *testing.T) {
	n := startDaemon(t, func(o *Options) { o.MaxAttempts = 1 })
	consumer := dialV2(t, n)
	consumer.subscribe("t", "c")
	consumer.send("RDY 1")
	publish(t, n, "t", "poison")
	consumer.req(consumer.readMessage().ID, 0)
	ch := existingChannel(t, n, "t", "c")
	waitFor(t, "the death", func() bool { return ch.deadDepth() == 1 })
	consumer.conn.Close()
	// Published only once the consumer is gone: one still subscribed
	// would be handed it, and its disconnect would requeue it past the
	// limit, into the dead set.
	waitFor(t, "the consumer gone", func() bool {
		ch.mu.Lock()
		defer ch.mu.Unlock()
		return len(ch.clients) == 0
	})
	publish(t, n, "t", "queued")
	waitFor(t, "the message queued, no consumer left", func() bool { return ch.Depth() == 1 })
	status, body, _ := httpDo(t, "POST", httpURL(n, "/channel/empty?topic=t&channel=c"), nil)
	require.Equal(t, http.StatusOK, status, "%s", body)
	require.Equal(t, int64(0), ch.Depth())
	require.Equal(t, int64(1), ch.deadDepth())
}
