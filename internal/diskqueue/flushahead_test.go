package diskqueue

import (
	"errors"
	"os"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// flushAheadOptions: segments large enough to hold the test's records, a
// sync interval of 20 records and no timed sync.
func flushAheadOptions(t *testing.T) Options {
	o, _ := testOptions(t, t.TempDir())
	o.MaxBytesPerFile = 1 << 20
	o.SyncEvery = 20
	return o
}

// Past flushAheadBytes written since the last fsync, the writer fsyncs the
// segment in the background while the records' Puts return before any
// policy fsync; the policy's own fsync still comes at SyncEvery, and Close
// waits for a running background flush.
func TestFlushAheadSyncsWrittenBytesInTheBackground(t *testing.T) {
	o := flushAheadOptions(t)
	q := mustOpen(t, o)
	var started, finished atomic.Int32
	began := make(chan struct{}, 100)
	release := make(chan struct{})
	q.w.ahead.every = 4 << 10
	q.w.ahead.fsync = func(f *os.File) error {
		started.Add(1)
		began <- struct{}{}
		<-release
		defer finished.Add(1)
		return fdatasync(f)
	}
	putRange(t, q, 0, 3, 1000, 1) // 3 KB: below the threshold
	require.Zero(t, started.Load())
	putRange(t, q, 3, 5, 1000, 1) // past 4 KB: a flush starts
	select {
	case <-began:
	case <-time.After(10 * time.Second):
		t.Fatal("no background flush began")
	}
	putRange(t, q, 5, 10, 1000, 1) // it is still running: no second one
	require.Empty(t, began)
	require.Zero(t, q.Stats().Syncs, "no policy fsync before SyncEvery")
	close(release)

	putRange(t, q, 10, 20, 1000, 1) // the 20th record: the policy's fsync
	// It waited for the background flush and counted it, then its own.
	require.GreaterOrEqual(t, q.Stats().Syncs, int64(2))
	putRange(t, q, 20, 26, 1000, 1) // past 4 KB since that fsync
	require.NoError(t, q.Close())
	require.Equal(t, started.Load(), finished.Load(), "Close returned before a background flush ended")

	q = mustOpen(t, o)
	defer q.Close()
	require.Equal(t, seq(0, 26), indexes(t, readAllNoAck(t, q)))
}

// A background flush is a data fsync like the policy's: SyncObserver (the
// fsync histogram of /metrics) hears of each, and Stats.Syncs counts each
// that succeeded.
func TestFlushAheadCountsAsAnFsync(t *testing.T) {
	o := flushAheadOptions(t)
	o.SyncEvery = 1000 // no policy fsync before Close's
	var observed atomic.Int32
	o.SyncObserver = func(time.Duration) { observed.Add(1) }
	q := mustOpen(t, o)
	background := countFlushAheads(q, 4<<10)
	putRange(t, q, 0, 12, 1000, 1)
	require.NoError(t, q.Close()) // one policy fsync of the unsynced records
	require.GreaterOrEqual(t, background.Load(), int32(1))
	require.Equal(t, background.Load()+1, observed.Load(),
		"SyncObserver calls: every background flush and Close's fsync")
	require.Equal(t, int64(background.Load()+1), q.Stats().Syncs)
}

// countFlushAheads makes q flush ahead every `every` bytes and counts the
// background flushes.
func countFlushAheads(q *Queue, every int64) *atomic.Int32 {
	var n atomic.Int32
	q.w.ahead.every = every
	q.w.ahead.fsync = func(f *os.File) error {
		n.Add(1)
		return fdatasync(f)
	}
	return &n
}

// Empty starts the writer on a fresh segment, and the bytes counted
// towards the next flush ahead start over with it: the first flushAhead
// bytes written after an Empty start one.
func TestFlushAheadStartsOverAfterEmpty(t *testing.T) {
	o := flushAheadOptions(t)
	o.SyncEvery = 1000
	q := mustOpen(t, o)
	defer q.Close()
	background := countFlushAheads(q, 4<<10)
	putRange(t, q, 0, 24, 1000, 1)
	require.NoError(t, q.Empty())
	q.wmu.Lock()
	q.waitFlushAhead()
	q.wmu.Unlock()
	before := background.Load()
	putRange(t, q, 24, 30, 1000, 1) // 6 KB into the new segment
	q.wmu.Lock()
	q.waitFlushAhead()
	q.wmu.Unlock()
	require.Greater(t, background.Load(), before, "no flush ahead in the segment after Empty")
}

// A background flush that fails takes the write-back error from the file,
// so the policy's next fsync would not see it: that fsync fails instead,
// the Put that asked for it is refused and stores nothing, and the queue
// goes on working.
func TestFlushAheadFailureFailsTheNextPolicySync(t *testing.T) {
	o := flushAheadOptions(t)
	q := mustOpen(t, o)
	q.w.ahead.every = 4 << 10
	var failures atomic.Int32
	q.w.ahead.fsync = func(*os.File) error {
		failures.Add(1)
		return &os.PathError{Op: "fdatasync", Path: "segment", Err: syscall.EIO}
	}
	putRange(t, q, 0, 5, 1000, 1) // the 5th record starts the failing flush
	var batch [][]byte
	for i := 5; i < 20; i++ { // reaches SyncEvery
		batch = append(batch, payload(i, 1000))
	}
	_, err := q.Put(batch)
	require.Error(t, err)
	require.True(t, errors.Is(err, syscall.EIO), "%v", err)
	// The background flush, then the fsync of the cut back (unwrite).
	require.Equal(t, int32(2), failures.Load())

	q.w.ahead.fsync = nil
	putRange(t, q, 100, 120, 1000, 1)
	require.NoError(t, q.Close())
	q = mustOpen(t, o)
	defer q.Close()
	require.Equal(t, append(seq(0, 5), seq(100, 120)...), indexes(t, readAllNoAck(t, q)))
}

// lastLiesBatch says its last record is one byte longer than it appends:
// the writer finds out only once the pieces before it are written.
type lastLiesBatch struct{ recordsBatch }

func (b lastLiesBatch) Size(i int) int {
	if i == len(b.recordsBatch)-1 {
		return len(b.recordsBatch[i]) + 1
	}
	return len(b.recordsBatch[i])
}

// A group that fails after some of its pieces were written is cut back; when
// a flush ahead ran since the last policy fsync it may have put those
// pieces on the device, so the cut is fsynced too (after any running flush
// ahead ended): a crash cannot bring back records whose Put failed.
func TestFailedGroupAfterAFlushAheadIsCutBackDurably(t *testing.T) {
	o := flushAheadOptions(t)
	q := mustOpen(t, o)
	q.writePiece = 2 << 10
	q.w.ahead.every = 4 << 10
	var mu sync.Mutex
	var sizes []int64 // the segment's size at each fsync through the hook
	q.w.ahead.fsync = func(f *os.File) error {
		fi, err := f.Stat()
		require.NoError(t, err)
		mu.Lock()
		sizes = append(sizes, fi.Size())
		mu.Unlock()
		return fdatasync(f)
	}
	putRange(t, q, 0, 5, 1000, 1) // past 4 KB: a flush ahead
	require.True(t, q.waitFlushAhead())
	mu.Lock()
	sizes = nil // from here: the failing group's
	mu.Unlock()
	before := q.w.pos
	var recs recordsBatch
	for i := 5; i < 15; i++ {
		recs = append(recs, payload(i, 1000))
	}
	_, err := q.PutBatch(lastLiesBatch{recs})
	require.Error(t, err)
	require.Equal(t, before, q.w.pos)
	mu.Lock()
	require.NotEmpty(t, sizes)
	require.Equal(t, before, sizes[len(sizes)-1], "the cut back was not fsynced")
	mu.Unlock()

	putRange(t, q, 100, 102, 1000, 1)
	require.NoError(t, q.Close())
	q = mustOpen(t, o)
	defer q.Close()
	require.Equal(t, append(seq(0, 5), seq(100, 102)...), indexes(t, readAllNoAck(t, q)))
}
