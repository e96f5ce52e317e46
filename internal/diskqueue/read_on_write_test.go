package diskqueue

import (
	"testing"

	"github.com/stretchr/testify/require"
)

// A ReadOnWrite queue hands out Seqs at Put, consecutively across batches
// and segments, and never returns its records from Read in the same run.
func TestReadOnWritePutReturnsSeqs(t *testing.T) {
	o, _ := testOptions(t, t.TempDir())
	o.ReadOnWrite = true
	q := mustOpen(t, o)
	defer q.Close()
	next := uint64(1)
	for i := 0; i < 30; i += 3 {
		first, err := q.Put([][]byte{payload(i, 100), payload(i+1, 100), payload(i+2, 100)})
		require.NoError(t, err)
		require.Equal(t, next, first, "batch starting at record %d", i)
		next += 3
	}
	require.Greater(t, len(segments(t, o)), 2)
	require.Zero(t, q.Depth(), "written records count as read")
	require.EqualValues(t, 30, q.Unacked())
	recs, err := q.Read(100)
	require.NoError(t, err)
	require.Empty(t, recs)
}

// Unacknowledged records of a ReadOnWrite queue come back after a crash;
// acknowledged ones do not, and their segments go.
func TestReadOnWriteRedeliversOnlyUnacked(t *testing.T) {
	o, _ := testOptions(t, t.TempDir())
	o.ReadOnWrite = true
	q := mustOpen(t, o)
	var seqs []uint64
	for i := 0; i < 30; i++ {
		first, err := q.Put([][]byte{payload(i, 100)})
		require.NoError(t, err)
		seqs = append(seqs, first)
	}
	// Keep 5 and 25; acknowledge the rest.
	for i, s := range seqs {
		if i != 5 && i != 25 {
			q.Ack(s)
		}
	}
	require.NoError(t, q.Sync())
	crash(q)

	q = mustOpen(t, o)
	require.Equal(t, []int{5, 25}, indexes(t, readAllNoAck(t, q)))
	// Everything is read: Put works again and continues the Seqs.
	first, err := q.Put([][]byte{payload(30, 100)})
	require.NoError(t, err)
	require.EqualValues(t, 3, first)
	require.NoError(t, q.Close())
}

// Put on a ReadOnWrite queue refuses while records of an earlier run are
// unread: they would otherwise be skipped.
func TestReadOnWriteRefusesPutWithUnreadRecords(t *testing.T) {
	o, _ := testOptions(t, t.TempDir())
	o.ReadOnWrite = true
	q := mustOpen(t, o)
	_, err := q.Put([][]byte{payload(0, 100)})
	require.NoError(t, err)
	require.NoError(t, q.Close())

	q = mustOpen(t, o)
	defer q.Close()
	_, err = q.Put([][]byte{payload(1, 100)})
	require.ErrorIs(t, err, ErrUnread)
	require.Equal(t, []int{0}, indexes(t, readAllNoAck(t, q)))
	_, err = q.Put([][]byte{payload(1, 100)})
	require.NoError(t, err)
}
