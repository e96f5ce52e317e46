package diskqueue

import (
	"bytes"
	"os"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func TestFIFOAcrossRollover(t *testing.T) {
	o, _ := testOptions(t, t.TempDir())
	q := mustOpen(t, o)
	defer q.Close()

	// 100-byte records: about 9 per 1024-byte segment, batches of every size.
	n := 0
	for _, batch := range []int{1, 5, 17, 2, 40, 3} {
		putRange(t, q, n, n+batch*5, 100, batch)
		n += batch * 5
	}
	segs := segments(t, o)
	require.Greater(t, len(segs), 10, "records must roll over into many segments")
	for _, s := range segs {
		b, err := os.ReadFile(segPath(o, s))
		require.NoError(t, err)
		require.LessOrEqual(t, len(b), int(o.MaxBytesPerFile), "segment %d over MaxBytesPerFile", s)
		st, _ := checkSegmentHeader(b[:segHeaderSize])
		require.Equal(t, headerOK, st, "segment %d header", s)
	}
	require.EqualValues(t, n, q.Depth())

	recs := readAll(t, q)
	require.Equal(t, seq(0, n), indexes(t, recs))
	for _, r := range recs {
		require.False(t, r.Legacy)
	}
	require.Zero(t, q.Depth())
	// Fully read segments are removed; only the write segment stays.
	settle(q)
	require.Equal(t, segs[len(segs)-1:], segments(t, o))
}

func TestRecordLargerThanSegmentGoesAlone(t *testing.T) {
	o, _ := testOptions(t, t.TempDir())
	o.MaxBytesPerFile = 100
	q := mustOpen(t, o)
	defer q.Close()
	putRange(t, q, 0, 6, 500, 3)
	require.Len(t, segments(t, o), 6)
	require.Equal(t, seq(0, 6), indexes(t, readAll(t, q)))
}

func TestRestartMidSegment(t *testing.T) {
	o, _ := testOptions(t, t.TempDir())
	o.MaxBytesPerFile = 1 << 20
	q := mustOpen(t, o)
	putRange(t, q, 0, 50, 40, 10)
	recs, err := q.Read(20)
	require.NoError(t, err)
	require.Equal(t, seq(0, 20), indexes(t, recs))
	q.Ack(seqsOf(recs)...)
	require.NoError(t, q.Close())

	q = mustOpen(t, o)
	require.EqualValues(t, 30, q.Depth())
	putRange(t, q, 50, 60, 40, 4)
	require.Equal(t, seq(20, 60), indexes(t, readAll(t, q)))
	require.NoError(t, q.Close())

	q = mustOpen(t, o)
	defer q.Close()
	require.Zero(t, q.Depth())
	require.Empty(t, readAll(t, q))
}

func TestCrashKeepsEverySyncedRecord(t *testing.T) {
	o, _ := testOptions(t, t.TempDir())
	q := mustOpen(t, o)
	putRange(t, q, 0, 100, 60, 7)
	recs, err := q.Read(30)
	require.NoError(t, err)
	require.Len(t, recs, 30)
	q.Ack(seqsOf(recs)...)
	require.NoError(t, q.Sync()) // metadata now says: read up to 30
	recs, err = q.Read(20)
	require.NoError(t, err)
	require.Len(t, recs, 20)
	q.Ack(seqsOf(recs)...)
	putRange(t, q, 100, 150, 60, 9) // after the last metadata write
	crash(q)

	q = mustOpen(t, o)
	defer q.Close()
	// Records read after the metadata write may come again (at-least-once;
	// those in segments already removed do not); every record not yet read
	// is there, in order, and nothing else.
	got := indexes(t, readAll(t, q))
	require.NotEmpty(t, got)
	require.GreaterOrEqual(t, got[0], 30)
	require.LessOrEqual(t, got[0], 50)
	require.Equal(t, seq(got[0], 150), got)
	require.Zero(t, q.Stats().SkippedRecords)
	require.Zero(t, q.Depth(), "depth is reconciled at the tail")
}

func TestCrashRightAfterOpenAndWrites(t *testing.T) {
	o, _ := testOptions(t, t.TempDir())
	o.SyncEvery = 1000 // nothing fsynced: the kernel still has it after a process crash
	q := mustOpen(t, o)
	putRange(t, q, 0, 40, 100, 3)
	crash(q)

	q = mustOpen(t, o)
	defer q.Close()
	require.EqualValues(t, 40, q.Depth())
	require.Equal(t, seq(0, 40), indexes(t, readAll(t, q)))
}

func TestMissingMetadataRebuilt(t *testing.T) {
	o, log := testOptions(t, t.TempDir())
	q := mustOpen(t, o)
	putRange(t, q, 0, 40, 100, 4)
	require.NoError(t, q.Close())
	require.NoError(t, os.Remove(q.metaPath))

	q = mustOpen(t, o)
	defer q.Close()
	require.True(t, log.contains("rebuilding"))
	require.EqualValues(t, 40, q.Depth())
	require.Equal(t, seq(0, 40), indexes(t, readAll(t, q)))
}

func TestCorruptMetadataRebuilt(t *testing.T) {
	o, _ := testOptions(t, t.TempDir())
	q := mustOpen(t, o)
	putRange(t, q, 0, 30, 100, 4)
	require.NoError(t, q.Close())
	modifyFile(t, q.metaPath, func(b []byte) []byte {
		b[len(metaMagic)+12] ^= 1 // inside the depth line: the checksum catches it
		return b
	})

	q = mustOpen(t, o)
	defer q.Close()
	require.FileExists(t, q.metaPath+".damaged")
	require.Equal(t, seq(0, 30), indexes(t, readAll(t, q)))
}

func TestZeroLengthRecordRejectedUnlessAllowed(t *testing.T) {
	o, _ := testOptions(t, t.TempDir())
	q := mustOpen(t, o)
	err := putErr(q.Put([][]byte{{}}))
	require.ErrorIs(t, err, ErrRecordSize)
	require.NoError(t, q.Close())

	o.MinMsgSize = 0
	q = mustOpen(t, o)
	require.NoError(t, putErr(q.Put([][]byte{{}, []byte("x"), {}})))
	require.NoError(t, q.Close())
	q = mustOpen(t, o)
	defer q.Close()
	recs := readAll(t, q)
	require.Len(t, recs, 3)
	require.Empty(t, recs[0].Data)
	require.Equal(t, []byte("x"), recs[1].Data)
	require.Empty(t, recs[2].Data)
}

func TestMaxSizeRecordRoundTrips(t *testing.T) {
	o, _ := testOptions(t, t.TempDir())
	q := mustOpen(t, o)
	defer q.Close()
	big := payload(7, int(o.MaxMsgSize))
	require.NoError(t, putErr(q.Put([][]byte{payload(1, 10), big, payload(2, 10)})))
	recs := readAll(t, q)
	require.Len(t, recs, 3)
	require.Equal(t, big, recs[1].Data)
}

func TestOversizedRecordFailsWholeBatch(t *testing.T) {
	o, _ := testOptions(t, t.TempDir())
	q := mustOpen(t, o)
	defer q.Close()
	err := putErr(q.Put([][]byte{payload(1, 10), payload(2, int(o.MaxMsgSize)+1), payload(3, 10)}))
	require.ErrorIs(t, err, ErrRecordSize)
	require.Contains(t, err.Error(), "record 2 of 3")
	require.Zero(t, q.Depth())
	require.Empty(t, segments(t, o), "nothing of the batch may be written")
	require.Empty(t, readAll(t, q))
}

func TestEmptyDropsEverything(t *testing.T) {
	o, _ := testOptions(t, t.TempDir())
	q := mustOpen(t, o)
	putRange(t, q, 0, 100, 100, 10)
	recs, err := q.Read(10)
	require.NoError(t, err)
	require.Len(t, recs, 10)

	require.NoError(t, q.Empty())
	require.Zero(t, q.Depth())
	require.Empty(t, segments(t, o))
	require.Empty(t, readAll(t, q))

	putRange(t, q, 100, 105, 100, 2)
	require.NoError(t, q.Close())
	q = mustOpen(t, o)
	defer q.Close()
	require.EqualValues(t, 5, q.Depth())
	require.Equal(t, seq(100, 105), indexes(t, readAll(t, q)))
}

func TestEmptyThenCrashDoesNotResurrect(t *testing.T) {
	o, _ := testOptions(t, t.TempDir())
	q := mustOpen(t, o)
	putRange(t, q, 0, 50, 100, 10)
	require.NoError(t, q.Empty())
	crash(q)
	q = mustOpen(t, o)
	defer q.Close()
	require.Zero(t, q.Depth())
	require.Empty(t, readAll(t, q))
}

func TestDeleteRemovesAllFilesOfTheQueueOnly(t *testing.T) {
	dir := t.TempDir()
	o, _ := testOptions(t, dir)
	o.Name = "a"
	other := o
	other.Name = "a.diskqueue.000001" // a legal topic name that shares a's prefix
	q2 := mustOpen(t, other)
	putRange(t, q2, 0, 3, 20, 3)
	require.NoError(t, q2.Close())
	before := dirNames(t, dir)

	q := mustOpen(t, o)
	putRange(t, q, 0, 30, 100, 5)
	require.NoError(t, q.Close())
	// Damage one record so that a side file exists too.
	modifyFile(t, segPath(o, 0), func(b []byte) []byte { b[recordOffset(t, b, 1)+20] ^= 0x40; return b })
	q = mustOpen(t, o)
	readAll(t, q)
	require.NotEmpty(t, damagedFiles(t, o))

	require.NoError(t, q.Delete())
	require.ElementsMatch(t, before, dirNames(t, dir))
	_, err := q.Read(1)
	require.ErrorIs(t, err, ErrClosed)
}

func TestClosedQueueRefusesWork(t *testing.T) {
	o, _ := testOptions(t, t.TempDir())
	q := mustOpen(t, o)
	require.NoError(t, q.Close())
	require.ErrorIs(t, putErr(q.Put([][]byte{payload(1, 10)})), ErrClosed)
	_, err := q.Read(1)
	require.ErrorIs(t, err, ErrClosed)
	require.ErrorIs(t, q.Close(), ErrClosed)
	require.ErrorIs(t, q.Empty(), ErrClosed)
}

func TestReadySignal(t *testing.T) {
	o, _ := testOptions(t, t.TempDir())
	q := mustOpen(t, o)
	signalled := func() bool {
		select {
		case <-q.Ready():
			return true
		default:
			return false
		}
	}
	require.False(t, signalled(), "empty queue")
	putRange(t, q, 0, 3, 20, 3)
	require.True(t, signalled(), "after Put")
	require.False(t, signalled(), "one signal per event")

	readAck(t, q, 1)
	require.True(t, signalled(), "a Read that leaves records re-signals")
	readAck(t, q, 10)
	require.False(t, signalled(), "nothing left")
	require.NoError(t, q.Close())

	q = mustOpen(t, o)
	require.False(t, signalled(), "reopened empty queue")
	putRange(t, q, 3, 4, 20, 1)
	require.NoError(t, q.Close())
	q = mustOpen(t, o)
	defer q.Close()
	require.True(t, signalled(), "reopened queue with records")
}

func TestWriteFailureIsReportedAndWritingResumes(t *testing.T) {
	o, _ := testOptions(t, t.TempDir())
	o.MaxBytesPerFile = 1 << 20
	q := mustOpen(t, o)
	defer q.Close()
	putRange(t, q, 0, 5, 50, 5)

	// Swap the write segment for a read-only handle: the next write fails,
	// and so does the truncate that would undo it.
	q.wmu.Lock()
	good := q.w.f
	ro, err := os.Open(good.Name())
	require.NoError(t, err)
	q.w.f = ro
	q.wmu.Unlock()
	defer good.Close()

	err = putErr(q.Put([][]byte{payload(5, 50)}))
	require.Error(t, err)
	st := q.Stats()
	require.EqualValues(t, 1, st.WriteErrors)
	require.Error(t, st.Health)
	require.EqualValues(t, 5, st.Depth)

	// The next write moves to a fresh segment and health recovers.
	putRange(t, q, 6, 10, 50, 2)
	st = q.Stats()
	require.NoError(t, st.Health)
	require.EqualValues(t, 1, st.WriteFile)
	got := indexes(t, readAll(t, q))
	require.Equal(t, append(seq(0, 5), seq(6, 10)...), got)
}

func TestPeriodicSyncPersistsPositions(t *testing.T) {
	o, _ := testOptions(t, t.TempDir())
	o.SyncEvery = 1 << 30
	o.MaxBytesPerFile = 1 << 20
	o.SyncTimeout = 10 * time.Millisecond
	q := mustOpen(t, o)
	putRange(t, q, 0, 20, 50, 20)
	recs, err := q.Read(5)
	require.NoError(t, err)
	require.Len(t, recs, 5)
	q.Ack(seqsOf(recs)...)
	want := meta{depth: 15, readPos: int64(segHeaderSize + 5*(recHeaderSize+50)),
		writePos: int64(segHeaderSize + 20*(recHeaderSize+50))}
	// The sync timer is the event here; poll for its effect.
	require.Eventually(t, func() bool {
		m, kind, err := readMeta(q.metaPath)
		return err == nil && kind == metaOurs && m.equal(want)
	}, 5*time.Second, 5*time.Millisecond)
	require.Positive(t, q.Stats().Syncs)
	crash(q)

	q = mustOpen(t, o)
	defer q.Close()
	require.Equal(t, seq(5, 20), indexes(t, readAll(t, q)))
}

func TestRecordsAreCallerOwned(t *testing.T) {
	o, _ := testOptions(t, t.TempDir())
	q := mustOpen(t, o)
	defer q.Close()
	putRange(t, q, 0, 4, 30, 4)
	recs, err := q.Read(4)
	require.NoError(t, err)
	keep := bytes.Clone(recs[1].Data)
	recs[0].Data = append(recs[0].Data, 0xff) // must not spill into recs[1]
	require.Equal(t, keep, recs[1].Data)
	putRange(t, q, 4, 8, 30, 4)
	_, err = q.Read(4)
	require.NoError(t, err)
	require.Equal(t, keep, recs[1].Data, "a later Read must not reuse returned memory")
}

func TestOpenRejectsBadOptions(t *testing.T) {
	o, _ := testOptions(t, t.TempDir())
	for name, mod := range map[string]func(*Options){
		"no dir":       func(o *Options) { o.Dir = "" },
		"missing dir":  func(o *Options) { o.Dir += "/nope" },
		"no name":      func(o *Options) { o.Name = "" },
		"path in name": func(o *Options) { o.Name = "../x" },
		"min over max": func(o *Options) { o.MinMsgSize = o.MaxMsgSize + 1 },
		"negative min": func(o *Options) { o.MinMsgSize = -1 },
	} {
		bad := o
		mod(&bad)
		_, err := Open(bad)
		require.Error(t, err, name)
	}
}

func TestExistsOnlyOnceTheQueueHasFiles(t *testing.T) {
	dir := t.TempDir()
	exists, err := Exists(dir, "t:c")
	require.NoError(t, err)
	require.False(t, exists)
	q, err := Open(Options{Dir: dir, Name: "t:c"})
	require.NoError(t, err)
	require.NoError(t, putErr(q.Put([][]byte{[]byte("record-one")})))
	require.NoError(t, q.Close())
	exists, err = Exists(dir, "t:c")
	require.NoError(t, err)
	require.True(t, exists)
	// Another queue whose name starts with this one's is not this one.
	exists, err = Exists(dir, "t")
	require.NoError(t, err)
	require.False(t, exists)
}
