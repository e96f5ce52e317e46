package queue

import (
	"bytes"
	"fmt"
	"runtime"
	"strconv"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/nsqgo/nsq/internal/diskqueue"
	"github.com/nsqgo/nsq/internal/protocol"
)

// reuseQueue is a queue on real files with Config.ReuseReads, as a channel
// opens it, driven the way the channel drives it. Kill keeps the bodies it
// is given, as a dead-letter topic's memory queue would.
type reuseQueue struct {
	t      *testing.T
	q      *Queue
	now    int64
	next   int
	policy Policy
	killed []Dying
	size   int // bytes per body
}

// Body sizes the reuse tests run with: small records share slabs, a 64 KB
// message's record is larger than them and has a slab of its own
// (internal/diskqueue/readmem.go).
var reuseBodySizes = [...]int{150, 64 << 10}

func openReuseQueue(t *testing.T, memSize int) *reuseQueue {
	return openReuseQueueSized(t, memSize, 150)
}

func openReuseQueueSized(t *testing.T, memSize, size int) *reuseQueue {
	r := &reuseQueue{t: t, size: size, now: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC).UnixNano()}
	q, err := Open(Config{
		Name:       "t:c",
		MemSize:    memSize,
		ReuseReads: true,
		Disk: &diskqueue.Options{
			Dir: t.TempDir(), MaxBytesPerFile: max(1<<20, 128*int64(size)),
			MinMsgSize: protocol.MessageHeaderLength, MaxMsgSize: 1 << 17,
			SyncEvery: 1, SyncTimeout: time.Hour,
		},
		Policy: func() Policy { return r.policy },
		Kill: func(dying []Dying, _ int64) error {
			r.killed = append(r.killed, dying...)
			return nil
		},
	})
	require.NoError(t, err)
	t.Cleanup(func() { q.Close() })
	r.q = q
	return r
}

// body is message i's body of a queue opened with openReuseQueue.
func body(i int) []byte { return bodyOf(i, 150) }

// bodyOf is message i's body: size bytes that name it.
func bodyOf(i, size int) []byte {
	return bytes.Repeat(fmt.Appendf(nil, "message %08d|", i), size/17+1)[:size]
}

func (r *reuseQueue) body(i int) []byte { return bodyOf(i, r.size) }

// publish writes n new messages to the backlog (whatever MemSize says).
func (r *reuseQueue) publish(n int) {
	msgs := make([]Message, n)
	for i := range msgs {
		msgs[i] = Message{Body: r.body(r.next), Timestamp: r.now}
		protocol.FormatID(uint64(r.next+1), &msgs[i].ID)
		r.next++
	}
	r.settle(r.q.PutToDisk(msgs, r.now))
}

func (r *reuseQueue) settle(p *Pending) {
	for p != nil {
		r.q.Commit(p)
		var err error
		p, err = r.q.Settle(p)
		require.NoError(r.t, err)
	}
}

// read takes up to n messages from the backlog as a consumer does; those
// not due go where the channel sends them (Defer).
func (r *reuseQueue) read(n int) []Message {
	var msgs []Message
	// A disk Read returns at most 256 KB of records (internal/diskqueue's
	// maxReadBytes), so big messages take several reads.
	for got := 0; got < n; {
		start := len(msgs)
		var later []Message
		var err error
		msgs, later, err = r.q.ReadBacklog(msgs, n-got, r.now, nil)
		require.NoError(r.t, err)
		r.settle(r.q.Defer(later, r.now, nil))
		read := len(msgs) - start + len(later)
		if read == 0 {
			break
		}
		got += read
	}
	for i := range msgs {
		msgs[i].Attempts++
	}
	return msgs
}

// churn publishes, reads and finishes enough messages that any slab freed
// before it is reused, and its bytes overwritten.
// reuseBatch is how many messages a reuse test publishes and reads at a
// time: enough to fill several slabs of small records, and for big ones,
// which get a slab each, fewer (each is 64 KB written, read and compared).
func reuseBatch(size int) int {
	if size > 8<<10 {
		return 16
	}
	return 64
}

func (r *reuseQueue) churn() {
	rounds := 20
	if r.size > 8<<10 {
		rounds = 3 // a slab per message: the first round reuses them all
	}
	n := reuseBatch(r.size)
	for range rounds {
		r.publish(n)
		for _, m := range r.read(n) {
			i, err := strconv.Atoi(string(m.Body[len("message "):len("message 00000000")]))
			require.NoError(r.t, err)
			require.Equal(r.t, string(r.body(i)), string(m.Body), "a body as read")
			r.q.Finish(&m)
		}
	}
}

// kept is a body somebody still reads: a copy of what it must stay.
type kept struct {
	body, want []byte
}

func keep(b []byte) kept { return kept{body: b, want: bytes.Clone(b)} }

