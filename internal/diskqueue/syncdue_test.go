package diskqueue

import (
	"testing"

	"github.com/stretchr/testify/require"
)

// putSynced puts n records of size bytes and reports whether the put fsynced.
func putSynced(t *testing.T, q *Queue, n, size int) bool {
	t.Helper()
	records := make([][]byte, n)
	for i := range records {
		records[i] = payload(i, size)
	}
	before := q.Stats().Syncs
	_, err := q.Put(records)
	require.NoError(t, err)
	return q.Stats().Syncs > before
}

// SyncDue foresees the fsync of --sync-every: puts of one to three records
// with SyncEvery=5 sync exactly when it said they would.
func TestSyncDueForeseesSyncEvery(t *testing.T) {
	o, _ := testOptions(t, t.TempDir())
	o.SyncEvery = 5
	o.MaxBytesPerFile = 1 << 20
	q := mustOpen(t, o)
	defer q.Close()
	syncs := 0
	for i := range 30 {
		n := 1 + i%3
		due := q.SyncDue(n, int64(n*(recHeaderSize+100)))
		synced := putSynced(t, q, n, 100)
		require.Equal(t, synced, due, "put %d of %d records", i, n)
		if synced {
			syncs++
		}
	}
	require.Greater(t, syncs, 5)
}

// SyncDue foresees the fsync that seals a segment at rollover: records of
// 100 bytes (112 framed) into 1024-byte segments, SyncEvery never reached.
func TestSyncDueForeseesRollover(t *testing.T) {
	o, _ := testOptions(t, t.TempDir())
	o.SyncEvery = 1 << 40
	o.MaxBytesPerFile = 1024
	q := mustOpen(t, o)
	defer q.Close()
	rollovers := 0
	for i := range 40 {
		n := 1 + i%2
		due := q.SyncDue(n, int64(n*(recHeaderSize+100)))
		synced := putSynced(t, q, n, 100)
		require.Equal(t, synced, due, "put %d of %d records", i, n)
		if synced {
			rollovers++
		}
	}
	require.Greater(t, rollovers, 3)
}

// A busy writer is reported as due: the caller then treats the put as one
// that waits, as it did before asking.
func TestSyncDueWhileWriterBusy(t *testing.T) {
	o, _ := testOptions(t, t.TempDir())
	o.SyncEvery = 1 << 40
	o.MaxBytesPerFile = 1 << 20
	q := mustOpen(t, o)
	defer q.Close()
	require.False(t, q.SyncDue(1, 100))
	q.wmu.Lock()
	require.True(t, q.SyncDue(1, 100))
	q.wmu.Unlock()
}
