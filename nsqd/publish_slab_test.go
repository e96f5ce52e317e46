package nsqd

import (
	"fmt"
	"io"
	"testing"
	"time"

	"github.com/nsqgo/nsq/internal/protocol"
	"github.com/stretchr/testify/require"
)

// A publishing connection reuses the memory of bodies that went only to
// disk. Batches that straddle --mem-queue-size (some copies kept in memory,
// the rest on disk), a second channel past its bound at a different point,
// and PUBs between MPUBs must all be delivered byte for byte: no body kept
// in memory may share memory with a later publish.
func TestPublishReusesOnlyBodiesNothingKept(t *testing.T) {
	n := startDaemon(t, func(o *Options) { o.MemQueueSize = 7 })
	topic, err := n.GetTopic("slabs")
	require.NoError(t, err)
	for _, name := range []string{"a", "b"} {
		_, err := topic.GetChannel(name)
		require.NoError(t, err)
	}
	// Channel b starts with a backlog, so it overflows to disk sooner.
	pre, err := topic.GetExistingChannel("b")
	require.NoError(t, err)
	backlog := []Message{{Body: []byte("pre-0")}, {Body: []byte("pre-1")}, {Body: []byte("pre-2")}}
	for i := range backlog {
		protocol.FormatID(1<<40+uint64(i), &backlog[i].ID) // IDs the topic never issues
		backlog[i].Timestamp = time.Now().UnixNano()
	}
	_, err = pre.put(backlog)
	require.NoError(t, err)

	producer := dialV2(t, n)
	var want []string
	for batch := 0; batch < 12; batch++ {
		bodies := numbered(fmt.Sprintf("batch-%02d-message-", batch), 3+batch%4)
		producer.mpub("slabs", bodies...)
		want = append(want, bodies...)
		single := fmt.Sprintf("single-%02d", batch)
		producer.pub("slabs", single)
		want = append(want, single)
	}

	for _, name := range []string{"a", "b"} {
		expected := want
		if name == "b" {
			expected = append([]string{"pre-0", "pre-1", "pre-2"}, want...)
		}
		consumer := dialV2(t, n)
		consumer.subscribe("slabs", name)
		consumer.send(fmt.Sprintf("RDY %d", len(expected)))
		got := map[string]int{}
		for _, m := range consumer.readMessages(len(expected)) {
			got[string(m.Body)]++
			consumer.fin(m.ID)
		}
		for _, body := range expected {
			require.Equal(t, 1, got[body], "channel %s: body %q delivered %d times (got %v)", name, body, got[body], got)
		}
	}
}

// The retained report is what makes reuse safe: a channel with room keeps
// the batch, one past its bound does not.
func TestChannelPutReportsWhetherItKeptMessages(t *testing.T) {
	n := startDaemon(t, func(o *Options) { o.MemQueueSize = 2 })
	topic, err := n.GetTopic("kept")
	require.NoError(t, err)
	ch, err := topic.GetChannel("c")
	require.NoError(t, err)
	retained, err := ch.put([]Message{{Body: []byte("one")}})
	require.NoError(t, err)
	require.True(t, retained, "the first message fits in memory")
	retained, err = ch.put([]Message{{Body: []byte("two")}, {Body: []byte("three")}})
	require.NoError(t, err)
	require.True(t, retained, "one of two fits in memory")
	retained, err = ch.put([]Message{{Body: []byte("four")}})
	require.NoError(t, err)
	require.False(t, retained, "memory is full: the message went to disk only")
	retained, err = ch.put([]Message{{Body: []byte("later"), DeliverAt: 1 << 62}})
	require.NoError(t, err)
	require.True(t, retained, "a deferred message is kept in the heap")
	require.Equal(t, int64(4), ch.Depth(), "two in memory, two on disk")
}

// BenchmarkPublishDisk measures the publish path through disk
// (--mem-queue-size=0): bodies are encoded to disk and their memory reused.
func BenchmarkPublishDisk(b *testing.B) {
	n := startDaemon(b, func(o *Options) { o.MemQueueSize = 0; o.Logger = io.Discard })
	topic, _ := n.GetTopic("bench")
	topic.GetChannel("ch")
	const batch = 200
	b.SetBytes(200)
	b.ReportAllocs()
	b.ResetTimer()
	publishBatches(b, n, "bench", (b.N+batch-1)/batch, batch, 200)
}
