package nsqd

import (
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/nsqgo/nsq/internal/diskqueue"
	"github.com/nsqgo/nsq/internal/protocol"
	"github.com/nsqgo/nsq/nsqd/queue"
	"github.com/stretchr/testify/require"
)

// blockingDisk holds every write to a channel's backlog until released, as
// a slow disk (or a long fsync) would.
type blockingDisk struct {
	queue.Disk
	entered chan struct{}
	release chan struct{}
}

func (d *blockingDisk) Put(records [][]byte) (uint64, error) {
	d.entered <- struct{}{}
	<-d.release
	return d.Disk.Put(records)
}

// A publisher's disk write, fsync included, runs without the channel lock:
// the channel's other publishers, consumers and stats do not wait for it,
// and the publisher is answered only once the write is done.
func TestChannelWritesToDiskWithoutHoldingItsLock(t *testing.T) {
	n := startDaemon(t, func(o *Options) { o.MemQueueSize = 0; o.SyncEvery = 1 })
	topic, err := n.GetTopic("t")
	require.NoError(t, err)
	ch, err := topic.GetChannel("c")
	require.NoError(t, err)
	disk := &blockingDisk{entered: make(chan struct{}), release: make(chan struct{})}
	ch.mu.Lock()
	ch.queue.ReplaceBacklog(func(d queue.Disk) queue.Disk { disk.Disk = d; return disk })
	ch.mu.Unlock()

	msg := Message{Body: []byte("slow"), Timestamp: time.Now().UnixNano()}
	protocol.FormatID(1, &msg.ID)
	done := make(chan error, 1)
	go func() { done <- ch.put([]Message{msg}) }()
	select {
	case <-disk.entered:
	case <-time.After(10 * time.Second):
		t.Fatal("the put never reached the disk")
	}

	require.True(t, ch.mu.TryLock(), "the channel lock is free during the write")
	ch.mu.Unlock()
	require.Zero(t, ch.Depth(), "not counted before it is stored")
	select {
	case err := <-done:
		t.Fatalf("put returned (%v) before its write finished", err)
	default:
	}

	close(disk.release)
	require.NoError(t, <-done)
	require.EqualValues(t, 1, ch.Depth())
	require.EqualValues(t, 1, ch.BackendDepth())
}

// blockingReadDisk holds every read of a channel's backlog until released.
type blockingReadDisk struct {
	queue.Disk
	entered chan struct{}
	release chan struct{}
}

func (d *blockingReadDisk) Read(max int) ([]diskqueue.Record, error) {
	d.entered <- struct{}{}
	<-d.release
	return d.Disk.Read(max)
}

// A consumer reading the channel's disk backlog does not hold the channel
// lock: a publisher to the channel is not kept waiting by the read.
func TestChannelReadsBacklogWithoutHoldingItsLock(t *testing.T) {
	n := startDaemon(t, func(o *Options) { o.MemQueueSize = 0 })
	topic, err := n.GetTopic("t")
	require.NoError(t, err)
	ch, err := topic.GetChannel("c")
	require.NoError(t, err)
	msg := Message{Body: []byte("on disk"), Timestamp: time.Now().UnixNano()}
	protocol.FormatID(1, &msg.ID)
	require.NoError(t, ch.put([]Message{msg}))
	disk := &blockingReadDisk{entered: make(chan struct{}), release: make(chan struct{})}
	ch.mu.Lock()
	ch.queue.ReplaceBacklog(func(d queue.Disk) queue.Disk { disk.Disk = d; return disk })
	ch.mu.Unlock()

	taken := make(chan []Message, 1)
	go func() {
		got, _ := ch.take(nil, 10, &client{})
		taken <- got
	}()
	select {
	case <-disk.entered:
	case <-time.After(10 * time.Second):
		t.Fatal("the take never reached the disk")
	}
	second := msg
	protocol.FormatID(2, &second.ID)
	published := make(chan error, 1)
	go func() { published <- ch.put([]Message{second}) }()
	// The publisher's own write does not read: it completes during the read.
	select {
	case err := <-published:
		require.NoError(t, err)
	case <-time.After(10 * time.Second):
		t.Fatal("the publisher waited for the consumer's disk read")
	}

	close(disk.release)
	got := <-taken
	require.NotEmpty(t, got)
	require.Equal(t, msg.ID, got[0].ID)
}

