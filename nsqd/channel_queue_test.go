package nsqd

import (
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
