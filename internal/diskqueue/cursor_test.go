package diskqueue

import (
	"bytes"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"testing"

	"github.com/stretchr/testify/require"
)

// Tests of logs read through cursors (cursor.go). Records are payload(i,
// 100): about eight to a 1 KB segment, so a few dozen cross several.

func logOptions(t *testing.T) (Options, *testLog) {
	t.Helper()
	o, l := testOptions(t, t.TempDir())
	o.Log = true
	o.Name = "clicks"
	return o, l
}

func mustCursor(t *testing.T, q *Queue, name string) *Cursor {
	t.Helper()
	c, err := q.Cursor(name)
	require.NoError(t, err)
	return c
}

func mustJoin(t *testing.T, cs ...*Cursor) {
	t.Helper()
	for _, c := range cs {
		require.NoError(t, c.Join())
	}
}

// cursorRead reads everything the cursor has now, seven records at a time,
// acknowledging each batch when ack is set.
func cursorRead(t *testing.T, c *Cursor, ack bool) []Record {
	t.Helper()
	var all []Record
	for range 10000 {
		recs, err := c.Read(7)
		require.NoError(t, err)
		if len(recs) == 0 {
			return all
		}
		if ack {
			c.Ack(seqsOf(recs)...)
		}
		all = append(all, recs...)
	}
	t.Fatal("cursor never ran dry")
	return nil
}

func cursorIndexes(t *testing.T, c *Cursor, ack bool) []int {
	t.Helper()
	return indexes(t, cursorRead(t, c, ack))
}

// crashLog abandons a log as a killed process would: crash, and the
// cursors' read files closed without a metadata write.
func crashLog(q *Queue) {
	crash(q)
	for _, c := range q.cursorList() {
		c.rmu.Lock()
		c.r.close()
		c.rmu.Unlock()
	}
}

func concat(parts ...[]int) []int {
	var out []int
	for _, p := range parts {
		out = append(out, p...)
	}
	return out
}

func TestCursorsJoinedAtDifferentTimesSeeTheirRecords(t *testing.T) {
	o, _ := logOptions(t)
	q := mustOpen(t, o)
	defer q.Close()
	a, b, c := mustCursor(t, q, "a"), mustCursor(t, q, "b"), mustCursor(t, q, "c")

	putRange(t, q, 0, 5, 100, 5) // before anyone joined: nobody's
	mustJoin(t, a)
	putRange(t, q, 5, 20, 100, 3)
	mustJoin(t, b)
	putRange(t, q, 20, 40, 100, 4)
	mustJoin(t, c)
	putRange(t, q, 40, 50, 100, 1)

	require.EqualValues(t, 45, a.Depth())
	require.EqualValues(t, 30, b.Depth())
	require.EqualValues(t, 10, c.Depth())
	require.Equal(t, seq(40, 50), cursorIndexes(t, c, true))
	require.Equal(t, seq(5, 50), cursorIndexes(t, a, true))
	require.Equal(t, seq(20, 50), cursorIndexes(t, b, true))
	for _, cur := range []*Cursor{a, b, c} {
		require.Zero(t, cur.Depth(), cur.Name())
		require.Zero(t, cur.Unacked(), cur.Name())
	}
	require.Zero(t, q.Depth(), "a log's records are its cursors'")
	_, err := q.Read(1)
	require.ErrorIs(t, err, errLogRead)
}

func TestCursorLeaveThenJoinSkipsTheGap(t *testing.T) {
	o, _ := logOptions(t)
	q := mustOpen(t, o)
	defer q.Close()
	a := mustCursor(t, q, "a")
	mustJoin(t, a)
	putRange(t, q, 0, 5, 100, 2)
	require.NoError(t, a.Leave())
	require.False(t, a.Joined())
	putRange(t, q, 5, 25, 100, 3) // a gap of several segments
	require.NoError(t, a.Join())
	require.NoError(t, a.Join(), "joining twice is one join")
	putRange(t, q, 25, 30, 100, 1)
	// Leave and Join with nothing put between: one interval.
	require.NoError(t, a.Leave())
	require.NoError(t, a.Join())
	putRange(t, q, 30, 33, 100, 3)
	require.Len(t, a.snapshot().intervals, 2)

	require.EqualValues(t, 5+8, a.Depth())
	got := cursorRead(t, a, false)
	require.Equal(t, concat(seq(0, 5), seq(25, 33)), indexes(t, got))

	// Without acknowledgements the metadata keeps the records on either
	// side of the gap in separate spans, so a reopen delivers exactly them.
	require.NoError(t, a.Close())
	a = mustCursor(t, q, "a")
	require.Equal(t, concat(seq(0, 5), seq(25, 33)), cursorIndexes(t, a, true))
}

