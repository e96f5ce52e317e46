package nsqd

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"runtime"
	"strconv"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/nsqgo/nsq/internal/protocol"
)

// A publisher's body memory is reused for its next batch only when no
// queue kept any body of the batch in memory (body_alloc.go,
// Topic.publish). These tests publish in disk mode, where reuse happens,
// beside queues that keep bodies in memory (an ephemeral channel fed by a
// consumer's credit, deferred messages, a channel created while publishing,
// a paused topic's hand-over), and check every delivered body byte for
// byte: a body reused while a queue still referred to it would arrive
// holding a later message's bytes.

// pubBody is message k's body: bytes that name it, in sizes that share
// slabs, take a big body of their own (over slabMaxBody) or a 64 KB one.
func pubBody(k int) []byte {
	sizes := [...]int{16, 200, 37, 1000, 9000, 200, 64 << 10, 120, slabMaxBody, slabMaxBody + 1, 300, 20000}
	size := sizes[k%len(sizes)] + k%7
	name := fmt.Appendf(nil, "<%d>", k)
	return bytes.Repeat(name, size/len(name)+1)[:size]
}

// pubBodyIndex is the message a body names, or -1.
func pubBodyIndex(b []byte) int {
	end := bytes.IndexByte(b, '>')
	if len(b) < 3 || b[0] != '<' || end < 0 {
		return -1
	}
	k, err := strconv.Atoi(string(b[1:end]))
	if err != nil {
		return -1
	}
	return k
}

// checkedConsumer subscribes conn and FINs what it is sent after checking
// each body against pubBody; with reqEvery above 0 it first REQs every
// reqEvery-th message once (with a short delay every other time). It
// returns the messages it finished once enough says so, or the first
// error (a read error once the test closed conn ends it too). It reports
// instead of failing the test, so it may run on a goroutine of its own.
func checkedConsumer(conn net.Conn, topic, channel string, rdy, reqEvery int, enough func(finished map[int]bool) bool) (map[int]bool, error) {
	finished := map[int]bool{}
	w := bufio.NewWriter(conn)
	fmt.Fprintf(w, "%sSUB %s %s\nRDY %d\n", protocol.MagicV2, topic, channel, rdy)
	if err := w.Flush(); err != nil {
		return finished, err
	}
	r := bufio.NewReaderSize(conn, 128<<10)
	var head [8]byte
	for enough == nil || !enough(finished) {
		conn.SetReadDeadline(time.Now().Add(30 * time.Second))
		if _, err := io.ReadFull(r, head[:]); err != nil {
			return finished, fmt.Errorf("%s: %d finished: %w", channel, len(finished), err)
		}
		data := make([]byte, binary.BigEndian.Uint32(head[:4])-4)
		if _, err := io.ReadFull(r, data); err != nil {
			return finished, err
		}
		switch int32(binary.BigEndian.Uint32(head[4:])) {
		case protocol.FrameTypeResponse:
			if string(data) == string(protocol.Heartbeat) {
				w.WriteString("NOP\n")
			}
			continue
		case protocol.FrameTypeError:
			return finished, fmt.Errorf("%s: error frame %q", channel, data)
		}
		m, err := protocol.DecodeMessage(data)
		if err != nil {
			return finished, err
		}
		k := pubBodyIndex(m.Body)
		if k < 0 {
			return finished, fmt.Errorf("%s: a body that names no message: %.40q", channel, m.Body)
		}
		if want := pubBody(k); !bytes.Equal(m.Body, want) {
			return finished, fmt.Errorf("%s: message %d (attempt %d): body changed: %d bytes %.60q, want %d bytes",
				channel, k, m.Attempts, len(m.Body), m.Body, len(want))
		}
		if finished[k] {
			return finished, fmt.Errorf("%s: message %d delivered after its FIN", channel, k)
		}
		if reqEvery > 0 && k%reqEvery == 0 && m.Attempts == 1 {
			fmt.Fprintf(w, "REQ %s %d\n", m.ID[:], (k/reqEvery)%2*5)
		} else {
			finished[k] = true
			fmt.Fprintf(w, "FIN %s\n", m.ID[:])
		}
		if r.Buffered() < 8 {
			if err := w.Flush(); err != nil {
				return finished, err
			}
		}
	}
	return finished, w.Flush()
}

