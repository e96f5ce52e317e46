package diskqueue

import (
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"
)

// upstream builds files the way upstream nsqd 1.3 writes them (see
// FORMAT.md, "Upstream segments"): segments of int32 BE length + payload, and the
// three-line metadata file.
type upstream struct {
	t *testing.T
	o Options
}

func nsqdOptions(t *testing.T) (Options, *testLog) {
	o, log := testOptions(t, t.TempDir())
	o.MinMsgSize = 26
	o.MaxMsgSize = 1024 + 26
	return o, log
}

// message returns a payload in upstream's message layout: 8-byte timestamp,
// 2-byte attempts, 16-byte id, body; payloadIndex can decode it.
func message(i int) []byte { return payload(i, 26+10+i%7) }

func (u upstream) segment(n int64, msgs ...int) []int64 {
	var b []byte
	var offs []int64
	for _, i := range msgs {
		offs = append(offs, int64(len(b)))
		b = appendLegacyRecord(b, message(i))
	}
	offs = append(offs, int64(len(b)))
	require.NoError(u.t, os.WriteFile(segPath(u.o, n), b, 0o600))
	return offs
}

func (u upstream) meta(depth, rf, rp, wf, wp int64) {
	s := fmt.Sprintf("%d\n%d,%d\n%d,%d\n", depth, rf, rp, wf, wp)
	require.NoError(u.t, os.WriteFile(filepath.Join(u.o.Dir, metaFileName(u.o.Name)), []byte(s), 0o600))
}

func TestUpstreamDataIsAdopted(t *testing.T) {
	o, log := nsqdOptions(t)
	u := upstream{t, o}
	u.segment(0, 0, 1, 2)
	offs := u.segment(1, 3, 4)
	u.meta(5, 0, 0, 1, offs[len(offs)-1])

	q := mustOpen(t, o)
	require.True(t, log.contains("adopting an upstream nsqd queue"))
	require.EqualValues(t, 5, q.Depth())
	m, kind, err := readMeta(q.metaPath)
	require.NoError(t, err)
	require.Equal(t, metaOurs, kind, "metadata is converted before anything new is written")
	require.EqualValues(t, 2, m.legacyEnd)

	recs, err := q.Read(2)
	require.NoError(t, err)
	require.Equal(t, []int{0, 1}, indexes(t, recs))
	require.True(t, recs[0].Legacy && recs[1].Legacy)
	q.Ack(seqsOf(recs)...)
	putRange(t, q, 100, 102, 40, 2)
	require.NoError(t, q.Close())

	// Restart in the middle of the upstream data.
	q = mustOpen(t, o)
	defer q.Close()
	require.EqualValues(t, 5, q.Depth())
	recs = readAll(t, q)
	require.Equal(t, []int{2, 3, 4, 100, 101}, indexes(t, recs))
	for i, r := range recs {
		require.Equal(t, i < 3, r.Legacy, "record %d", i)
	}
	settle(q)
	require.Equal(t, []int64{2}, segments(t, o), "upstream segments are removed once read")
	b, err := os.ReadFile(segPath(o, 2))
	require.NoError(t, err)
	require.True(t, hasMagic(b), "new data is in our format")
}

func TestUpstreamPositionsAndUnsyncedTailAreHonoured(t *testing.T) {
	o, _ := nsqdOptions(t)
	u := upstream{t, o}
	offs := u.segment(0, 0, 1, 2, 3)
	// Upstream synced after record 2 was written and record 0 was read;
	// record 3 was written after that sync, so Open finds it by scanning on
	// from the recorded write position and keeps it (FORMAT.md, "Recovery at Open").
	u.meta(2, 0, offs[1], 0, offs[3])

	q := mustOpen(t, o)
	defer q.Close()
	require.EqualValues(t, 3, q.Depth())
	recs := readAll(t, q)
	require.Equal(t, []int{1, 2, 3}, indexes(t, recs))
	require.True(t, recs[2].Legacy)
}

func TestUpstreamBadLengthSkipsToNextSegment(t *testing.T) {
	o, log := nsqdOptions(t)
	u := upstream{t, o}
	u.segment(0, 0, 1)
	modifyFile(t, segPath(o, 0), func(b []byte) []byte {
		return append(b, 0x7f, 0xff, 0xff, 0xff, 'j', 'u', 'n', 'k')
	})
	offs := u.segment(1, 2, 3)
	u.meta(5, 0, 0, 1, offs[2])

	q := mustOpen(t, o)
	defer q.Close()
	require.Equal(t, []int{0, 1, 2, 3}, indexes(t, readAll(t, q)))
	st := q.Stats()
	require.EqualValues(t, 1, st.SkippedRecords)
	require.EqualValues(t, 8, st.SkippedBytes)
	require.Len(t, damagedFiles(t, o), 1)
	require.True(t, log.contains("invalid message read size (2147483647)"))
}

func TestUpstreamFreshQueueMetadata(t *testing.T) {
	o, _ := nsqdOptions(t)
	upstream{t, o}.meta(0, 0, 0, 0, 0) // created, nothing ever written
	q := mustOpen(t, o)
	defer q.Close()
	require.Zero(t, q.Depth())
	putRange(t, q, 0, 3, 30, 3)
	require.Equal(t, seq(0, 3), indexes(t, readAll(t, q)))
	settle(q)
	require.Equal(t, []int64{1}, segments(t, o))
}

func TestUpstreamFullyReadQueue(t *testing.T) {
	o, _ := nsqdOptions(t)
	u := upstream{t, o}
	offs := u.segment(0, 0, 1, 2)
	u.meta(0, 0, offs[3], 0, offs[3]) // "0\n0,N\n0,N\n": all read, file kept
	q := mustOpen(t, o)
	defer q.Close()
	require.Zero(t, q.Depth())
	require.Empty(t, readAll(t, q))
	putRange(t, q, 10, 12, 30, 2)
	require.Equal(t, seq(10, 12), indexes(t, readAll(t, q)))
	settle(q)
	require.Equal(t, []int64{1}, segments(t, o))
}

func TestUpstreamSegmentsWithoutMetadata(t *testing.T) {
	o, _ := nsqdOptions(t)
	u := upstream{t, o}
	u.segment(0, 0, 1)
	u.segment(1, 2)
	q := mustOpen(t, o)
	defer q.Close()
	require.EqualValues(t, 3, q.Depth())
	recs := readAll(t, q)
	require.Equal(t, []int{0, 1, 2}, indexes(t, recs))
	require.True(t, recs[2].Legacy)
}
