package diskqueue

import (
	"testing"

	"github.com/stretchr/testify/require"
)

// A group far larger than a piece is written from one piece-sized buffer,
// every record arrives in order, and the writer keeps no buffer of the
// group's size afterwards.
func TestLargeGroupIsWrittenInPiecesFromASmallBuffer(t *testing.T) {
	o, _ := testOptions(t, t.TempDir())
	o.MaxBytesPerFile = 16 << 20
	q := mustOpen(t, o)
	defer q.Close()

	const n, size = 1500, 2000 // ~3 MB in one Put
	var batch [][]byte
	for i := range n {
		batch = append(batch, payload(i, size))
	}
	require.NoError(t, putErr(q.Put(batch)))
	require.Equal(t, int64(n), q.Depth())
	require.LessOrEqual(t, cap(q.w.buf), writePiece+recHeaderSize+size,
		"the writer's buffer grew to the group's size")
	require.Equal(t, seq(0, n), indexes(t, readAllNoAck(t, q)))

	// One record larger than maxKeptBuf grows the buffer for its group
	// only.
	o2, _ := testOptions(t, t.TempDir())
	o2.MaxBytesPerFile = 16 << 20
	o2.MaxMsgSize = 2 * maxKeptBuf
	q2 := mustOpen(t, o2)
	defer q2.Close()
	require.NoError(t, putErr(q2.Put([][]byte{payload(1, maxKeptBuf+1)})))
	require.Nil(t, q2.w.buf, "a buffer grown past maxKeptBuf was kept")
	require.Equal(t, []int{1}, indexes(t, readAllNoAck(t, q2)))
}
