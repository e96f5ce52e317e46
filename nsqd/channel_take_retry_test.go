package nsqd

import (
	"fmt"
	"io"
	"testing"

	"github.com/nsqgo/nsq/internal/diskqueue"
	"github.com/nsqgo/nsq/internal/protocol"
	"github.com/nsqgo/nsq/nsqd/queue"
	"github.com/stretchr/testify/require"
)

// outrunDisk lets a test act inside one consumer's backlog reads: before
// each (another consumer reads first) and after each (a message arrives
// before the reader takes the channel lock again). Reads made by those
// actions themselves go straight to the disk.
type outrunDisk struct {
	queue.Disk
	before, after func()
	inHook        bool
}

func (d *outrunDisk) Read(max int) ([]diskqueue.Record, error) {
	if d.inHook || d.before == nil {
		return d.Disk.Read(max)
	}
	d.inHook = true
	d.before()
	records, err := d.Disk.Read(max)
	d.after()
	d.inHook = false
	return records, err
}

// Channel.take retries a backlog read that found nothing while more was
// spilled meanwhile, a bounded number of times, and then waits. A consumer
// outrun on every attempt (another consumer read what it would have, and a
// new message landed in the backlog before it looked again) waits with a
// message in the backlog that nobody is reading: it must still be woken
// for it (by the read-retry timer, disk_retry.go), not only by the next
// message that happens to arrive.
func TestTakeOutrunOnEveryRetryStillWakesConsumer(t *testing.T) {
	n, fake := startClockedDaemon(t, func(o *Options) { o.MemQueueSize = 0; o.Logger = io.Discard })
	topic, err := n.GetTopic("outrun")
	require.NoError(t, err)
	ch, err := topic.GetChannel("ch")
	require.NoError(t, err)
	published := uint64(0)
	publishOne := func() {
		published++
		msg := Message{Body: []byte(fmt.Sprintf("m%d", published)), Timestamp: fake.Now().UnixNano()}
		protocol.FormatID(published, &msg.ID)
		require.NoError(t, ch.put([]Message{msg}))
	}
	publishOne()
	disk := &outrunDisk{}
	ch.mu.Lock()
	ch.queue.ReplaceBacklog(func(d queue.Disk) queue.Disk { disk.Disk = d; return disk })
	ch.mu.Unlock()

	other := &client{}
	var outrunBy []Message
	disk.before = func() {
		got, _ := ch.take(nil, 8, other)
		outrunBy = append(outrunBy, got...)
	}
	disk.after = publishOne
	consumer := &client{}
	got, wait := ch.take(nil, 8, consumer)
	disk.before, disk.after = nil, nil
	require.Empty(t, got)
	require.Len(t, outrunBy, 3, "the other consumer read first on each of the three attempts")
	require.EqualValues(t, 1, ch.Depth(), "the message that came last waits in the backlog")
	require.NotNil(t, wait)

	// Nothing else happens on the channel: no publish, no requeue. The
	// fake clock's timers fire inside Advance.
	fake.Advance(diskReadRetryDelay)
	select {
	case <-wait:
	default:
		t.Fatal("the waiting consumer was not woken for the message in the backlog")
	}
	got, _ = ch.take(nil, 8, consumer)
	require.Len(t, got, 1)
	require.Equal(t, "m4", string(got[0].Body))
}
