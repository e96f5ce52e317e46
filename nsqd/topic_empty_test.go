package nsqd

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/nsqgo/nsq/nsqd/queue"
)

// emptyBlockingDisk holds the emptying of a topic's held backlog until
// released, as a slow disk (many segments to remove) would.
type emptyBlockingDisk struct {
	queue.Disk
	entered chan struct{}
	release chan struct{}
}

func (d *emptyBlockingDisk) Empty() error {
	d.entered <- struct{}{}
	<-d.release
	return d.Disk.Empty()
}

// A publish that lands while an Empty of the topic removes its files is
// kept, and its bytes stay counted: a bound set later judges the topic by
// what it really holds. (The count was once reset after the files were
// emptied, losing such a publish's bytes.)
func TestTopicEmptyKeepsTheByteCountOfAPublishDuringIt(t *testing.T) {
	n := startDaemon(t, nil)
	adminPost(t, n, "/topic/create?topic=orders")
	topic, err := n.GetExistingTopic("orders")
	require.NoError(t, err)
	require.NoError(t, topic.PutMessages([]Message{{Body: []byte("before")}}))
	require.EqualValues(t, 6, topic.heldBytes())

	disk := &emptyBlockingDisk{entered: make(chan struct{}), release: make(chan struct{})}
	topic.held.ReplaceBacklog(func(d queue.Disk) queue.Disk { disk.Disk = d; return disk })
	emptied := make(chan error, 1)
	go func() { emptied <- topic.Empty() }()
	awaitSignal(t, disk.entered, "the Empty's file removal")
	require.NoError(t, within(t, "a publish while the files are emptied", func() error {
		return topic.PutMessages([]Message{{Body: []byte("during")}})
	}))
	close(disk.release)
	require.NoError(t, awaitSignal(t, emptied, "the Empty"))

	require.EqualValues(t, 1, topic.Depth(), "the publish during the Empty is kept")
	require.EqualValues(t, 6, topic.heldBytes(), "and counted")

	// A bound set now sees the 6 bytes held.
	postOK(t, n, "/topic/config?topic=orders&max_bytes=7&overflow=reject-new")
	producer := dialV2(t, n)
	producer.pub("orders", "x")
	producer.send("PUB orders", []byte("y"))
	producer.expectError("E_PUB_FAILED PUB failed topic orders: queue is full (bytes 7 + 1 > max_bytes 7)")
}

// A topic without a disk (ephemeral) counts only the bytes it holds, not
// those of a batch's tail it had no room for.
func TestEphemeralTopicCountsOnlyTheBytesItHolds(t *testing.T) {
	n := startDaemon(t, func(o *Options) { o.MemQueueSize = 2 })
	topic, err := n.GetTopic("orders#ephemeral")
	require.NoError(t, err)
	require.NoError(t, topic.PutMessages([]Message{{Body: []byte("aa")}, {Body: []byte("bb")}, {Body: []byte("dropped")}}))
	require.EqualValues(t, 2, topic.Depth())
	require.EqualValues(t, 4, topic.heldBytes(), "the dropped message's bytes are not counted")
}