func (k kept) check(t *testing.T, what string) {
	t.Helper()
	require.Equal(t, string(k.want), string(k.body), "%s: body overwritten", what)
}

// The control for the tests below: a finished message's memory is reused,
// so a body read after Finish is overwritten by later reads. Without that,
// the tests that bodies stay intact would prove nothing.
func TestReuseReadsReusesFinishedMemory(t *testing.T) {
	for _, size := range reuseBodySizes {
		t.Run(fmt.Sprintf("body=%d", size), func(t *testing.T) { testReuseReadsReusesFinishedMemory(t, size) })
	}
}

func testReuseReadsReusesFinishedMemory(t *testing.T, size int) {
	r := openReuseQueueSized(t, 0, size)
	n := reuseBatch(size) // as churn reads
	r.publish(n)
	msgs := r.read(n)
	stale := keep(msgs[0].Body)
	for i := range msgs {
		r.q.Finish(&msgs[i])
	}
	r.churn()
	require.NotEqual(t, string(stale.want), string(stale.body), "finished memory was not reused")
}

// A consumer reading from the backlog and finishing what it read allocates
// nothing: the read memory, and the record slice, are reused.
func TestReuseReadsReadAndFinishAllocateNothing(t *testing.T) {
	for _, size := range reuseBodySizes {
		t.Run(fmt.Sprintf("body=%d", size), func(t *testing.T) { testReuseReadsReadAndFinishAllocateNothing(t, size) })
	}
}

func testReuseReadsReadAndFinishAllocateNothing(t *testing.T, size int) {
	runs, batch := 50, 64
	if size > 8<<10 {
		// Within one segment: opening the next one allocates.
		runs, batch = 60, 2
	}
	require.Zero(t, readAndFinishAllocs(t, size, runs, batch, func() {}))
}

// A steady consumer keeps its record slice even when collections empty the
// sync.Pool between its reads (and -race drops a quarter of its Puts): the
// spare slot (reuse.go) does not depend on the pool.
func TestReuseReadsKeepRecordSliceAcrossCollections(t *testing.T) {
	require.Zero(t, readAndFinishAllocs(t, 200, 20, 64, func() {
		runtime.GC() // twice: a sync.Pool keeps its items over one
		runtime.GC()
	}))
}

// readAndFinishAllocs publishes enough messages of size bytes to the
// backlog, then counts the allocations per read of batch of them, each
// finished, over runs reads after a first one (which allocates what later
// ones reuse); before is called before each read.
func readAndFinishAllocs(t *testing.T, size, runs, batch int, before func()) float64 {
	t.Helper()
	r := openReuseQueueSized(t, 0, size)
	r.publish((runs + 2) * batch)
	msgs := make([]Message, 0, batch)
	readAndFinish := func() {
		before()
		var err error
		msgs, _, err = r.q.ReadBacklog(msgs[:0], batch, r.now, nil)
		if err != nil || len(msgs) != batch {
			t.Fatalf("read %d messages: %v", len(msgs), err)
		}
		for i := range msgs {
			r.q.Finish(&msgs[i])
		}
	}
	readAndFinish()
	return testing.AllocsPerRun(runs, readAndFinish)
}

// A body that somebody still reads after its record was released must stay
// intact while later reads reuse memory: in every path that keeps a body
// past the record (reuse.go), then more reads and finishes.
func TestReuseReadsKeepsBodiesInUse(t *testing.T) {
	for _, size := range reuseBodySizes {
		t.Run(fmt.Sprintf("body=%d", size), func(t *testing.T) { testReuseReadsKeepsBodiesInUse(t, size) })
	}
}