func TestCursorAcksOutOfOrderAndFINProgressSurvivesClose(t *testing.T) {
	o, _ := logOptions(t)
	q := mustOpen(t, o)
	a := mustCursor(t, q, "a")
	mustJoin(t, a)
	putRange(t, q, 0, 30, 100, 5)
	recs := cursorRead(t, a, false)
	require.Equal(t, seq(0, 30), indexes(t, recs))
	require.EqualValues(t, 30, a.Unacked())
	// Acknowledge the odd ones, last first.
	for i := len(recs) - 1; i >= 0; i-- {
		if i%2 == 1 {
			a.Ack(recs[i].Seq)
		}
	}
	a.Ack(recs[1].Seq) // twice: ignored
	require.EqualValues(t, 15, a.Unacked())
	require.NoError(t, q.Close())

	q = mustOpen(t, o)
	defer q.Close()
	a = mustCursor(t, q, "a")
	var even []int
	for i := 0; i < 30; i += 2 {
		even = append(even, i)
	}
	require.EqualValues(t, 15, a.Depth())
	got := cursorRead(t, a, false)
	require.Equal(t, even, indexes(t, got))
	rand.New(rand.NewPCG(1, 2)).Shuffle(len(got), func(i, j int) { got[i], got[j] = got[j], got[i] })
	a.Ack(seqsOf(got)...)
	require.Zero(t, a.Unacked())
	require.NoError(t, a.Close())
	a = mustCursor(t, q, "a")
	require.Empty(t, cursorRead(t, a, true))
}

func TestCursorSegmentRemovalWaitsForTheSlowestCursor(t *testing.T) {
	o, _ := logOptions(t)
	q := mustOpen(t, o)
	defer q.Close()
	fast, slow, late := mustCursor(t, q, "fast"), mustCursor(t, q, "slow"), mustCursor(t, q, "late")
	mustJoin(t, fast, slow)
	putRange(t, q, 0, 40, 100, 4)
	mustJoin(t, late)
	putRange(t, q, 40, 50, 100, 2)
	all := segments(t, o)
	require.Greater(t, len(all), 5)

	require.Equal(t, seq(0, 50), cursorIndexes(t, fast, true))
	require.NoError(t, q.Sync())
	settle(q)
	require.Equal(t, all, segments(t, o), "slow has read nothing")

	// slow reads half, acknowledging all but its first record.
	recs, err := slow.Read(25)
	require.NoError(t, err)
	slow.Ack(seqsOf(recs[1:])...)
	require.NoError(t, q.Sync())
	settle(q)
	require.Equal(t, all, segments(t, o), "slow's oldest record is outstanding")
	slow.Ack(recs[0].Seq)
	require.NoError(t, q.Sync())
	settle(q)
	left := segments(t, o)
	require.Less(t, len(left), len(all), "segments slow has left are removed")
	require.Equal(t, all[len(all)-len(left):], left)

	// late joined at record 40 and has read nothing: it holds only the
	// segments from there on.
	require.Equal(t, seq(25, 50), cursorIndexes(t, slow, true))
	require.NoError(t, q.Sync())
	lateSeg := late.snapshot().intervals[0].start.file
	settle(q)
	require.Equal(t, lateSeg, segments(t, o)[0])
	require.Equal(t, seq(40, 50), cursorIndexes(t, late, true))
	require.NoError(t, q.Sync())
	settle(q)
	require.Equal(t, []int64{q.Stats().WriteFile}, segments(t, o), "only the write segment is left")
}

func TestCursorSegmentsInAGapAreRemoved(t *testing.T) {
	o, _ := logOptions(t)
	q := mustOpen(t, o)
	defer q.Close()
	gappy, steady := mustCursor(t, q, "gappy"), mustCursor(t, q, "steady")
	mustJoin(t, gappy, steady)
	putRange(t, q, 0, 4, 100, 4) // segment 0
	require.NoError(t, gappy.Leave())
	putRange(t, q, 4, 40, 100, 4)
	require.NoError(t, gappy.Join())
	putRange(t, q, 40, 44, 100, 4)
	all := segments(t, o)

	require.Equal(t, seq(0, 44), cursorIndexes(t, steady, true))
	require.NoError(t, q.Sync())
	ivs := gappy.snapshot().intervals
	require.Len(t, ivs, 2)
	var want []int64
	for _, n := range all {
		if n <= ivs[0].end.file || n >= ivs[1].start.file {
			want = append(want, n)
		}
	}
	require.Less(t, len(want), len(all))
	settle(q)
	require.Equal(t, want, segments(t, o), "segments only steady needed are gone")
	require.Equal(t, concat(seq(0, 4), seq(40, 44)), cursorIndexes(t, gappy, true))
}

