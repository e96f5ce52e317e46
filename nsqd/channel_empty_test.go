package nsqd

import (
	"testing"

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
