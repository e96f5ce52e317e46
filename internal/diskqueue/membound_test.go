package diskqueue

import (
	"testing"

	"github.com/stretchr/testify/require"
)

// TestReadStopsAtMaxReadBytes: a Read of big records returns a few of them
// (maxReadBytes of Data, and at least one however big), so that a caller
// asking for a consumer's whole batch does not hold all of it in memory at
// once; the rest comes, in order and complete, from the next Reads.
func TestReadStopsAtMaxReadBytes(t *testing.T) {
	o, _ := testOptions(t, t.TempDir())
	o.MaxBytesPerFile = 16 << 20
	o.MaxMsgSize = 2 * maxReadBytes
	o.ReuseReads = true
	q := mustOpen(t, o)
	defer q.Close()

	const size = 64 << 10
	const total = 20
	putRange(t, q, 0, total, size, 5)
	recs, err := q.Read(256)
	require.NoError(t, err)
	require.Len(t, recs, maxReadBytes/size, "a Read of 64 KB records holds maxReadBytes")
	got := indexes(t, recs)
	for _, r := range recs {
		q.Done(r.Seq)
	}
	for len(got) < total {
		more, err := q.Read(256)
		require.NoError(t, err)
		require.NotEmpty(t, more)
		require.LessOrEqual(t, len(more)*size, maxReadBytes)
		got = append(got, indexes(t, more)...)
		for _, r := range more {
			q.Done(r.Seq)
		}
	}
	require.Equal(t, seq(0, total), got)

	// One record bigger than the bound still comes, alone.
	putRange(t, q, total, total+2, maxReadBytes+1000, 2)
	recs, err = q.Read(256)
	require.NoError(t, err)
	require.Len(t, recs, 1)
	require.Equal(t, []int{total}, indexes(t, recs))

	// Small records are not cut short: 256 of 200 bytes fit the bound.
	o2, _ := testOptions(t, t.TempDir())
	o2.MaxBytesPerFile = 1 << 20
	q2 := mustOpen(t, o2)
	defer q2.Close()
	putRange(t, q2, 0, 300, 200, 100)
	recs, err = q2.Read(256)
	require.NoError(t, err)
	require.Len(t, recs, 256)
}

// TestIdleWriterDropsItsBuffer: the encoding buffer is kept while the queue
// is published to and dropped at the second periodic sync without a write,
// so a queue that is only consumed from holds no write memory.
func TestIdleWriterDropsItsBuffer(t *testing.T) {
	o, _ := testOptions(t, t.TempDir())
	o.MaxBytesPerFile = 1 << 20
	q := mustOpen(t, o)
	defer q.Close()
	writerBuf := func() int {
		q.wmu.Lock()
		defer q.wmu.Unlock()
		return cap(q.w.buf)
	}
	putRange(t, q, 0, 50, 200, 50)
	require.Positive(t, writerBuf(), "a writing queue keeps its buffer")
	q.tick() // written to since the last sync: busy
	require.Positive(t, writerBuf())
	putRange(t, q, 50, 100, 200, 50)
	q.tick()
	require.Positive(t, writerBuf(), "written to again: kept")
	q.tick() // nothing written since: idle
	require.Zero(t, writerBuf())
	putRange(t, q, 100, 150, 200, 50)
	require.Positive(t, writerBuf(), "a later write gets a buffer again")
	require.Equal(t, seq(0, 150), indexes(t, readAll(t, q)))
}
