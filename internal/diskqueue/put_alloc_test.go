package diskqueue

import (
	"testing"

	"github.com/stretchr/testify/require"
)

// A put's request waits where another putter's goroutine reaches it, so it
// cannot live on the caller's stack: the queue reuses finished ones, and a
// steady stream of single-record puts (a PUB each) allocates nothing.
func TestPutOfOneRecordAllocatesNothing(t *testing.T) {
	o, _ := testOptions(t, t.TempDir())
	o.MaxBytesPerFile = 1 << 30 // no segment roll inside the measurement
	o.SyncEvery = 1 << 30       // the fsync policy is not what is measured
	q := mustOpen(t, o)
	t.Cleanup(func() { require.NoError(t, q.Close()) })
	records := [][]byte{payload(1, 64)}
	put := func() {
		if _, err := q.Put(records); err != nil {
			t.Fatal(err)
		}
	}
	put() // the writer's buffer and the pending slices grow once
	put()
	require.Zero(t, testing.AllocsPerRun(200, put))
	require.Equal(t, int64(2+1+200), q.Depth(), "AllocsPerRun runs put once more, to warm up")
}
