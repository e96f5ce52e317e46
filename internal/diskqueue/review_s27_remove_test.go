package diskqueue

import (
	"runtime"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// Review of session 27's removeLoop (queue.go): segments a Read released
// are removed by the queue's own goroutine, with no other trigger (no
// periodic sync, no write, no Close, no settle), and never one that a
// cursor still reading needs.

// awaitSegments waits, boundedly, for the queue's segments to be want,
// taking Queue.removing between looks so that a removal in progress is
// seen finished. It never removes anything itself (unlike settle).
func awaitSegments(t *testing.T, q *Queue, o Options, want []int64) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !slices.Equal(segments(t, o), want) {
		require.True(t, time.Now().Before(deadline), "segments %v, want %v: removeLoop did not remove them", segments(t, o), want)
		q.removing.Lock()
		q.removing.Unlock() //nolint:staticcheck // waits out a removal in progress
		runtime.Gosched()
	}
}

// A Read that released segments gets them removed by removeLoop alone.
// The existing tests call settle, which removes by itself, so a removeLoop
// that never ran would pass them.
func TestReviewS27ReleasedSegmentsGoWithoutAnotherTrigger(t *testing.T) {
	o, _ := testOptions(t, t.TempDir()) // SyncTimeout is an hour: no tick
	q := mustOpen(t, o)
	defer q.Close()
	putRange(t, q, 0, 40, 100, 4)
	all := segments(t, o)
	require.Greater(t, len(all), 3)
	for range 100 {
		recs, err := q.Read(7)
		require.NoError(t, err)
		if len(recs) == 0 {
			break
		}
		for _, r := range recs {
			q.Done(r.Seq)
		}
	}
	_, err := q.Read(1) // releases what the last Dones finished
	require.NoError(t, err)
	awaitSegments(t, q, o, all[len(all)-1:])
	require.Zero(t, q.Depth())
	require.Zero(t, q.Unacked())
}

// A cursor that is behind keeps every segment it needs while another
// cursor reads and acknowledges concurrently (each of whose Reads hands
// removals to removeLoop) and a writer appends: the slow cursor gets every
// record, in order, none skipped as a missing segment. Then, once it has
// read everything too and each has read again (the Read that releases),
// removeLoop removes all but the write segment.
func TestReviewS27RemoveLoopKeepsWhatASlowCursorNeeds(t *testing.T) {
	o, log := logOptions(t)
	q := mustOpen(t, o)
	defer q.Close()
	fast, slow := mustCursor(t, q, "fast"), mustCursor(t, q, "slow")
	mustJoin(t, fast, slow)
	const total = 300
	putRange(t, q, 0, 100, 100, 4)

	var wg sync.WaitGroup
	errs := make(chan error, 3)
	wg.Add(1)
	go func() { // the writer
		defer wg.Done()
		for i := 100; i < total; i += 4 {
			recs := [][]byte{payload(i, 100), payload(i+1, 100), payload(i+2, 100), payload(i+3, 100)}
			if _, err := q.Put(recs); err != nil {
				errs <- err
				return
			}
		}
	}()
	read := func(c *Cursor, batch int) []int {
		var got []int
		// Bounded by time, not by a count of empty Reads: on a loaded
		// machine a million empty Reads ended before the writer's last
		// Put (the cursor had 296 of 300 under two CPU hogs).
		deadline := time.Now().Add(30 * time.Second)
		for len(got) < total && time.Now().Before(deadline) {
			recs, err := c.Read(batch)
			if err != nil {
				errs <- err
				return got
			}
			for _, r := range recs {
				got = append(got, payloadIndex(t, r.Data))
			}
			c.Ack(seqsOf(recs)...)
			if len(recs) == 0 {
				select {
				case <-c.Ready():
				case <-time.After(10 * time.Millisecond):
				}
			}
		}
		return got
	}
	var fastGot []int
	wg.Add(1)
	go func() { defer wg.Done(); fastGot = read(fast, 7) }()
	// slow reads a record at a time, behind fast most of the way.
	slowGot := read(slow, 1)
	wg.Wait()
	close(errs)
	for err := range errs {
		require.NoError(t, err)
	}
	require.Equal(t, seq(0, total), fastGot)
	require.Equal(t, seq(0, total), slowGot)
	require.False(t, log.contains("missing"), "a segment a cursor needed was removed")
	// Each cursor's next Read releases what its last acks finished (a
	// cursor's Read releases what its own frontier left: cursor.go,
	// ReadAppend).
	for _, c := range []*Cursor{fast, slow} {
		recs, err := c.Read(1)
		require.NoError(t, err)
		require.Empty(t, recs)
	}
	awaitSegments(t, q, o, []int64{q.Stats().WriteFile})
}