func TestCursorCrashDeliversEverythingUnfinished(t *testing.T) {
	o, _ := logOptions(t)
	q := mustOpen(t, o)
	a, b, c := mustCursor(t, q, "a"), mustCursor(t, q, "b"), mustCursor(t, q, "c")
	mustJoin(t, a, b, c)
	putRange(t, q, 0, 20, 100, 4)
	require.NoError(t, q.Sync())               // metadata of all three as of now
	require.Len(t, cursorRead(t, a, true), 20) // a finished everything after the sync
	recs, err := b.Read(10)                    // b has ten outstanding, five finished
	require.NoError(t, err)
	b.Ack(seqsOf(recs[:5])...)
	require.NoError(t, c.Leave()) // lost: not persisted
	putRange(t, q, 20, 30, 100, 2)
	crashLog(q)

	q = mustOpen(t, o)
	defer q.Close()
	a, b, c = mustCursor(t, q, "a"), mustCursor(t, q, "b"), mustCursor(t, q, "c")
	// a: acknowledged after the last metadata write, so all come again.
	require.Equal(t, seq(0, 30), cursorIndexes(t, a, true))
	require.Equal(t, seq(0, 30), cursorIndexes(t, b, true))
	// c's Leave was lost: its interval stayed open (duplicates, never loss).
	require.Equal(t, seq(0, 30), cursorIndexes(t, c, true))

	// Finished records persisted by a sync are not delivered again.
	putRange(t, q, 30, 40, 100, 5)
	got := cursorRead(t, a, false)
	require.Equal(t, seq(30, 40), indexes(t, got))
	a.Ack(seqsOf(got[:3])...)
	a.Ack(got[7].Seq)
	require.NoError(t, q.Sync())
	crashLog(q)
	q = mustOpen(t, o)
	defer q.Close()
	a = mustCursor(t, q, "a")
	require.Equal(t, []int{33, 34, 35, 36, 38, 39}, cursorIndexes(t, a, true))
}

func TestCursorJoinIsDurable(t *testing.T) {
	o, _ := logOptions(t)
	q := mustOpen(t, o)
	putRange(t, q, 0, 3, 100, 3)
	a := mustCursor(t, q, "a")
	mustJoin(t, a)
	putRange(t, q, 3, 4, 100, 1) // SyncEvery=1: durable once Put returns
	crashLog(q)

	q = mustOpen(t, o)
	defer q.Close()
	a = mustCursor(t, q, "a")
	require.True(t, a.Joined(), "the join survived the crash")
	// Depth after a crash is an estimate (every record recovered past the
	// log's metadata), exact again once the cursor reaches the end.
	require.GreaterOrEqual(t, a.Depth(), int64(1))
	require.Equal(t, []int{3}, cursorIndexes(t, a, true))
	require.Zero(t, a.Depth())
	putRange(t, q, 4, 6, 100, 1)
	require.Equal(t, []int{4, 5}, cursorIndexes(t, a, true), "still joined")
}

func TestCursorEmptyAndDeleteLeaveTheOthersReading(t *testing.T) {
	o, _ := logOptions(t)
	q := mustOpen(t, o)
	defer q.Close()
	a, b, c := mustCursor(t, q, "a"), mustCursor(t, q, "b"), mustCursor(t, q, "c")
	mustJoin(t, a, b, c)
	putRange(t, q, 0, 30, 100, 3)
	recs, err := a.Read(4)
	require.NoError(t, err)
	require.NoError(t, a.Empty())
	a.Ack(seqsOf(recs)...) // after Empty: nothing
	require.Zero(t, a.Depth())
	require.Zero(t, a.Unacked())
	require.True(t, a.Joined(), "Empty keeps a joined cursor joined")
	require.Empty(t, cursorRead(t, a, true))

	require.NoError(t, b.Delete())
	require.NoFileExists(t, b.metaPath)
	_, err = b.Read(1)
	require.ErrorIs(t, err, ErrClosed)

	putRange(t, q, 30, 35, 100, 5)
	require.Equal(t, seq(30, 35), cursorIndexes(t, a, true))
	require.Equal(t, seq(0, 35), cursorIndexes(t, c, true))
	require.NoError(t, q.Sync())
	settle(q)
	require.Equal(t, []int64{q.Stats().WriteFile}, segments(t, o), "neither a nor the deleted b holds anything")

	b = mustCursor(t, q, "b")
	require.False(t, b.Joined(), "a deleted cursor comes back new")
	require.Empty(t, cursorRead(t, b, true))
}