func testReuseReadsKeepsBodiesInUse(t *testing.T, size int) {
	n := reuseBatch(size)
	t.Run("requeued to memory, finished by another consumer", func(t *testing.T) {
		// The first consumer's write may still be under way (a timeout
		// fires while its socket is blocked): a second consumer takes and
		// finishes the message meanwhile.
		r := openReuseQueueSized(t, 100, size)
		r.publish(n)
		msgs := r.read(n)
		writing := keep(msgs[0].Body)
		r.settle(r.q.Requeue(msgs[:1], r.now))
		again, fromBacklog, p := r.q.Take(nil, 1, r.now)
		r.settle(p)
		require.Zero(t, fromBacklog)
		require.Len(t, again, 1)
		require.Equal(t, msgs[0].ID, again[0].ID)
		r.q.Finish(&again[0])
		for i := 1; i < len(msgs); i++ {
			r.q.Finish(&msgs[i])
		}
		r.churn()
		writing.check(t, "consumer still writing a requeued message")
	})
	t.Run("requeued through the backlog", func(t *testing.T) {
		r := openReuseQueueSized(t, 0, size)
		r.publish(n)
		msgs := r.read(n)
		writing := keep(msgs[0].Body)
		r.settle(r.q.Requeue(msgs[:1], r.now))
		for i := 1; i < len(msgs); i++ {
			r.q.Finish(&msgs[i])
		}
		r.churn()
		writing.check(t, "consumer still writing a requeued message")
	})
	t.Run("deferred store", func(t *testing.T) {
		r := openReuseQueueSized(t, 0, size)
		r.publish(n)
		msgs := r.read(n)
		writing := keep(msgs[0].Body)
		msgs[0].DeliverAt = r.now + int64(time.Minute)
		r.settle(r.q.Requeue(msgs[:1], r.now)) // REQ with a delay
		for i := 1; i < len(msgs); i++ {
			r.q.Finish(&msgs[i])
		}
		r.churn()
		writing.check(t, "consumer still writing a deferred message")
		peeked := r.q.Peek(nil, Deferred, 1)
		require.Len(t, peeked, 1)
		require.Equal(t, string(writing.want), string(peeked[0].Body), "deferred body")
		r.now += int64(time.Minute)
		r.settle(r.q.PromoteDue(r.now)) // to the backlog, at MemSize 0
		due := r.read(1)
		require.Len(t, due, 1)
		require.Equal(t, string(writing.want), string(due[0].Body), "body delivered after the delay")
	})
	t.Run("deferred on read", func(t *testing.T) {
		// A backlog record not due yet (written with its delay, e.g. by a
		// graceful stop whose store failed) goes to the store when read.
		r := openReuseQueueSized(t, 0, size)
		m := Message{Body: r.body(1 << 20), Timestamp: r.now, DeliverAt: r.now + int64(time.Minute)}
		protocol.FormatID(1<<20, &m.ID)
		p := r.q.pending(nil, false)
		p.backlog = append(p.backlog, m)
		r.settle(p)
		r.publish(n - 1)
		msgs := r.read(n)
		require.Len(t, msgs, n-1, "the deferred one is not handed out")
		for i := range msgs {
			r.q.Finish(&msgs[i])
		}
		r.churn()
		peeked := r.q.Peek(nil, Deferred, 1)
		require.Len(t, peeked, 1)
		require.Equal(t, string(r.body(1<<20)), string(peeked[0].Body))
	})
	t.Run("peek", func(t *testing.T) {
		r := openReuseQueueSized(t, 100, size)
		r.publish(n)
		msgs := r.read(n)
		r.settle(r.q.Requeue(msgs[:1], r.now))
		peeked := r.q.Peek(nil, Ready, 1)
		require.Len(t, peeked, 1)
		shown := keep(peeked[0].Body) // an HTTP answer still being written
		again, _, p := r.q.Take(nil, 1, r.now)
		r.settle(p)
		r.q.Finish(&again[0])
		for i := 1; i < len(msgs); i++ {
			r.q.Finish(&msgs[i])
		}
		r.churn()
		shown.check(t, "peeked message")
	})
	t.Run("dead: max attempts", func(t *testing.T) {
		r := openReuseQueueSized(t, 0, size)
		r.policy = Policy{MaxAttempts: 1}
		r.publish(n)
		msgs := r.read(n)
		r.settle(r.q.Requeue(msgs[:1], r.now)) // its one attempt was used
		require.Len(t, r.killed, 1)
		dead := keep(r.killed[0].Body)
		for i := 1; i < len(msgs); i++ {
			r.q.Finish(&msgs[i])
		}
		r.churn()
		dead.check(t, "message given to the dead path")
	})
	t.Run("dead: expired on read", func(t *testing.T) {
		r := openReuseQueueSized(t, 0, size)
		r.publish(n)
		r.now += int64(time.Hour)
		r.policy = Policy{MsgTTL: time.Minute}
		require.Empty(t, r.read(n), "every message expired")
		require.Len(t, r.killed, n)
		dead := keep(r.killed[0].Body)
		r.policy = Policy{}
		r.churn()
		dead.check(t, "expired message given to the dead path")
	})
	t.Run("dead: drop-oldest", func(t *testing.T) {
		// As channel_bound.go's dropOverflow: the dropped messages go to
		// the dead path, then Finish releases their records.
		r := openReuseQueueSized(t, 0, size)
		r.publish(n)
		m := Message{Body: r.body(1 << 20), Timestamp: r.now}
		protocol.FormatID(1<<20, &m.ID)
		p, dropped, err := r.q.PutBounded([]Message{m}, r.now, Bound{MaxDepth: int64(n), Overflow: OverflowDropOldest}, false, nil)
		require.NoError(t, err)
		r.settle(p)
		require.Len(t, dropped, 1)
		dead := keep(dropped[0].Body) // the dead-letter topic holds it
		r.q.Finish(&dropped[0])
		for _, m := range r.read(n) {
			r.q.Finish(&m)
		}
		r.churn()
		dead.check(t, "message dropped by the bound")
	})
}
