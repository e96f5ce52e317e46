package nsqd

import (
	"testing"

	"github.com/nsqgo/nsq/internal/diskqueue"
	"github.com/nsqgo/nsq/nsqd/queue"
	"github.com/stretchr/testify/require"
)

// emptyGatedDisk holds the channel backlog's Empty until released.
type emptyGatedDisk struct {
	queue.Disk
	entered chan struct{}
	release chan struct{}
}

func (d *emptyGatedDisk) Empty() error {
	d.entered <- struct{}{}
	<-d.release
	return d.Disk.Empty()
}

// Channel.Empty removes the channel's files with its lock released: the
// channel's consumers, publishers and stats do not wait for it. A publish
// that spills to disk while the files are emptied is kept whole, and what
// was published before the Empty is gone when it returns.
func TestChannelEmptiesItsFilesWithoutHoldingItsLock(t *testing.T) {
	n := startDaemon(t, memBound(2))
	topic, err := n.GetTopic("t")
	require.NoError(t, err)
	ch, err := topic.GetChannel("c")
	require.NoError(t, err)
	require.NoError(t, topic.PutMessages(messagesOf(numbered("old", 5)...)))
	require.EqualValues(t, 5, ch.Depth())
	require.EqualValues(t, 3, ch.BackendDepth())

	disk := &emptyGatedDisk{entered: make(chan struct{}), release: make(chan struct{})}
	ch.mu.Lock()
	ch.queue.ReplaceBacklog(func(d queue.Disk) queue.Disk { disk.Disk = d; return disk })
	ch.mu.Unlock()

	emptied := make(chan error, 1)
	go func() { emptied <- ch.Empty() }()
	awaitSignal(t, disk.entered, "the Empty's disk part")

	require.True(t, ch.mu.TryLock(), "the channel lock is free while the files are emptied")
	ch.mu.Unlock()
	require.EqualValues(t, 3, within(t, "Depth while the files are emptied", ch.Depth),
		"memory is emptied; the records are still on disk")

	// A batch that spills: its write waits for the Empty, then is kept.
	published := make(chan error, 1)
	go func() { published <- topic.PutMessages(messagesOf(numbered("new", 4)...)) }()

	close(disk.release)
	require.NoError(t, awaitSignal(t, emptied, "Empty"))
	require.NoError(t, awaitSignal(t, published, "the publish during the Empty"))
	require.EqualValues(t, 4, ch.Depth(), "the concurrent batch is kept whole, the old messages are gone")

	c := dialV2(t, n)
	c.subscribe("t", "c")
	c.send("RDY 10")
	got := map[string]bool{}
	for _, m := range c.readMessages(4) {
		got[string(m.Body)] = true
	}
	require.Equal(t, map[string]bool{"new0": true, "new1": true, "new2": true, "new3": true}, got)
}

// afterGateDisk does each gated call on the real disk first, then holds it
// until released: a write or read that has happened but whose caller has
// not yet come back.
type afterGateDisk struct {
	queue.Disk
	gatePuts, gateReads bool
	entered             chan struct{}
	release             chan struct{}
}

func newAfterGateDisk(t *testing.T, puts, reads bool) *afterGateDisk {
	d := &afterGateDisk{gatePuts: puts, gateReads: reads, entered: make(chan struct{}, 1), release: make(chan struct{})}
	t.Cleanup(func() {
		select {
		case <-d.release:
		default:
			close(d.release)
		}
	})
	return d
}

func (d *afterGateDisk) hold() {
	d.entered <- struct{}{}
	<-d.release
}

func (d *afterGateDisk) Put(records [][]byte) (uint64, error) {
	first, err := d.Disk.Put(records)
	if d.gatePuts {
		d.hold()
	}
	return first, err
}

func (d *afterGateDisk) Read(max int) ([]diskqueue.Record, error) {
	records, err := d.Disk.Read(max)
	if d.gateReads && len(records) > 0 {
		d.hold()
	}
	return records, err
}

// A publish whose disk part is written but not yet settled when the channel
// is emptied is emptied whole: its memory part is not queued afterwards.
func TestChannelEmptyDuringAPublishEmptiesItWhole(t *testing.T) {
	n := startDaemon(t, memBound(2))
	topic, err := n.GetTopic("t")
	require.NoError(t, err)
	ch, err := topic.GetChannel("c")
	require.NoError(t, err)
	disk := newAfterGateDisk(t, true, false)
	ch.mu.Lock()
	ch.queue.ReplaceBacklog(func(d queue.Disk) queue.Disk { disk.Disk = d; return disk })
	ch.mu.Unlock()

	published := make(chan error, 1)
	go func() { published <- topic.PutMessages(messagesOf(numbered("m", 5)...)) }()
	awaitSignal(t, disk.entered, "the publish's write")
	emptied := make(chan error, 1)
	go func() { emptied <- ch.Empty() }()
	close(disk.release)
	require.NoError(t, awaitSignal(t, published, "the publish"))
	require.NoError(t, awaitSignal(t, emptied, "Empty"))
	require.Zero(t, ch.Depth(), "none of the batch is left: neither its memory part nor its records")
	require.Zero(t, ch.BackendDepth())
}

// A consumer that read backlog records before the Empty and comes back
// after it does not deliver them: they were published before the Empty.
func TestChannelEmptyDropsWhatAConsumerReadMeanwhile(t *testing.T) {
	n := startDaemon(t, memBound(0))
	topic, err := n.GetTopic("t")
	require.NoError(t, err)
	ch, err := topic.GetChannel("c")
	require.NoError(t, err)
	require.NoError(t, topic.PutMessages(messagesOf(numbered("old", 3)...)))
	require.EqualValues(t, 3, ch.BackendDepth())
	disk := newAfterGateDisk(t, false, true)
	ch.mu.Lock()
	ch.queue.ReplaceBacklog(func(d queue.Disk) queue.Disk { disk.Disk = d; return disk })
	ch.mu.Unlock()

	c := dialV2(t, n)
	c.subscribe("t", "c")
	c.send("RDY 10")
	awaitSignal(t, disk.entered, "the consumer's read of the backlog")
	require.NoError(t, within(t, "Empty while a consumer reads", ch.Empty))
	close(disk.release)

	require.NoError(t, topic.PutMessages(messagesOf("new")))
	require.Equal(t, "new", string(c.readMessage().Body), "what was read before the Empty is not delivered")
}
