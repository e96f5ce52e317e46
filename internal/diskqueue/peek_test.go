package diskqueue

import (
	"testing"

	"github.com/stretchr/testify/require"
)

// Peek shows what Read would return next, across segments, and consumes
// nothing: depth, stats and the next Read are the same as without it.
func TestPeekConsumesNothing(t *testing.T) {
	o, _ := testOptions(t, t.TempDir())
	q := mustOpen(t, o)
	defer q.Close()
	putRange(t, q, 0, 60, 100, 7) // ~6 KiB over 1 KiB segments
	readAck(t, q, 5)

	before := q.Stats()
	recs, err := q.Peek(30)
	require.NoError(t, err)
	require.Equal(t, seq(5, 35), indexes(t, recs))
	for _, r := range recs {
		require.Zero(t, r.Seq)
	}
	require.Equal(t, before, q.Stats())

	all, err := q.Peek(1000)
	require.NoError(t, err)
	require.Equal(t, seq(5, 60), indexes(t, all))
	require.Equal(t, seq(5, 60), indexes(t, readAll(t, q)))

	none, err := q.Peek(10)
	require.NoError(t, err)
	require.Empty(t, none)
}

// After a reopen, records finished before it are skipped by Peek as by Read.
func TestPeekSkipsFinishedAfterReopen(t *testing.T) {
	o, _ := testOptions(t, t.TempDir())
	q := mustOpen(t, o)
	putRange(t, q, 0, 20, 100, 20)
	recs, err := q.Read(10)
	require.NoError(t, err)
	// Finish all but record 3: after the reopen 3 comes again, 0-2 and 4-9 do not.
	for _, r := range recs {
		if payloadIndex(t, r.Data) != 3 {
			q.Ack(r.Seq)
		}
	}
	require.NoError(t, q.Close())
	q = mustOpen(t, o)
	defer q.Close()
	peeked, err := q.Peek(100)
	require.NoError(t, err)
	want := append([]int{3}, seq(10, 20)...)
	require.Equal(t, want, indexes(t, peeked))
	require.Equal(t, want, indexes(t, readAll(t, q)))
}

func TestPeekClosed(t *testing.T) {
	o, _ := testOptions(t, t.TempDir())
	q := mustOpen(t, o)
	require.NoError(t, q.Close())
	_, err := q.Peek(1)
	require.ErrorIs(t, err, ErrClosed)
}
