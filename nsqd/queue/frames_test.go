package queue

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/nsqgo/nsq/internal/diskqueue"
	"github.com/nsqgo/nsq/internal/protocol"
)

// framedSpy is a backlog that counts the framed puts it is given.
type framedSpy struct {
	Disk
	puts   int
	ranges [][2]int
}

func (s *framedSpy) PutFramed(f *diskqueue.Framed, from, to int) (uint64, error) {
	s.puts++
	s.ranges = append(s.ranges, [2]int{from, to})
	return s.Disk.(*diskqueue.Queue).PutFramed(f, from, to)
}

// batchOf returns n messages as a topic publishes them.
func (r *reuseQueue) batchOf(n int) []Message {
	msgs := make([]Message, n)
	for i := range msgs {
		msgs[i] = Message{Body: r.body(r.next), Timestamp: r.now, Attempts: 0}
		protocol.FormatID(uint64(r.next+1), &msgs[i].ID)
		r.next++
	}
	return msgs
}

// A fan-out's batch framed once is written by every channel whose disk takes
// a run of it (the tail its memory had no room for) with PutFramed, and
// every message is read back intact and in order; a channel whose disk work
// is not a run of the frames encodes its own, as before.
func TestPendingWritesARunOfTheFramesAsFramed(t *testing.T) {
	full := openReuseQueue(t, 0)   // every message to disk
	roomy := openReuseQueue(t, 30) // the first 30 in memory, the rest to disk
	spies := []*framedSpy{{Disk: full.q.backlog}, {Disk: roomy.q.backlog}}
	full.q.backlog, roomy.q.backlog = spies[0], spies[1]

	var records SharedRecords
	batch := full.batchOf(100)
	shared := records.Copy(batch)
	defer shared.Release()
	var frames Frames
	require.True(t, frames.Frame(shared.Msgs))

	for _, r := range []*reuseQueue{full, roomy} {
		p, _ := r.q.PutShared(shared, r.now)
		require.NotNil(t, p)
		p.UseFrames(&frames)
		r.settle(p)
	}
	require.Equal(t, [][2]int{{0, 100}}, spies[0].ranges)
	require.Equal(t, [][2]int{{30, 100}}, spies[1].ranges)

	got := full.read(len(batch))
	require.Len(t, got, len(batch))
	for i := range got {
		require.Equal(t, batch[i].ID, got[i].ID)
		require.Equal(t, batch[i].Body, got[i].Body)
		require.Equal(t, batch[i].Timestamp, got[i].Timestamp)
	}
	require.Equal(t, int64(100), roomy.q.Depth())
	require.Equal(t, int64(70), roomy.q.BacklogDepth())

	// A message that is not the framed record (another attempt count, as
	// a requeue gives) is encoded by the queue itself.
	other := openReuseQueue(t, 0)
	spy := &framedSpy{Disk: other.q.backlog}
	other.q.backlog = spy
	changed := append([]Message(nil), shared.Msgs...)
	changed[99].Attempts = 3
	p := other.q.put(changed, other.now, false)
	p.UseFrames(&frames)
	other.settle(p)
	require.Zero(t, spy.puts)
	got = other.read(100)
	require.Len(t, got, 100)
	require.Equal(t, got[98].Attempts+3, got[99].Attempts, "the changed record was stored as it is")
}

// locate finds only a run that ends the batch and whose every message is
// the framed record.
func TestFramesLocate(t *testing.T) {
	r := openReuseQueue(t, 0)
	batch := r.batchOf(10)
	var frames Frames
	require.True(t, frames.Frame(batch))

	from, ok := frames.locate(batch[4:])
	require.True(t, ok)
	require.Equal(t, 4, from)
	_, ok = frames.locate(batch[2:5]) // not the tail
	require.False(t, ok)
	_, ok = frames.locate(nil)
	require.False(t, ok)
	copyOfBody := append([]Message(nil), batch[8:]...)
	copyOfBody[0].Body = append([]byte(nil), copyOfBody[0].Body...) // equal bytes, other memory
	_, ok = frames.locate(copyOfBody)
	require.False(t, ok)
	delayed := append([]Message(nil), batch[8:]...)
	delayed[1].DeliverAt = 1
	_, ok = frames.locate(delayed)
	require.False(t, ok)

	frames.Reset()
	_, ok = frames.locate(batch[9:])
	require.False(t, ok, "a reset Frames holds no batch")
}

// A batch over MaxFramedBytes is not framed: each channel's writer encodes
// it piece by piece instead of a copy of all of it being made first.
func TestFramesRefusesALargeBatch(t *testing.T) {
	r := openReuseQueueSized(t, 0, 64<<10)
	var frames Frames
	require.False(t, frames.Frame(r.batchOf(MaxFramedBytes/(64<<10)+1)))
	_, ok := frames.locate(nil)
	require.False(t, ok)
	require.True(t, frames.Frame(r.batchOf(MaxFramedBytes/(64<<10)-1)))
}
