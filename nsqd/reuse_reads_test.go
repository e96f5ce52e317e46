package nsqd

import (
	"bytes"
	"fmt"
	"strconv"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// reuseBody is message i's body: 150 bytes that name i, so that a body
// overwritten by another message's bytes shows.
func reuseBody(i int) string {
	return string(bytes.Repeat(fmt.Appendf(nil, "m%07d|", i), 150/9+1)[:150])
}

// reuseBodyIndex returns the i a body claims to be, and whether the whole
// body is intact.
func reuseBodyIndex(b []byte) (int, bool) {
	i, err := strconv.Atoi(string(b[1:8]))
	return i, err == nil && string(b) == reuseBody(i)
}

// In disk mode a channel's backlog reuses the memory of finished messages
// (nsqd/queue/reuse.go). A consumer that FINs some messages and REQs
// others (at once, and with a delay: the deferred store), while more are
// published and read, receives every body intact, every time.
func TestDiskChannelDeliversIntactBodiesWhileReusingReadMemory(t *testing.T) {
	n := startDaemon(t, func(o *Options) { o.MemQueueSize = 0 })
	producer := dialV2(t, n)
	const total = 3000
	published := 0
	publishBatch := func() {
		bodies := make([]string, 0, 200)
		for range 200 {
			bodies = append(bodies, reuseBody(published))
			published++
		}
		producer.mpub("t", bodies...)
	}
	publishBatch()
	consumer := dialV2(t, n)
	consumer.subscribe("t", "c")
	consumer.send("RDY 150")

	finished := make(map[int]bool, total)
	requeued := map[int]int{}
	first := map[string]string{} // each ID's body when first delivered
	for len(finished) < total {
		if published < total && published-len(finished) < 400 {
			publishBatch()
		}
		m := consumer.readMessage()
		i, intact := reuseBodyIndex(m.Body)
		require.True(t, intact, "message %s (attempt %d) arrived as %q", m.ID[:], m.Attempts, m.Body)
		// A reused slab holds other whole messages, each intact in itself:
		// a redelivery must bring the body its ID first came with.
		if was, ok := first[string(m.ID[:])]; ok {
			require.Equal(t, was, string(m.Body), "message %s redelivered (attempt %d)", m.ID[:], m.Attempts)
		} else {
			first[string(m.ID[:])] = string(m.Body)
		}
		switch {
		case i%7 == 0 && requeued[i] == 0:
			requeued[i]++
			consumer.req(m.ID, 0) // back through the disk backlog
		case i%11 == 0 && requeued[i] == 0:
			requeued[i]++
			consumer.req(m.ID, 20*time.Millisecond) // the deferred store
		default:
			require.False(t, finished[i], "message %d finished twice", i)
			finished[i] = true
			consumer.fin(m.ID)
		}
	}
	ch := existingChannel(t, n, "t", "c")
	waitFor(t, "every FIN", func() bool { return ch.Depth() == 0 && ch.inFlightCount.Load() == 0 })
}

// The topic's disk backlog is handed to its channels: a memory channel (an
// ephemeral one) keeps the bodies, while the disk channel beside it reads,
// finishes and reuses its own read memory. The memory channel's bodies stay
// intact: the topic's reads are never reused (its records are released
// once the channels hold the messages, backend_disk.go).
func TestTopicHandOffToAMemoryChannelKeepsBodies(t *testing.T) {
	n := startDaemon(t, func(o *Options) { o.MemQueueSize = 0 })
	topic, err := n.GetTopic("t")
	require.NoError(t, err)
	_, err = topic.GetChannel("disk")
	require.NoError(t, err)
	memory := dialV2(t, n)
	memory.subscribe("t", "mem#ephemeral")
	// An ephemeral channel at mem-queue-size 0 holds what its consumers
	// can take, and drops the rest: credit for every message the test
	// publishes (300, then 3 x 100 while the disk channel reads), since
	// the later ones may reach it before the last of the first 300 (the
	// topic's hand-off keeps no order between a draining backlog and new
	// publishes; it failed 1 in 5 under load with credit for 300).
	memory.send("RDY 600")
	memoryCh := existingChannel(t, n, "t", "mem#ephemeral")
	waitFor(t, "the memory consumer's credit", func() bool {
		memoryCh.mu.Lock()
		defer memoryCh.mu.Unlock()
		return memoryCh.consumerCreditLocked() >= 600
	})

	topic.Pause()
	producer := dialV2(t, n)
	bodies := make([]string, 0, 300)
	for i := range 300 {
		bodies = append(bodies, reuseBody(i))
	}
	producer.mpub("t", bodies...)
	topic.Unpause()

	// The disk channel churns its read memory meanwhile.
	disk := dialV2(t, n)
	disk.subscribe("t", "disk")
	disk.send("RDY 100")
	for i := 0; i < 300; i++ {
		m := disk.readMessage()
		_, intact := reuseBodyIndex(m.Body)
		require.True(t, intact, "disk channel: %q", m.Body)
		disk.fin(m.ID)
		if i%100 == 99 {
			more := make([]string, 0, 100)
			for j := range 100 {
				more = append(more, reuseBody(1000+i+j))
			}
			producer.mpub("t", more...)
		}
	}
	seen := map[int]bool{}
	for len(seen) < 300 {
		m := memory.readMessage()
		i, intact := reuseBodyIndex(m.Body)
		require.True(t, intact, "memory channel: %q", m.Body)
		if i < 300 {
			seen[i] = true
		}
		memory.fin(m.ID)
	}
}

// A peek at the messages in flight outlives the FINs that follow it (the
// HTTP answer is written after the locks are released): its bodies are
// copies, intact while the channel reuses the finished messages' memory.
func TestPeekInFlightKeepsBodiesPastFin(t *testing.T) {
	n := startDaemon(t, func(o *Options) { o.MemQueueSize = 0 })
	producer := dialV2(t, n)
	published := 0
	publishBatch := func() {
		bodies := make([]string, 0, 100)
		for range 100 {
			bodies = append(bodies, reuseBody(published))
			published++
		}
		producer.mpub("t", bodies...)
	}
	publishBatch()
	consumer := dialV2(t, n)
	consumer.subscribe("t", "c")
	consumer.send("RDY 100")
	held := consumer.readMessages(100)
	ch := existingChannel(t, n, "t", "c")
	peeked := ch.peekInFlight(100)
	require.Len(t, peeked, 100)
	for _, m := range held {
		consumer.fin(m.ID)
	}
	for range 10 { // more reads, into the memory the FINs freed
		publishBatch()
		for _, m := range consumer.readMessages(100) {
			consumer.fin(m.ID)
		}
	}
	sent := map[string]string{} // what the consumer was sent, by ID
	for _, m := range held {
		sent[string(m.ID[:])] = string(m.Body)
	}
	for _, p := range peeked {
		// Compared with what was sent: a reused slab holds other whole
		// messages, each one intact in itself.
		require.Equal(t, sent[string(p.ID[:])], string(p.Body), "peeked %s", p.ID[:])
	}
}