func TestClosedCursorHoldsItsSegmentsAndReopens(t *testing.T) {
	o, _ := logOptions(t)
	q := mustOpen(t, o)
	a, b := mustCursor(t, q, "a"), mustCursor(t, q, "b")
	mustJoin(t, a, b)
	putRange(t, q, 0, 20, 100, 4)
	recs, err := b.Read(7) // outstanding at Close: delivered again
	require.NoError(t, err)
	require.Len(t, recs, 7)
	require.NoError(t, b.Close())
	_, err = b.Read(1)
	require.ErrorIs(t, err, ErrClosed)
	require.Equal(t, seq(0, 20), cursorIndexes(t, a, true))
	putRange(t, q, 20, 25, 100, 5) // b is closed but still joined
	require.NoError(t, q.Sync())
	settle(q)
	require.Equal(t, int64(0), segments(t, o)[0], "closed b holds its segments")
	_, err = q.Cursor("a")
	require.ErrorIs(t, err, ErrCursorOpen)
	require.NoError(t, q.Close())

	q = mustOpen(t, o)
	defer q.Close()
	b = mustCursor(t, q, "b")
	require.Equal(t, seq(0, 25), cursorIndexes(t, b, true))
}

func TestCursorReadySignal(t *testing.T) {
	o, _ := logOptions(t)
	q := mustOpen(t, o)
	defer q.Close()
	a, b := mustCursor(t, q, "a"), mustCursor(t, q, "b")
	signalled := func(c *Cursor) bool {
		select {
		case <-c.Ready():
			return true
		default:
			return false
		}
	}
	mustJoin(t, a)
	putRange(t, q, 0, 3, 100, 3)
	require.True(t, signalled(a), "joined: signalled by a Put")
	require.False(t, signalled(b), "not joined: not signalled")
	_, err := a.Read(1)
	require.NoError(t, err)
	require.True(t, signalled(a), "a Read that leaves records re-signals")
	cursorRead(t, a, true)
	require.False(t, signalled(a))
	select {
	case <-q.Ready():
		t.Fatal("a log's own Ready is never signalled")
	default:
	}
}

func TestCursorSkipsDamageAsTheQueueDoes(t *testing.T) {
	o, _ := logOptions(t)
	o.MaxBytesPerFile = 1 << 20
	q := mustOpen(t, o)
	a, b := mustCursor(t, q, "a"), mustCursor(t, q, "b")
	mustJoin(t, a, b)
	putRange(t, q, 0, 10, 100, 5)
	require.NoError(t, q.Close())
	path := segPath(o, 0)
	modifyFile(t, path, func(seg []byte) []byte {
		seg[recordOffset(t, seg, 4)+recHeaderSize+20] ^= 0xff // record 4's data
		return seg
	})

	q = mustOpen(t, o)
	defer q.Close()
	a, b = mustCursor(t, q, "a"), mustCursor(t, q, "b")
	for _, c := range []*Cursor{a, b} {
		require.Equal(t, without(seq(0, 10), 4), cursorIndexes(t, c, true), c.Name())
		st := c.Stats()
		require.EqualValues(t, 1, st.SkippedRecords, c.Name())
		require.Zero(t, st.Depth, c.Name())
	}
	require.Len(t, damagedFiles(t, o), 1)
}

func TestCursorNamesAndFiles(t *testing.T) {
	for _, ok := range []string{"c", "a.b-c_D9", "x#ephemeral", string(bytes.Repeat([]byte("n"), 64))} {
		require.NoError(t, validCursorName(ok), ok)
	}
	for _, bad := range []string{"", "#ephemeral", "a/b", "a b", "x.diskqueue.y", string(bytes.Repeat([]byte("n"), 65))} {
		require.Error(t, validCursorName(bad), bad)
	}
	for file, want := range map[string]fileKind{
		"t.diskqueue.cursor.ch.meta.dat":                   kindCursorMeta,
		"t.diskqueue.cursor.ch#ephemeral.meta.dat":         kindCursorMeta,
		"t.diskqueue.cursor.ch.meta.dat.123.tmp":           kindCursorTemp,
		"t.diskqueue.cursor.ch.meta.dat.damaged":           kindDamaged,
		"t.diskqueue.cursor.a.diskqueue.meta.dat":          kindOther, // queue "t.diskqueue.cursor.a"'s metadata
		"t.diskqueue.cursor.a.diskqueue.cursor.b.meta.dat": kindOther,
		"t.diskqueue.cursor..meta.dat":                     kindOther,
	} {
		got, _ := classify("t", file)
		require.Equal(t, want, got, file)
	}

	o, _ := logOptions(t)
	q := mustOpen(t, o)
	_, err := q.Cursor("bad name")
	require.Error(t, err)
	a := mustCursor(t, q, "a")
	mustJoin(t, a)
	putRange(t, q, 0, 20, 100, 4)
	_, err = q.Peek(1)
	require.ErrorIs(t, err, errLogRead)
	require.ErrorIs(t, q.Empty(), errLogRead)
	require.NoError(t, q.Delete())
	require.Empty(t, dirNames(t, o.Dir), "Delete removes the cursors' files too")
	bad := o
	bad.ReadOnWrite = true
	_, err = Open(bad)
	require.Error(t, err, "a log is not read on write")

	plain, _ := testOptions(t, t.TempDir())
	pq := mustOpen(t, plain)
	defer pq.Close()
	_, err = pq.Cursor("a")
	require.ErrorIs(t, err, errNotLog)
}

