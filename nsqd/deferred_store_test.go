package nsqd

import (
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/nsqgo/nsq/internal/protocol"
	"github.com/nsqgo/nsq/nsqd/queue"
	"github.com/stretchr/testify/require"
)

// The deferred store (nsqd/queue/store.go): durable deferred messages get a
// disk queue of their own, so they survive crashes and restarts without
// holding the channel's queue on disk.

// throughDisk sends every message through disk, with small segments and a
// quick periodic sync so that removed segments show soon.
func throughDisk(o *Options) {
	o.MemQueueSize = 0
	o.MaxBytesPerFile = 2048
	o.SyncTimeout = 20 * time.Millisecond
}

// queueSegments lists the segment files of the named disk queue.
func queueSegments(t *testing.T, n *NSQD, queue string) []string {
	t.Helper()
	files, err := filepath.Glob(filepath.Join(n.opts.DataPath, queue+".diskqueue.[0-9]*.dat"))
	require.NoError(t, err)
	return files
}

func deferredCount(t *testing.T, n *NSQD, topic, channel string) int {
	t.Helper()
	ch := existingChannel(t, n, topic, channel)
	ch.mu.Lock()
	defer ch.mu.Unlock()
	return ch.queue.DeferredCount()
}

// requeuedFromDisk publishes body to t, consumes it from c (off disk) and
// REQs it with delay, returning the consumer and the message.
func requeuedFromDisk(t *testing.T, n *NSQD, body string, delay time.Duration) (*testConn, protocol.DecodedMessage) {
	t.Helper()
	c := dialV2(t, n)
	c.subscribe("t", "c")
	c.pub("t", body)
	c.send("RDY 1")
	msg := c.readMessage()
	c.req(msg.ID, delay)
	waitFor(t, "the message to be deferred", func() bool { return deferredCount(t, n, "t", "c") == 1 })
	return c, msg
}

func TestLongDeferralDoesNotHoldTheChannelQueueOnDisk(t *testing.T) {
	n := startDaemon(t, throughDisk)
	c, _ := requeuedFromDisk(t, n, "held for an hour", time.Hour)

	// Enough traffic after it to fill many segments; each is FIN'd.
	bodies := make([]string, 200)
	for i := range bodies {
		bodies[i] = fmt.Sprintf("%03d-%s", i, strings.Repeat("x", 100))
	}
	dialV2(t, n).mpub("t", bodies...)
	c.send("RDY 50")
	for range bodies {
		c.fin(c.readMessage().ID)
	}
	// A record that stays unacknowledged holds its segment and every later
	// one; the deferred message lives in its own store, so all but the
	// segment being written go.
	waitFor(t, "finished segments to be removed", func() bool {
		return len(queueSegments(t, n, "t:c")) <= 1
	})
	require.Equal(t, 1, deferredCount(t, n, "t", "c"))
	require.Len(t, queueSegments(t, n, "t:c"+queue.StoreSuffix), 1)
}

func TestDeferredMessageRequeuedFromDiskIsDeliveredOnceAfterRestart(t *testing.T) {
	n, clk := startClockedDaemon(t, throughDisk)
	onClock := func(o *Options) { throughDisk(o); o.Clock = clk }
	due := clk.Now().Add(1500 * time.Millisecond)
	_, first := requeuedFromDisk(t, n, "again later", 1500*time.Millisecond)
	// Part of the delay passes before the restart: the restored message
	// keeps its deadline rather than starting the delay again.
	clk.Advance(500 * time.Millisecond)

	n = restartDaemon(t, n, onClock)
	require.Equal(t, 1, deferredCount(t, n, "t", "c"), "restored from the store")
	again := dialV2(t, n)
	again.subscribe("t", "c")
	again.send("RDY 10")
	expectDeferredUntil(t, n, clk, again, "t", "c", due)
	msg := again.readMessage()
	require.Equal(t, "again later", string(msg.Body))
	require.Equal(t, first.ID, msg.ID)
	again.fin(msg.ID)

	// FIN'd, it is gone from the store too: nothing is delivered again, and
	// the next restart delivers nothing.
	waitFor(t, "the FIN to be processed", func() bool {
		return existingChannel(t, n, "t", "c").inFlightCount.Load() == 0
	})
	require.Zero(t, existingChannel(t, n, "t", "c").Depth())
	require.Zero(t, deferredCount(t, n, "t", "c"))
	again.expectNoFrame(50 * time.Millisecond)
	n = restartDaemon(t, n, onClock)
	require.Zero(t, deferredCount(t, n, "t", "c"))
	require.Zero(t, existingChannel(t, n, "t", "c").Depth())
}