// Publishers, consumers, requeues and deferrals racing on one channel, with
// the disk writes and reads done outside the channel lock: every message is
// delivered and finished exactly once, none is lost or left behind.
func TestChannelConcurrentPutTakeLosesNothing(t *testing.T) {
	for _, mem := range []int64{5, 0} {
		t.Run(fmt.Sprintf("mem-queue-size=%d", mem), func(t *testing.T) {
			n := startDaemon(t, func(o *Options) { o.MemQueueSize = mem })
			topic, err := n.GetTopic("t")
			require.NoError(t, err)
			ch, err := topic.GetChannel("c")
			require.NoError(t, err)

			const publishers, batches, batch = 4, 25, 20
			const total = publishers * batches * batch
			var wg sync.WaitGroup
			for p := range publishers {
				wg.Add(1)
				go func() {
					defer wg.Done()
					for b := range batches {
						msgs := make([]Message, batch)
						now := time.Now().UnixNano()
						for i := range msgs {
							id := uint64((p*batches+b)*batch + i)
							msgs[i] = Message{Body: []byte(fmt.Sprint(id)), Timestamp: now}
							protocol.FormatID(id, &msgs[i].ID)
							if id%7 == 0 {
								msgs[i].DeliverAt = now + int64(time.Duration(id%5+1)*time.Millisecond)
							}
						}
						if err := ch.put(msgs); err != nil {
							t.Error(err)
						}
					}
				}()
			}

			var mu sync.Mutex
			finished := map[protocol.MessageID]int{}
			count := 0
			deadline := time.Now().Add(60 * time.Second)
			for c := range 3 {
				wg.Add(1)
				go func() {
					defer wg.Done()
					taker := &client{}
					var dst []Message
					for time.Now().Before(deadline) {
						mu.Lock()
						done := count == total
						mu.Unlock()
						if done {
							return
						}
						var wait <-chan struct{}
						dst, wait = ch.take(dst[:0], 16, taker)
						if len(dst) == 0 {
							select {
							case <-wait:
							case <-time.After(50 * time.Millisecond):
							}
							continue
						}
						for i := range dst {
							m := dst[i]
							m.Attempts++
							// The first delivery of every third message is
							// requeued, some with a delay.
							if m.Attempts == 1 && m.ID[15]%3 == byte(c)%3 {
								if m.ID[14]%2 == 0 {
									m.DeliverAt = time.Now().Add(2 * time.Millisecond).UnixNano()
								} else {
									m.DeliverAt = 0
								}
								ch.requeue([]Message{m})
								continue
							}
							ch.finished(&m, time.Now().UnixNano())
							mu.Lock()
							finished[m.ID]++
							count++
							mu.Unlock()
						}
					}
				}()
			}
			wg.Wait()
			require.Equal(t, total, count, "every message finished")
			require.Len(t, finished, total, "each ID once")
			require.Zero(t, ch.Depth())

			// The channel's deferral timer promotes on a goroutine of its
			// own: a promotion can write messages from the store to the
			// backlog, where the consumers above read and finish them,
			// before that goroutine settles the move and releases their
			// store records (testdata/store_release.txt in nsqd/queue,
			// TestChannelPromotedStoreRecordHeldUntilTheMoveSettles).
			// Closing the channel waits for every commit under way; what
			// the files hold then is what a restart would deliver again.
			require.NoError(t, ch.close(false))
			backlog, store := ch.queue.DiskStats()
			require.Zero(t, backlog.Depth)
			require.Zero(t, backlog.Unacked, "every backlog record released")
			require.Zero(t, store.Unacked, "every store record released")

			reopened, err := newChannel("t", "c", n)
			require.NoError(t, err)
			defer reopened.close(false)
			again, _ := reopened.take(nil, 10, &client{})
			require.Empty(t, again, "nothing is delivered again after a restart")
			reopened.mu.Lock()
			require.Zero(t, reopened.queue.DeferredCount(), "nothing is deferred after a restart")
			reopened.mu.Unlock()
		})
	}
}

// heldWriteDisk completes each write to a channel's backlog, then holds
// the writer until released: the records are readable already, but the
// commit that wrote them has not settled, as when its goroutine waits for
// the channel lock or is not scheduled.
type heldWriteDisk struct {
	queue.Disk
	written chan struct{}
	release chan struct{}
}

func (d *heldWriteDisk) Put(records [][]byte) (uint64, error) {
	first, err := d.Disk.Put(records)
	d.written <- struct{}{}
	<-d.release
	return first, err
}

