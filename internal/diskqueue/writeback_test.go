package diskqueue

import (
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// wbRange is one write-back start: the segment offset and length asked for.
type wbRange struct{ off, n int64 }

// recordWritebacks makes q start write-back every `every` bytes through a
// hook that records each range (and then really starts it).
func recordWritebacks(q *Queue, every int64) (ranges func() []wbRange) {
	var mu sync.Mutex
	var got []wbRange
	q.w.ahead.wbEvery = every
	q.w.ahead.wbStart = func(f *os.File, off, n int64) error {
		mu.Lock()
		got = append(got, wbRange{off, n})
		mu.Unlock()
		return syncFileRangeWrite(f, off, n)
	}
	return func() []wbRange {
		q.wmu.Lock()
		q.waitWriteback()
		q.wmu.Unlock()
		mu.Lock()
		defer mu.Unlock()
		return append([]wbRange(nil), got...)
	}
}

// Once half of SyncEvery records are unsynced (and they hold at least
// writebackBytes), the writer starts the write-back of exactly the bytes
// written since the last fsync, once per sync interval; it is no fsync
// (Stats.Syncs and SyncObserver do not count it), the policy's fsync still
// comes at SyncEvery, and the next interval gets a start of its own.
func TestWritebackStartsOncePerSyncInterval(t *testing.T) {
	o := flushAheadOptions(t) // SyncEvery 20
	var observed atomic.Int32
	o.SyncObserver = func(time.Duration) { observed.Add(1) }
	q := mustOpen(t, o)
	ranges := recordWritebacks(q, 4<<10)

	for i := range 9 { // 9 KB unsynced: past the bytes, below half the records
		putRange(t, q, i, i+1, 1000, 1)
		require.Empty(t, ranges(), "started after record %d", i+1)
	}
	putRange(t, q, 9, 10, 1000, 1) // half of SyncEvery
	first := wbRange{0, q.w.pos}
	require.Equal(t, []wbRange{first}, ranges())
	for i := 10; i < 19; i++ {
		putRange(t, q, i, i+1, 1000, 1)
		require.Len(t, ranges(), 1, "a second start in one interval, at record %d", i+1)
	}
	require.Zero(t, q.Stats().Syncs, "a write-back start counted as an fsync")
	require.Zero(t, observed.Load(), "a write-back start reported as an fsync")

	putRange(t, q, 19, 20, 1000, 1) // the 20th record: the policy's fsync
	require.Equal(t, int64(1), q.Stats().Syncs)
	require.Equal(t, int32(1), observed.Load())
	synced := q.w.pos
	putRange(t, q, 20, 29, 1000, 1)
	require.Len(t, ranges(), 1)
	putRange(t, q, 29, 30, 1000, 1)
	require.Equal(t, []wbRange{first, {synced, q.w.pos - synced}}, ranges(),
		"the next interval's start covers what was written since the policy fsync")

	require.NoError(t, q.Close())
	q = mustOpen(t, o)
	defer q.Close()
	require.Equal(t, seq(0, 30), indexes(t, readAllNoAck(t, q)))
}

// Fewer than writebackBytes since the last fsync are left to the policy's
// fsync: small records at a small SyncEvery start nothing.
func TestWritebackSkipsAFewBytes(t *testing.T) {
	o := flushAheadOptions(t)
	q := mustOpen(t, o)
	defer q.Close()
	ranges := recordWritebacks(q, 64<<10) // more than 20 records of 1 KB
	putRange(t, q, 0, 45, 1000, 1)
	require.Empty(t, ranges())
	require.Equal(t, int64(2), q.Stats().Syncs)
}

// Close waits for a running write-back start before it closes the segment.
func TestCloseWaitsForAWritebackStart(t *testing.T) {
	o := flushAheadOptions(t)
	q := mustOpen(t, o)
	began := make(chan struct{}, 10)
	release := make(chan struct{})
	var started, finished atomic.Int32
	q.w.ahead.wbEvery = 4 << 10
	q.w.ahead.wbStart = func(f *os.File, off, n int64) error {
		started.Add(1)
		began <- struct{}{}
		<-release
		defer finished.Add(1)
		return syncFileRangeWrite(f, off, n)
	}
	putRange(t, q, 0, 10, 1000, 1) // half of SyncEvery
	select {
	case <-began:
	case <-time.After(10 * time.Second):
		t.Fatal("no write-back start")
	}
	closed := make(chan error, 1)
	go func() { closed <- q.Close() }()
	// Nothing tells when Close would have closed the segment had it not
	// waited: a Close that does not wait returns within this window.
	select {
	case <-closed:
		t.Fatal("Close returned while a write-back start was running")
	case <-time.After(200 * time.Millisecond):
	}
	close(release)
	select {
	case err := <-closed:
		require.NoError(t, err)
	case <-time.After(10 * time.Second):
		t.Fatal("Close did not return")
	}
	require.Equal(t, started.Load(), finished.Load(), "Close returned before a write-back start ended")
}

// A group that fails after some of its pieces were written is cut back;
// when a write-back start ran since the last policy fsync, those pieces may
// be on the device (and the segment's size in the journal), so the cut is
// fsynced: a crash cannot bring back records whose Put failed. Without the
// write-back start marking it (flushAhead.ran) the cut is not fsynced and
// this fails.
func TestFailedGroupAfterAWritebackIsCutBackDurably(t *testing.T) {
	o := flushAheadOptions(t)
	q := mustOpen(t, o)
	q.writePiece = 2 << 10
	q.w.ahead.every = 1 << 30 // no flush ahead: only write-back starts
	recordWritebacks(q, 2<<10)
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
	putRange(t, q, 0, 10, 1000, 1) // half of SyncEvery: write-back started
	before := q.w.pos
	var recs recordsBatch
	for i := 10; i < 20; i++ {
		recs = append(recs, payload(i, 1000))
	}
	_, err := q.PutBatch(lastLiesBatch{recs})
	require.Error(t, err)
	require.Equal(t, before, q.w.pos)
	mu.Lock()
	require.Equal(t, []int64{before}, sizes, "the cut back was not fsynced")
	mu.Unlock()

	putRange(t, q, 100, 102, 1000, 1)
	require.NoError(t, q.Close())
	q = mustOpen(t, o)
	defer q.Close()
	require.Equal(t, append(seq(0, 10), seq(100, 102)...), indexes(t, readAllNoAck(t, q)))
}

// The real write-back start works on a segment file and fails, with the
// file's name, on a closed one.
func TestSyncFileRangeWrite(t *testing.T) {
	if !writebackSupported {
		t.Skip("no sync_file_range on this system")
	}
	f, err := os.Create(filepath.Join(t.TempDir(), "seg"))
	require.NoError(t, err)
	_, err = f.Write(make([]byte, 1<<20))
	require.NoError(t, err)
	require.NoError(t, syncFileRangeWrite(f, 0, 1<<20))
	require.NoError(t, f.Close())
	err = syncFileRangeWrite(f, 0, 1<<20)
	require.Error(t, err)
}