func TestDeferredPublishThroughDiskIsStoredAtOnce(t *testing.T) {
	n := startDaemon(t, throughDisk)
	topic, err := n.GetTopic("t")
	require.NoError(t, err)
	_, err = topic.GetChannel("c")
	require.NoError(t, err)
	p := dialV2(t, n)
	p.send("DPUB t 3600000", []byte("next hour"))
	p.expectResponse("OK")
	// On disk before the publisher hears OK, not only in memory: the store's
	// segment holds the body.
	segments := queueSegments(t, n, "t:c"+queue.StoreSuffix)
	require.Len(t, segments, 1)
	require.Equal(t, 1, deferredCount(t, n, "t", "c"))
}

func TestEmptyChannelDropsItsStoredDeferredMessages(t *testing.T) {
	n := startDaemon(t, throughDisk)
	ch := existingChannelAfterSub(t, n)
	p := dialV2(t, n)
	p.send("DPUB t 3600000", []byte("next hour"))
	p.expectResponse("OK")
	require.Equal(t, 1, deferredCount(t, n, "t", "c"))
	require.NoError(t, ch.Empty())

	n = restartDaemon(t, n, throughDisk)
	require.Zero(t, deferredCount(t, n, "t", "c"))
}

func TestDeletingChannelRemovesItsDeferredStore(t *testing.T) {
	n := startDaemon(t, throughDisk)
	existingChannelAfterSub(t, n)
	p := dialV2(t, n)
	p.send("DPUB t 3600000", []byte("next hour"))
	p.expectResponse("OK")
	require.NotEmpty(t, queueSegments(t, n, "t:c"+queue.StoreSuffix))

	topic, err := n.GetExistingTopic("t")
	require.NoError(t, err)
	require.NoError(t, topic.DeleteExistingChannel("c"))
	files, err := filepath.Glob(filepath.Join(n.opts.DataPath, "t:c*"))
	require.NoError(t, err)
	require.Empty(t, files)
}

// existingChannelAfterSub creates t/c the way a consumer does.
func existingChannelAfterSub(t *testing.T, n *NSQD) *Channel {
	t.Helper()
	return existingChannelOf(t, n, "t", "c")
}

func TestShortDelaysChurningPastALongOneDoNotPileUpInTheStore(t *testing.T) {
	// On the daemon's fake clock, one message at a time: how many are
	// deferred at once (which decides when compaction is due) is then the
	// test's, not the scheduler's.
	n, fake := startClockedDaemon(t, throughDisk)
	c, _ := requeuedFromDisk(t, n, "held for an hour", time.Hour)
	ch := existingChannel(t, n, "t", "c")
	deferred := func() int {
		ch.mu.Lock()
		defer ch.mu.Unlock()
		return ch.queue.DeferredCount()
	}
	const churn = 300
	bodies := make([]string, churn)
	for i := range bodies {
		bodies[i] = fmt.Sprintf("%03d-%s", i, strings.Repeat("y", 100))
	}
	dialV2(t, n).mpub("t", bodies...)
	// Each message is requeued once with a 1 ms delay, through the store,
	// then finished: some 45 KB pass through a store whose 2 KB segments
	// would all stay behind the hour-long record without compaction.
	for finished := 0; finished < churn; {
		m := c.readMessage()
		if m.Attempts == 1 {
			c.req(m.ID, time.Millisecond)
			waitFor(t, "the REQ's deferral", func() bool { return deferred() == 2 })
			fake.Advance(time.Millisecond)
			continue
		}
		c.fin(m.ID)
		finished++
	}
	// Some 21 segments of churn; after the last compaction at most about
	// two segments' worth plus the live record and the one being written
	// remain.
	waitFor(t, "the store's dead segments to be removed", func() bool {
		return len(queueSegments(t, n, "t:c"+queue.StoreSuffix)) <= 8
	})
	require.Equal(t, 1, deferredCount(t, n, "t", "c"))
}
