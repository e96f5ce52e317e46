package diskqueue

import (
	"os"
	"testing"

	"github.com/stretchr/testify/require"
)

// A batch that crosses a segment boundary and cannot create the next
// segment is refused whole: the part already sealed into the current segment
// is not delivered, now or after a reopen, and the queue goes on working.
func TestBatchRefusedAcrossASegmentBoundaryIsNotDelivered(t *testing.T) {
	for _, tc := range []struct {
		name  string
		first int // records of 300 bytes written before the refused batch
	}{
		{"mid-segment", 1},
		{"at a segment start", 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			o, _ := testOptions(t, dir)
			q := mustOpen(t, o)
			putRange(t, q, 0, tc.first, 300, 1)

			// A directory where the next segment must be created makes the
			// creation fail (root ignores permissions; this it cannot).
			blocker := segmentPath(dir, o.Name, 1)
			require.NoError(t, os.Mkdir(blocker, 0o700))
			var batch [][]byte
			for i := 100; i < 104; i++ { // 4 x 300 bytes: more than one 1024-byte segment
				batch = append(batch, payload(i, 300))
			}
			require.Error(t, putErr(q.Put(batch)))
			require.Equal(t, int64(tc.first), q.Depth(), "a refused batch counted")

			require.NoError(t, os.Remove(blocker))
			putRange(t, q, 200, 202, 300, 1)
			want := append(seq(0, tc.first), seq(200, 202)...)
			require.Equal(t, want, indexes(t, readAllNoAck(t, q)))
			require.NoError(t, q.Close())

			// Reopened as after a crash: the refused records stay gone.
			q = mustOpen(t, o)
			defer q.Close()
			require.Equal(t, want, indexes(t, readAllNoAck(t, q)))
		})
	}
}
