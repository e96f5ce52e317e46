package diskqueue

import (
	"encoding/binary"
	"errors"
	"sync"
	"testing"

	"github.com/stretchr/testify/require"
)

// TestConcurrentPutAndReadKeepEveryRecordOnceInOrder runs writers and a
// reader at once across many rollovers: each writer's records must come out
// exactly once and in that writer's order.
func TestConcurrentPutAndReadKeepEveryRecordOnceInOrder(t *testing.T) {
	const writers, batches = 4, 300
	o, _ := testOptions(t, t.TempDir())
	o.MaxBytesPerFile = 4096
	o.SyncEvery = 7
	q := mustOpen(t, o)
	defer q.Close()

	rec := func(w, i int) []byte {
		b := make([]byte, 16+(i%5)*9)
		binary.BigEndian.PutUint64(b, uint64(w))
		binary.BigEndian.PutUint64(b[8:], uint64(i))
		return b
	}
	var total int
	for b := range batches {
		total += 1 + b%9
	}
	total *= writers

	var wg sync.WaitGroup
	for w := range writers {
		wg.Go(func() {
			i := 0
			for b := range batches {
				var recs [][]byte
				for range 1 + b%9 {
					recs = append(recs, rec(w, i))
					i++
				}
				if err := putErr(q.Put(recs)); err != nil {
					t.Error(err)
					return
				}
			}
		})
	}

	writersDone := make(chan struct{})
	go func() { wg.Wait(); close(writersDone) }()
	next := make([]int, writers)
	got := 0
	idleAfterDone := false
	for got < total {
		recs, err := q.Read(13)
		require.NoError(t, err)
		if len(recs) == 0 {
			require.False(t, idleAfterDone, "writers finished but only %d of %d records arrived", got, total)
			select {
			case <-q.Ready():
			case <-writersDone:
				idleAfterDone = true
			}
			continue
		}
		for _, r := range recs {
			w := int(binary.BigEndian.Uint64(r.Data))
			i := int(binary.BigEndian.Uint64(r.Data[8:]))
			require.Less(t, w, writers)
			require.Equal(t, next[w], i, "writer %d out of order, duplicated or lost", w)
			require.Equal(t, rec(w, i), r.Data)
			next[w]++
			got++
		}
	}
	wg.Wait()
	recs, err := q.Read(1)
	require.NoError(t, err)
	require.Empty(t, recs, "nothing beyond what was written")
	require.Zero(t, q.Depth())
}

// TestConcurrentPutsAreGroupCommitted checks that concurrent synchronous
// Puts all land, and that fsyncs never outnumber commits.
func TestConcurrentPutsAreGroupCommitted(t *testing.T) {
	const writers, puts = 8, 50
	o, _ := testOptions(t, t.TempDir())
	o.MaxBytesPerFile = 1 << 20
	q := mustOpen(t, o)
	defer q.Close()
	var wg sync.WaitGroup
	for w := range writers {
		wg.Go(func() {
			for i := range puts {
				if err := putErr(q.Put([][]byte{payload(w*puts+i, 32)})); err != nil {
					t.Error(err)
				}
			}
		})
	}
	wg.Wait()
	st := q.Stats()
	require.EqualValues(t, writers*puts, st.Depth)
	require.LessOrEqual(t, st.Syncs, int64(writers*puts))
	t.Logf("%d synchronous Puts, %d fsyncs", writers*puts, st.Syncs)
	got := indexes(t, readAll(t, q))
	require.ElementsMatch(t, seq(0, writers*puts), got)
}

// TestCloseWhilePutting: Puts racing with Close either succeed (and their
// records survive) or fail with ErrClosed.
func TestCloseWhilePutting(t *testing.T) {
	o, _ := testOptions(t, t.TempDir())
	o.MaxBytesPerFile = 1 << 20
	q := mustOpen(t, o)
	var mu sync.Mutex
	var ok []int
	var wg sync.WaitGroup
	for w := range 4 {
		wg.Go(func() {
			for i := range 100 {
				n := w*100 + i
				err := putErr(q.Put([][]byte{payload(n, 20)}))
				if err != nil {
					if !errors.Is(err, ErrClosed) {
						t.Error(err)
					}
					return
				}
				mu.Lock()
				ok = append(ok, n)
				mu.Unlock()
			}
		})
	}
	require.NoError(t, q.Close())
	wg.Wait()

	q = mustOpen(t, o)
	defer q.Close()
	require.ElementsMatch(t, ok, indexes(t, readAll(t, q)))
}