func dialRawTCP(t *testing.T, n *NSQD) net.Conn {
	conn, err := net.DialTimeout("tcp", n.RealTCPAddr().String(), 5*time.Second)
	require.NoError(t, err)
	t.Cleanup(func() { conn.Close() })
	return conn
}

func TestPublishReuseKeepsEveryBodyIntact(t *testing.T) {
	n := startDaemon(t, func(o *Options) { o.MemQueueSize = 0; o.Logger = io.Discard })
	const topicName = "reuse"
	topic, err := n.GetTopic(topicName)
	require.NoError(t, err)
	_, err = topic.GetChannel("disk")
	require.NoError(t, err)

	// A memory-only channel whose consumer takes messages while the
	// publisher runs: a batch is kept in memory when the consumer has
	// credit, dropped for this channel (and so only on disk) when not.
	type result struct {
		finished map[int]bool
		err      error
	}
	memConn := dialRawTCP(t, n)
	memDone := make(chan result, 1)
	go func() {
		f, err := checkedConsumer(memConn, topicName, "mem#ephemeral", 4, 0, nil)
		memDone <- result{f, err}
	}()
	mem := awaitSubscribers(t, n, topicName, "mem#ephemeral", 1)

	producer := dialV2(t, n)
	next := 0
	round := func(r int) {
		count := 1 + r%20
		bodies := make([]string, count)
		for j := range bodies {
			bodies[j] = string(pubBody(next))
			next++
		}
		producer.mpub(topicName, bodies...)
		if r%3 == 0 {
			producer.pub(topicName, string(pubBody(next)))
			next++
		}
		if r%5 == 0 { // deferred: in the deferred heap (and store), kept
			producer.send(fmt.Sprintf("DPUB %s %d", topicName, 10+r%20), pubBody(next))
			producer.expectResponse("OK")
			next++
		}
	}

	r := 0
	for ; r < 30; r++ {
		round(r)
	}
	// A channel created while the publisher runs: it has every message
	// published once its creation returned.
	created := make(chan error, 1)
	go func() {
		_, err := topic.GetChannel("late")
		created <- err
	}()
	firstLate := -1
	for ; r < 60; r++ {
		select {
		case err := <-created:
			require.NoError(t, err)
			firstLate = next
			created = nil
		default:
		}
		round(r)
	}
	if firstLate < 0 {
		require.NoError(t, <-created)
		firstLate = next
	}
	// A paused topic holds what is published (on disk at
	// --mem-queue-size=0) and hands it over when it resumes.
	topic.Pause()
	for ; r < 90; r++ {
		round(r)
	}
	topic.Unpause()
	for ; r < 100; r++ {
		round(r)
	}
	require.NotZero(t, n.bodiesReused.Load(), "no body was read into reused memory: the test proves nothing")
	t.Logf("%d messages, %d body bytes read into reused memory", next, n.bodiesReused.Load())

	// The memory channel has handed out all it kept (unless its consumer
	// stopped at a changed body).
	var res result
	waitFor(t, "the memory channel to be drained", func() bool {
		select {
		case res = <-memDone:
			require.NoError(t, res.err, "the memory channel's consumer")
		default:
		}
		mem.mu.Lock()
		defer mem.mu.Unlock()
		return topic.Depth() == 0 && mem.queue.Depth() == 0 && mem.queue.DeferredCount() == 0 && mem.inFlightCount.Load() == 0
	})
	memConn.Close()
	res = <-memDone
	if !errors.Is(res.err, net.ErrClosed) {
		require.NoError(t, res.err, "the memory channel's consumer")
	}
	require.NotEmpty(t, res.finished, "the memory channel's consumer got nothing: the test proves nothing")
	t.Logf("the memory channel delivered %d messages", len(res.finished))

	all := func(from int) func(map[int]bool) bool {
		return func(f map[int]bool) bool {
			for k := from; k < next; k++ {
				if !f[k] {
					return false
				}
			}
			return true
		}
	}
	finished, err := checkedConsumer(dialRawTCP(t, n), topicName, "disk", 50, 7, all(0))
	require.NoError(t, err, "the disk channel")
	require.Len(t, finished, next)
	_, err = checkedConsumer(dialRawTCP(t, n), topicName, "late", 50, 11, all(firstLate))
	require.NoError(t, err, "the channel created while publishing")
}