func TestCorruptCursorMetadataDeliversEverything(t *testing.T) {
	o, log := logOptions(t)
	q := mustOpen(t, o)
	a := mustCursor(t, q, "a")
	mustJoin(t, a)
	putRange(t, q, 0, 10, 100, 5)
	require.Equal(t, seq(0, 10), cursorIndexes(t, a, true))
	require.NoError(t, a.Leave())
	require.NoError(t, q.Close())
	modifyFile(t, filepath.Join(o.Dir, cursorMetaFileName(o.Name, "a")), func(b []byte) []byte {
		b[len(b)/2] ^= 1
		return b
	})
	q = mustOpen(t, o)
	require.True(t, log.contains("checksum mismatch"))
	crashLog(q) // the state that replaced the damaged file was written at Open
	q = mustOpen(t, o)
	defer q.Close()
	a = mustCursor(t, q, "a")
	require.True(t, a.Joined())
	got := cursorIndexes(t, a, true)
	require.NotEmpty(t, got, "duplicates rather than loss")
	require.True(t, slices.IsSorted(got))
	require.Equal(t, 9, got[len(got)-1])
}

// TestCursorsConcurrently: two putters and three cursors reading and
// acknowledging at once; every record put while a cursor is joined reaches
// it exactly once, in each putter's order, and none put before it joined.
func TestCursorsConcurrently(t *testing.T) {
	o, _ := logOptions(t)
	o.MaxBytesPerFile = 8 << 10
	o.SyncEvery = 50
	q := mustOpen(t, o)
	defer q.Close()
	const perPutter = 3000
	cs := []*Cursor{mustCursor(t, q, "a"), mustCursor(t, q, "b"), mustCursor(t, q, "c")}
	mustJoin(t, cs[0], cs[1])
	putRange(t, q, 2*perPutter, 2*perPutter+5, 100, 5) // c's: none of these

	var putters, readers sync.WaitGroup
	stop := make(chan struct{})
	got := make([][]int, len(cs))
	for k, c := range cs {
		readers.Add(1)
		go func() {
			defer readers.Done()
			done := false
			for !done {
				select {
				case <-c.Ready():
				case <-stop:
					done = true
				}
				for {
					recs, err := c.Read(13)
					if err != nil {
						t.Error(err)
						return
					}
					if len(recs) == 0 {
						break
					}
					for _, r := range recs {
						got[k] = append(got[k], int(payloadIndexNoT(r.Data)))
					}
					c.Ack(seqsOf(recs)...)
				}
			}
		}()
	}
	mustJoin(t, cs[2])
	for p := range 2 {
		putters.Add(1)
		go func() {
			defer putters.Done()
			for i := p * perPutter; i < (p+1)*perPutter; i += 3 {
				recs := [][]byte{payload(i, 100), payload(i+1, 100), payload(i+2, 100)}
				if _, err := q.Put(recs); err != nil {
					t.Error(err)
					return
				}
			}
		}()
	}
	putters.Wait()
	close(stop)
	readers.Wait()

	for k, c := range cs {
		want := seq(0, 2*perPutter)
		if k < 2 {
			want = append(want, seq(2*perPutter, 2*perPutter+5)...)
		}
		g := slices.Clone(got[k])
		slices.Sort(g)
		require.Equal(t, want, g, c.Name())
		// Each putter's records in its order.
		for p := range 2 {
			var mine []int
			for _, i := range got[k] {
				if i >= p*perPutter && i < (p+1)*perPutter {
					mine = append(mine, i)
				}
			}
			require.True(t, slices.IsSorted(mine), "%s, putter %d", c.Name(), p)
		}
		require.Zero(t, c.Depth(), c.Name())
	}
}

func payloadIndexNoT(b []byte) uint64 {
	if len(b) < 8 || !bytes.Equal(payload(int(uint64FromBytes(b)), len(b)), b) {
		return 1 << 62 // fails the comparison with what was put
	}
	return uint64FromBytes(b)
}

func uint64FromBytes(b []byte) uint64 {
	var v uint64
	for _, c := range b[:8] {
		v = v<<8 | uint64(c)
	}
	return v
}

