package diskqueue

import (
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// The observer hears about each data fsync, once per fsync and not per
// record: with SyncEvery=3, six single-record writes are two fsyncs.
func TestSyncObserverCalledOncePerFsync(t *testing.T) {
	o, _ := testOptions(t, t.TempDir())
	o.SyncEvery = 3
	var calls atomic.Int64
	var total atomic.Int64
	o.SyncObserver = func(d time.Duration) {
		calls.Add(1)
		total.Add(int64(d))
	}
	q := mustOpen(t, o)
	for i := range 6 {
		require.NoError(t, putErr(q.Put([][]byte{payload(i, 16)})))
	}
	require.Equal(t, int64(2), calls.Load())
	require.Equal(t, q.Stats().Syncs, calls.Load())
	require.GreaterOrEqual(t, total.Load(), int64(0))
	require.NoError(t, q.Close())
}
