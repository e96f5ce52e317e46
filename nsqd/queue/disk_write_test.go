package queue

import (
	"strconv"
	"testing"
	"unsafe"

	"github.com/stretchr/testify/require"

	"github.com/nsqgo/nsq/internal/diskqueue"
)

// plainDisk is a Disk without PutBatch: the queue encodes into its own
// buffer for it.
type plainDisk struct{ Disk }

// A departing consumer's thousands of messages go back to the backlog in
// one write, every one intact and in order, and no Pending the queue keeps
// for later writes holds on to memory of that batch's size: with a
// diskqueue (encoded by the disk queue's writer, in pieces) and with a Disk
// that only takes byte slices (encoded by the queue, buffer then dropped).
func TestLargeRequeueKeepsNoBatchSizedBuffers(t *testing.T) {
	for _, tc := range []struct {
		name  string
		plain bool
	}{{"diskqueue", false}, {"Put only", true}} {
		t.Run(tc.name, func(t *testing.T) {
			r := openReuseQueue(t, 0)
			if tc.plain {
				r.q.backlog = plainDisk{r.q.backlog}
			}
			const n = 5000
			r.publish(n)
			var msgs []Message
			for len(msgs) < n {
				got := r.read(n - len(msgs))
				require.NotEmpty(t, got)
				msgs = append(msgs, got...)
			}
			r.settle(r.q.Requeue(msgs, r.now))

			require.NotEmpty(t, r.q.free)
			for _, p := range r.q.free {
				for what, bytes := range map[string]int{
					"encoded": cap(p.encoded),
					"records": cap(p.records) * int(unsafe.Sizeof([]byte(nil))),
					"backlog": cap(p.backlog) * int(unsafe.Sizeof(Message{})),
					"ready":   cap(p.ready) * int(unsafe.Sizeof(Message{})),
				} {
					require.LessOrEqual(t, bytes, maxKeptBytes, "a kept Pending's %s", what)
				}
				require.Nil(t, p.batch.msgs, "a kept Pending refers to written messages")
			}

			var again []Message
			for len(again) < n {
				got := r.read(n - len(again))
				require.NotEmpty(t, got)
				again = append(again, got...)
			}
			for i, m := range again {
				require.Equal(t, string(body(i)), string(m.Body), "message %d", i)
				require.Equal(t, uint16(2), m.Attempts, "message %d", i)
				require.Equal(t, msgs[i].ID, m.ID, "message %d", i)
			}
		})
	}
}

// A Batch that encodes a record of another length than it said fails the
// whole write and stores nothing, even when pieces of the group were
// already written.
func TestPutBatchWithWrongSizeStoresNothing(t *testing.T) {
	r := openReuseQueue(t, 0)
	d := r.q.backlog.(*diskqueue.Queue)
	r.publish(3)
	msgs := make([]Message, 3000)
	for i := range msgs {
		msgs[i] = Message{Body: body(i)}
	}
	b := &lyingBatch{messageBatch{msgs}, 2999}
	_, err := d.PutBatch(b)
	require.ErrorContains(t, err, "Size said")
	require.Equal(t, int64(3), d.Depth())
	got := r.read(10)
	require.Len(t, got, 3)
	for i, m := range got {
		require.Equal(t, string(body(i)), string(m.Body), "message "+strconv.Itoa(i))
	}
}

// lyingBatch appends one byte too many for record bad.
type lyingBatch struct {
	messageBatch
	bad int
}

func (b *lyingBatch) Append(dst []byte, i int) []byte {
	dst = b.messageBatch.Append(dst, i)
	if i == b.bad {
		dst = append(dst, 0)
	}
	return dst
}