func FuzzDecodeCursorMeta(f *testing.F) {
	f.Add(cursorMeta{}.encode())
	f.Add(cursorMeta{depth: 4, read: position{1, 16}, intervals: []interval{{start: position{0, 16}, open: true}}}.encode())
	f.Add(cursorMeta{depth: 2, read: position{1, 16}, readEnd: position{3, 40},
		unfinished: []span{{1, 16, 16}, {2, 30, 90}},
		intervals: []interval{{start: position{1, 0}, end: position{2, 100}},
			{start: position{3, 16}, open: true}}}.encode())
	f.Add(cursorMeta{intervals: []interval{{start: position{2, 0}, end: position{1, 0}}}}.encode()) // reversed
	f.Add(cursorMeta{intervals: []interval{{open: true}, {start: position{1, 0}, open: true}}}.encode())
	f.Add(cursorMeta{read: position{1, 5}, readEnd: position{1, 2}}.encode())
	f.Add([]byte(cursorMetaMagic + " 1\n"))
	f.Add([]byte(cursorMetaMagic + " 2\ncrc32c 00000000\n"))
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, b []byte) {
		m, err := decodeCursorMeta(b)
		if err != nil {
			return
		}
		if err := m.check(); err != nil {
			t.Fatalf("accepted invalid metadata: %v", err)
		}
		if !bytes.Equal(m.encode(), b) {
			t.Fatalf("round trip: %q -> %q", b, m.encode())
		}
	})
}

func TestCursorMetaRoundTrip(t *testing.T) {
	m := cursorMeta{depth: 2, read: position{1, 16}, readEnd: position{3, 40},
		unfinished: []span{{1, 16, 16}, {2, 30, 90}},
		intervals: []interval{{start: position{1, 0}, end: position{2, 100}},
			{start: position{3, 16}, open: true}}}
	got, err := decodeCursorMeta(m.encode())
	require.NoError(t, err)
	require.True(t, m.equal(got), "%+v", got)
	path := filepath.Join(t.TempDir(), "c.meta")
	require.NoError(t, writeCursorMeta(path, m))
	got, err = readCursorMeta(path)
	require.NoError(t, err)
	require.True(t, m.equal(got))
	b, err := os.ReadFile(path)
	require.NoError(t, err)
	require.Contains(t, string(b), "3,16,-1,-1\n", "an open interval's end")
}

// TestCursorModel runs random operations on a log of three cursors against
// a model: while nothing crashes, every Read returns exactly the next
// records put while the cursor was joined (or given back by its Close);
// after a crash, a cursor delivers in order every record it had not
// acknowledged, and nothing that was never its, except the records put
// after a Leave that no metadata write recorded.
func TestCursorModel(t *testing.T) {
	for seed := range uint64(12) {
		t.Run("", func(t *testing.T) {
			rng := rand.New(rand.NewPCG(seed, 99))
			o, _ := logOptions(t)
			o.MaxBytesPerFile = 700 + int64(rng.IntN(1500))
			q := mustOpen(t, o)
			defer func() { q.Close() }()
			names := []string{"a", "b", "c"}
			type model struct {
				c           *Cursor
				joined      bool
				expect      []int          // addressed, not yet read, in order
				outstanding map[uint64]int // seq -> record
				mine        map[int]bool   // every record ever addressed
				extra       map[int]bool   // put after an unrecorded Leave
				leaveLost   bool           // a Leave no metadata write recorded
			}
			ms := make([]*model, len(names))
			for i, n := range names {
				ms[i] = &model{c: mustCursor(t, q, n), outstanding: map[uint64]int{}, mine: map[int]bool{}, extra: map[int]bool{}}
			}
			next := 0
			synced := func() {
				for _, m := range ms {
					m.leaveLost = false
				}
			}
			for step := range 400 {
				m := ms[rng.IntN(len(ms))]
				switch op := rng.IntN(20); {
				case op < 6: // put
					n := 1 + rng.IntN(6)
					putRange(t, q, next, next+n, 60+rng.IntN(80), n)
					for i := next; i < next+n; i++ {
						for _, x := range ms {
							if x.joined {
								x.expect = append(x.expect, i)
								x.mine[i] = true
							} else if x.leaveLost {
								x.extra[i] = true
							}
						}
					}
					next += n
				case op < 8:
					require.NoError(t, m.c.Join())
					m.joined, m.leaveLost = true, false
				case op < 9:
					require.NoError(t, m.c.Leave())
					if m.joined {
						m.leaveLost = true
					}
					m.joined = false
				case op < 14: // read, acknowledge some
					recs, err := m.c.Read(1 + rng.IntN(10))
					require.NoError(t, err)
					got := indexes(t, recs)
					require.Equal(t, append([]int{}, m.expect[:min(len(got), len(m.expect))]...), got, "step %d cursor %s", step, m.c.Name())
					m.expect = m.expect[len(got):]
					for _, r := range recs {
						if rng.IntN(3) > 0 {
							m.c.Ack(r.Seq)
						} else {
							m.outstanding[r.Seq] = payloadIndex(t, r.Data)
						}
					}
				case op < 15: // acknowledge the outstanding
					for s := range m.outstanding {
						if rng.IntN(2) == 0 {
							m.c.Ack(s)
							delete(m.outstanding, s)
						}
					}
				case op < 16:
					require.NoError(t, q.Sync())
					synced()
				case op < 17: // close and reopen one cursor
					require.NoError(t, m.c.Close())
					for _, i := range m.outstanding {
						m.expect = append(m.expect, i)
					}
					slices.Sort(m.expect)
					m.outstanding = map[uint64]int{}
					m.c = mustCursor(t, q, m.c.Name())
					if len(m.expect) > 0 {
						require.True(t, drainSignal(m.c), "a reopened cursor with records is signalled")
					}
				case op < 18: // crash and reopen the log
					crashLog(q)
					q = mustOpen(t, o)
					for _, x := range ms {
						x.c = mustCursor(t, q, x.c.Name())
						got := cursorIndexes(t, x.c, true)
						require.True(t, slices.IsSorted(got), "step %d cursor %s: %v", step, x.c.Name(), got)
						have := map[int]bool{}
						for _, i := range got {
							have[i] = true
							require.True(t, x.mine[i] || x.extra[i], "step %d cursor %s got %d, never its", step, x.c.Name(), i)
						}
						for _, i := range x.expect {
							require.True(t, have[i], "step %d cursor %s lost unread %d", step, x.c.Name(), i)
						}
						for _, i := range x.outstanding {
							require.True(t, have[i], "step %d cursor %s lost outstanding %d", step, x.c.Name(), i)
						}
						x.expect, x.outstanding = nil, map[uint64]int{}
						x.joined = x.c.Joined()
						if x.joined {
							// A lost Leave: joined again, as far as the log knows.
							for i := range x.extra {
								x.mine[i] = true
							}
						}
						x.leaveLost = false
						clear(x.extra)
					}
					synced()
				case op < 19:
					require.NoError(t, m.c.Empty())
					m.expect, m.outstanding = nil, map[uint64]int{}
				default: // the invariant on disk: nothing a cursor needs is gone
					require.NoError(t, q.Sync())
					synced()
				}
			}
			for _, m := range ms {
				require.Equal(t, append([]int{}, m.expect...), cursorIndexes(t, m.c, true), m.c.Name())
			}
		})
	}
}