// In disk mode a publisher's batches reuse the memory of the ones before:
// the daemon allocates a small part of the bodies' bytes, not all of them.
func TestPublishToDiskReusesBodyMemory(t *testing.T) {
	for _, shape := range []struct{ batch, size int }{{200, 500}, {20, 64 << 10}} {
		t.Run(fmt.Sprintf("%dx%d", shape.batch, shape.size), func(t *testing.T) {
			n := startDaemon(t, func(o *Options) { o.MemQueueSize = 0; o.Logger = io.Discard })
			topic, err := n.GetTopic("alloc")
			require.NoError(t, err)
			_, err = topic.GetChannel("ch")
			require.NoError(t, err)
			conn := dialRawTCP(t, n)
			_, err = conn.Write([]byte(protocol.MagicV2))
			require.NoError(t, err)
			payload := mpubPayload("alloc", shape.batch, shape.size)
			r := bufio.NewReader(conn)
			var head [8]byte
			reply := make([]byte, 256)
			publish := func(batches int) {
				for range batches {
					_, err := conn.Write(payload)
					require.NoError(t, err)
					conn.SetReadDeadline(time.Now().Add(30 * time.Second))
					_, err = io.ReadFull(r, head[:])
					require.NoError(t, err)
					data := reply[:binary.BigEndian.Uint32(head[:4])-4]
					_, err = io.ReadFull(r, data)
					require.NoError(t, err)
					require.Equal(t, "OK", string(data))
				}
			}
			publish(5)
			const batches = 60
			var before, after runtime.MemStats
			runtime.ReadMemStats(&before)
			publish(batches)
			runtime.ReadMemStats(&after)
			bodies := uint64(batches * shape.batch * shape.size)
			allocated := after.TotalAlloc - before.TotalAlloc
			t.Logf("%d body bytes published, %d bytes allocated", bodies, allocated)
			require.Less(t, allocated, bodies/4, "publishing to disk allocated its bodies")
			require.NotZero(t, n.bodiesReused.Load())
		})
	}
}

// BenchmarkPublishDisk64K is BenchmarkPublishDisk with 64 KB bodies in
// MPUBs of 50. One op is one message.
func BenchmarkPublishDisk64K(b *testing.B) {
	n := startDaemon(b, func(o *Options) { o.MemQueueSize = 0; o.Logger = io.Discard })
	topic, _ := n.GetTopic("bench")
	topic.GetChannel("ch")
	const batch, size = 50, 64 << 10
	b.SetBytes(size)
	b.ReportAllocs()
	b.ResetTimer()
	publishBatches(b, n, "bench", (b.N+batch-1)/batch, batch, size)
}

// A departing consumer's in-flight messages go back to the channel
// requeueChunk at a time (Channel.requeue): more than a chunk of them, on
// disk, all come back intact to the next consumer.
func TestDepartingConsumerRequeuesEveryChunk(t *testing.T) {
	n := startDaemon(t, func(o *Options) { o.MemQueueSize = 0; o.Logger = io.Discard })
	const count = 3*requeueChunk + 17
	producer := dialV2(t, n)
	bodies := make([]string, count)
	for k := range bodies {
		bodies[k] = string(pubBody(k % 12)) // small and big bodies
		bodies[k] = fmt.Sprintf("<%d>", k) + bodies[k][min(len(bodies[k]), 8):]
	}
	_, err := n.GetTopic("departing")
	require.NoError(t, err)
	topic, _ := n.GetExistingTopic("departing")
	_, err = topic.GetChannel("ch")
	require.NoError(t, err)
	for k := 0; k < count; k += 100 {
		producer.mpub("departing", bodies[k:min(k+100, count)]...)
	}
	first := dialV2(t, n)
	first.subscribe("departing", "ch")
	first.send(fmt.Sprintf("RDY %d", count))
	got := first.readMessages(count)
	require.Len(t, got, count)
	first.conn.Close()

	second := dialV2(t, n)
	second.subscribe("departing", "ch")
	second.send(fmt.Sprintf("RDY %d", 100))
	seen := map[string]bool{}
	for len(seen) < count {
		m := second.readMessage()
		require.Equal(t, uint16(2), m.Attempts, "a message the first consumer held")
		k := pubBodyIndex(m.Body)
		require.GreaterOrEqual(t, k, 0)
		require.Equal(t, bodies[k], string(m.Body))
		require.False(t, seen[string(m.Body)], "message %d twice", k)
		seen[string(m.Body)] = true
		second.fin(m.ID)
	}
}