// A deferred message the timer promotes out of the store into the backlog
// can be read and finished before the timer's goroutine settles that move:
// its store record is released only then, after the backlog write (a
// crash in between delivers it again, never loses it). A check that no
// store record is left must therefore await the settle; the channel's
// close does.
func TestChannelPromotedStoreRecordHeldUntilTheMoveSettles(t *testing.T) {
	n, fake := startClockedDaemon(t, func(o *Options) { o.MemQueueSize = 0 })
	topic, err := n.GetTopic("t")
	require.NoError(t, err)
	ch, err := topic.GetChannel("c")
	require.NoError(t, err)

	const delay = 10 * time.Millisecond
	now := fake.Now()
	msg := Message{Body: []byte("later"), Timestamp: now.UnixNano(), DeliverAt: now.Add(delay).UnixNano()}
	protocol.FormatID(1, &msg.ID)
	require.NoError(t, ch.put([]Message{msg}))
	_, store := ch.queue.DiskStats()
	require.EqualValues(t, 1, store.Unacked, "deferred by way of the store (mem-queue-size=0)")

	disk := &heldWriteDisk{written: make(chan struct{}), release: make(chan struct{})}
	ch.mu.Lock()
	ch.queue.ReplaceBacklog(func(d queue.Disk) queue.Disk { disk.Disk = d; return disk })
	ch.mu.Unlock()
	advanced := make(chan struct{})
	go func() {
		defer close(advanced)
		fake.Advance(delay) // the deferral timer fires: the promotion's write
	}()
	select {
	case <-disk.written:
	case <-time.After(10 * time.Second):
		t.Fatal("the promotion never wrote to the backlog")
	}

	got, _ := ch.take(nil, 10, &client{})
	require.Len(t, got, 1, "readable from the backlog before the move settled")
	require.Equal(t, msg.ID, got[0].ID)
	ch.finished(&got[0], fake.Now().UnixNano())
	backlog, store := ch.queue.DiskStats()
	require.Zero(t, backlog.Unacked)
	require.EqualValues(t, 1, store.Unacked, "the store record is held until the move settles")

	closed := make(chan error, 1)
	go func() { closed <- ch.close(false) }()
	close(disk.release)
	require.NoError(t, <-closed)
	<-advanced
	_, store = ch.queue.DiskStats()
	require.Zero(t, store.Unacked, "released by the settle, which close awaited")
}

// A channel closing while a publisher's disk write is under way waits for
// it: a put answered without an error is on disk for the next start. (The
// part of a batch kept in memory joins the queue only once the rest is
// stored, so the close must not write memory to disk before that.)
func TestChannelCloseWaitsForWritesUnderWay(t *testing.T) {
	n := startDaemon(t, func(o *Options) { o.MemQueueSize = 2 })
	topic, err := n.GetTopic("t")
	require.NoError(t, err)
	ch, err := topic.GetChannel("c")
	require.NoError(t, err)
	disk := &blockingDisk{entered: make(chan struct{}), release: make(chan struct{})}
	ch.mu.Lock()
	ch.queue.ReplaceBacklog(func(d queue.Disk) queue.Disk { disk.Disk = d; return disk })
	ch.mu.Unlock()

	msgs := make([]Message, 3)
	for i := range msgs {
		msgs[i] = Message{Body: []byte("m"), Timestamp: time.Now().UnixNano()}
		protocol.FormatID(uint64(i), &msgs[i].ID)
	}
	published := make(chan error, 1)
	go func() { published <- ch.put(msgs) }()
	select {
	case <-disk.entered: // two for memory, one on its way to disk
	case <-time.After(10 * time.Second):
		t.Fatal("the put never reached the disk")
	}
	closed := make(chan error, 1)
	go func() { closed <- ch.close(false) }()
	// close flushes memory with a write of its own once the put's is done.
	go func() {
		<-disk.entered
		<-disk.release
	}()
	select {
	case err := <-closed:
		t.Fatalf("close returned (%v) while a write was under way", err)
	case <-time.After(100 * time.Millisecond):
	}
	close(disk.release)
	require.NoError(t, <-published)
	require.NoError(t, <-closed)

	// The same channel opened again, as at the next start.
	reopened, err := newChannel("t", "c", n)
	require.NoError(t, err)
	defer reopened.close(false)
	var got []Message
	for {
		batch, _ := reopened.take(nil, 10, &client{})
		if len(batch) == 0 {
			break
		}
		got = append(got, batch...)
	}
	require.ElementsMatch(t, idsOf(msgs), idsOf(got))
}

func idsOf(msgs []Message) []protocol.MessageID {
	ids := make([]protocol.MessageID, 0, len(msgs))
	for _, m := range msgs {
		ids = append(ids, m.ID)
	}
	return ids
}