func drainSignal(c *Cursor) bool {
	select {
	case <-c.Ready():
		return true
	default:
		return false
	}
}

// A cursor offers the read side of nsqd/queue's Disk interface and of the
// reuse interface nsqd/queue/reuse.go reads through, with their meanings.
var _ interface {
	Read(max int) ([]Record, error)
	ReadAppend(dst []Record, max int) ([]Record, error)
	Ack(seqs ...uint64)
	Done(seq uint64)
	Keep(seqs ...uint64)
	Depth() int64
	Stats() Stats
	Empty() error
	Close() error
	Delete() error
} = (*Cursor)(nil)

// TestCursorJoinLeaveBetweenPuts: Join and Leave racing with Puts take
// effect between whole batches (a batch's records are the cursor's all or
// none), and a cursor joined throughout gets everything.
func TestCursorJoinLeaveBetweenPuts(t *testing.T) {
	o, _ := logOptions(t)
	o.MaxBytesPerFile = 4 << 10
	q := mustOpen(t, o)
	defer q.Close()
	all, flip := mustCursor(t, q, "all"), mustCursor(t, q, "flip")
	mustJoin(t, all)
	const batches = 300
	var wg sync.WaitGroup
	stop := make(chan struct{})
	wg.Add(1)
	go func() {
		defer wg.Done()
		for i := 0; ; i++ {
			select {
			case <-stop:
				return
			default:
			}
			var err error
			if i%2 == 0 {
				err = flip.Join()
			} else {
				err = flip.Leave()
			}
			if err != nil {
				t.Error(err)
				return
			}
		}
	}()
	for b := range batches {
		putRange(t, q, 4*b, 4*b+4, 50, 4)
	}
	close(stop)
	wg.Wait()
	require.Equal(t, seq(0, 4*batches), cursorIndexes(t, all, true))
	got := cursorIndexes(t, flip, true)
	t.Logf("flip got %d of %d records", len(got), 4*batches)
	require.True(t, slices.IsSorted(got))
	for i := 0; i < len(got); i += 4 {
		require.GreaterOrEqual(t, len(got), i+4, "a partial batch at the end")
		require.Equal(t, seq(got[i], got[i]+4), got[i:i+4], "batches whole")
		require.Zero(t, got[i]%4)
	}
}

func TestCursorReuseReadsKeepsKeptRecords(t *testing.T) {
	o, _ := logOptions(t)
	o.ReuseReads = true
	q := mustOpen(t, o)
	defer q.Close()
	a, b := mustCursor(t, q, "a"), mustCursor(t, q, "b")
	mustJoin(t, a, b)
	putRange(t, q, 0, 40, 100, 4)
	first, err := a.Read(4)
	require.NoError(t, err)
	a.Keep(first[0].Seq)
	kept := bytes.Clone(first[0].Data)
	for _, r := range first {
		a.Done(r.Seq)
	}
	var dst []Record
	for i := 4; i < 40; i += 4 {
		dst, err = a.ReadAppend(dst[:0], 4)
		require.NoError(t, err)
		require.Equal(t, seq(i, i+4), indexes(t, dst))
		for _, r := range dst {
			a.Done(r.Seq)
		}
	}
	require.Equal(t, kept, first[0].Data, "a kept record's memory is never reused")
	require.Equal(t, seq(0, 40), cursorIndexes(t, b, true), "b reads its own copies")
}

// TestCursorPeriodicSyncRecordsLeaveAndAcks calls the periodic sync's body
// (tick) itself: it writes every cursor whose state changed, so that after
// a crash a Leave holds and acknowledged records stay finished.
func TestCursorPeriodicSyncRecordsLeaveAndAcks(t *testing.T) {
	o, _ := logOptions(t)
	q := mustOpen(t, o)
	a, b := mustCursor(t, q, "a"), mustCursor(t, q, "b")
	mustJoin(t, a, b)
	putRange(t, q, 0, 10, 100, 5)
	require.Equal(t, seq(0, 10), cursorIndexes(t, a, true))
	require.NoError(t, a.Leave())
	savedB := b.saved
	q.tick()
	require.False(t, a.saved.joined(), "a's Leave written")
	require.False(t, b.saved.equal(savedB), "b's depth written")
	putRange(t, q, 10, 15, 100, 5)
	crashLog(q)

	q = mustOpen(t, o)
	defer q.Close()
	a, b = mustCursor(t, q, "a"), mustCursor(t, q, "b")
	require.False(t, a.Joined())
	require.Empty(t, cursorIndexes(t, a, true), "finished before the sync, left before the later puts")
	require.Equal(t, seq(0, 15), cursorIndexes(t, b, true))
}

func TestCursorPeekIsWhatReadReturnsNext(t *testing.T) {
	o, _ := logOptions(t)
	q := mustOpen(t, o)
	a := mustCursor(t, q, "a")
	mustJoin(t, a)
	putRange(t, q, 0, 12, 100, 4)
	require.NoError(t, a.Leave())
	putRange(t, q, 12, 30, 100, 6)
	mustJoin(t, a)
	putRange(t, q, 30, 36, 100, 3)
	recs, err := a.Read(3)
	require.NoError(t, err)
	a.Ack(recs[0].Seq, recs[2].Seq)

	peeked, err := a.Peek(100)
	require.NoError(t, err)
	require.Equal(t, concat(seq(3, 12), seq(30, 36)), indexes(t, peeked))
	few, err := a.Peek(4)
	require.NoError(t, err)
	require.Equal(t, seq(3, 7), indexes(t, few))
	require.EqualValues(t, 1, a.Unacked(), "Peek consumes nothing")

	// After a reopen, records finished before it are skipped as Read skips them.
	require.NoError(t, q.Close())
	q = mustOpen(t, o)
	defer q.Close()
	a = mustCursor(t, q, "a")
	peeked, err = a.Peek(100)
	require.NoError(t, err)
	want := concat([]int{1}, seq(3, 12), seq(30, 36))
	require.Equal(t, want, indexes(t, peeked))
	require.Equal(t, want, cursorIndexes(t, a, true))
	peeked, err = a.Peek(100)
	require.NoError(t, err)
	require.Empty(t, peeked)
}

func TestCursorsSurviveALostLogMetadata(t *testing.T) {
	o, log := logOptions(t)
	q := mustOpen(t, o)
	a, b := mustCursor(t, q, "a"), mustCursor(t, q, "b")
	mustJoin(t, a, b)
	putRange(t, q, 0, 30, 100, 5)
	recs, err := a.Read(10)
	require.NoError(t, err)
	a.Ack(seqsOf(recs)...)
	require.NoError(t, q.Sync())
	crashLog(q)
	require.NoError(t, os.Remove(filepath.Join(o.Dir, metaFileName(o.Name))))

	q = mustOpen(t, o)
	defer q.Close()
	require.True(t, log.contains("rebuilding it from the segments"))
	a, b = mustCursor(t, q, "a"), mustCursor(t, q, "b")
	require.Equal(t, seq(10, 30), cursorIndexes(t, a, true))
	require.Equal(t, seq(0, 30), cursorIndexes(t, b, true))
	putRange(t, q, 30, 32, 100, 2)
	require.Equal(t, seq(30, 32), cursorIndexes(t, a, true))
}
