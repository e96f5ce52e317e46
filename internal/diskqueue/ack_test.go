package diskqueue

import (
	"fmt"
	"maps"
	"math/rand/v2"
	"os"
	"slices"
	"sync"
	"testing"
	"time"
	"unsafe"

	"github.com/stretchr/testify/require"
)

// segmentOf maps each record index of a closed or synced queue to the
// segment holding it.
func segmentOf(t *testing.T, o Options) map[int]int64 {
	t.Helper()
	out := map[int]int64{}
	for _, s := range segments(t, o) {
		for _, i := range segmentIndexes(t, segPath(o, s)) {
			out[i] = s
		}
	}
	return out
}

func TestSeqsIncreaseFromOne(t *testing.T) {
	o, _ := testOptions(t, t.TempDir())
	q := mustOpen(t, o)
	putRange(t, q, 0, 20, 100, 6)
	recs := readAllNoAck(t, q)
	require.Len(t, recs, 20)
	for i, r := range recs {
		require.EqualValues(t, i+1, r.Seq, "record %d", i)
	}
	require.NoError(t, q.Close())

	// Seqs restart with every Open; 0 is never one.
	q = mustOpen(t, o)
	defer q.Close()
	recs, err := q.Read(1)
	require.NoError(t, err)
	require.Len(t, recs, 1)
	require.EqualValues(t, 1, recs[0].Seq)
}

func TestUnackedRecordsAreRedeliveredAfterCrash(t *testing.T) {
	o, _ := testOptions(t, t.TempDir())
	q := mustOpen(t, o)
	putRange(t, q, 0, 30, 100, 4) // about 9 records per segment
	before := segments(t, o)
	require.Greater(t, len(before), 2)

	require.Equal(t, seq(0, 30), indexes(t, readAllNoAck(t, q)))
	require.Zero(t, q.Depth(), "Depth counts records not yet read")
	require.EqualValues(t, 30, q.Unacked())
	require.EqualValues(t, 30, q.Stats().Unacked)
	require.NoError(t, q.Sync())
	settle(q)
	require.Equal(t, before, segments(t, o), "segments holding unacked records stay")
	m, _, err := readMeta(q.metaPath)
	require.NoError(t, err)
	require.EqualValues(t, 0, m.readFile)
	require.EqualValues(t, segHeaderSize, m.readPos, "persisted position is the oldest unacked record")
	require.EqualValues(t, 30, m.depth, "persisted depth counts what a reopen delivers")
	crash(q)

	q = mustOpen(t, o)
	defer q.Close()
	require.EqualValues(t, 30, q.Depth())
	require.Equal(t, seq(0, 30), indexes(t, readAll(t, q)))
}

func TestUnackedRecordsAreRedeliveredAfterClose(t *testing.T) {
	o, _ := testOptions(t, t.TempDir())
	o.MaxBytesPerFile = 1 << 20
	q := mustOpen(t, o)
	putRange(t, q, 0, 20, 50, 20)
	recs, err := q.Read(10)
	require.NoError(t, err)
	q.Ack(seqsOf(recs[:5])...)
	require.EqualValues(t, 5, q.Unacked())
	require.EqualValues(t, 10, q.Depth())
	require.NoError(t, q.Close())

	q = mustOpen(t, o)
	defer q.Close()
	require.EqualValues(t, 15, q.Depth())
	require.Zero(t, q.Unacked())
	require.Equal(t, seq(5, 20), indexes(t, readAll(t, q)))
}

// TestOutOfOrderAcksRedeliverOnlyUnfinished acks random subsets in random
// order, then crashes after a sync: exactly the unacked records come back
// (FIN progress past the oldest of them is persisted), and only the segments
// below the oldest unacked record's segment were removed.
func TestOutOfOrderAcksRedeliverOnlyUnfinished(t *testing.T) {
	const n = 60
	for seed := range uint64(12) {
		t.Run(fmt.Sprint(seed), func(t *testing.T) {
			rng := rand.New(rand.NewPCG(seed, 7))
			o, _ := testOptions(t, t.TempDir())
			q := mustOpen(t, o)
			putRange(t, q, 0, n, 100, 5)
			segOf := segmentOf(t, o)
			recs := readAllNoAck(t, q)
			require.Equal(t, seq(0, n), indexes(t, recs))

			// Ack a random prefix-heavy subset, in random order.
			var acked []int
			cut := rng.IntN(n)
			for i := range n {
				if i < cut || rng.IntN(3) == 0 {
					acked = append(acked, i)
				}
			}
			rng.Shuffle(len(acked), func(a, b int) { acked[a], acked[b] = acked[b], acked[a] })
			for _, i := range acked {
				q.Ack(recs[i].Seq)
			}
			oldest := n
			for i := range n {
				if !slices.Contains(acked, i) {
					oldest = i
					break
				}
			}
			require.EqualValues(t, n-len(acked), q.Unacked())
			require.NoError(t, q.Sync())
			settle(q) // removeLoop removes released segments in its own time

			// Kept: from the oldest unacked record's segment on, and always
			// the write segment.
			all := slices.Compact(slices.Sorted(maps.Values(segOf)))
			keepFrom := all[len(all)-1]
			if oldest < n {
				keepFrom = segOf[oldest]
			}
			want := slices.DeleteFunc(all, func(s int64) bool { return s < keepFrom })
			require.Equal(t, want, segments(t, o), "oldest unacked: %d", oldest)
			crash(q)

			q = mustOpen(t, o)
			defer q.Close()
			var unacked []int
			for i := range n {
				if !slices.Contains(acked, i) {
					unacked = append(unacked, i)
				}
			}
			require.EqualValues(t, len(unacked), q.Depth())
			got := indexes(t, readAll(t, q))
			if len(unacked) == 0 {
				require.Empty(t, got)
			} else {
				require.Equal(t, unacked, got)
			}
		})
	}
}

func TestAckedRecordsAreNotRedelivered(t *testing.T) {
	o, _ := testOptions(t, t.TempDir())
	q := mustOpen(t, o)
	putRange(t, q, 0, 40, 100, 8)
	var recs []Record
	for {
		batch, err := q.Read(6)
		require.NoError(t, err)
		if len(batch) == 0 {
			break
		}
		recs = append(recs, batch...)
	}
	// Ack back to front, one at a time: the frontier only moves at the end.
	for i := len(recs) - 1; i >= 0; i-- {
		require.EqualValues(t, i+1, q.Unacked())
		q.Ack(recs[i].Seq)
	}
	require.Zero(t, q.Unacked())
	require.NoError(t, q.Sync())
	settle(q) // removeLoop removes released segments in its own time
	require.Len(t, segments(t, o), 1, "only the write segment is left")
	crash(q)

	q = mustOpen(t, o)
	defer q.Close()
	require.Zero(t, q.Depth())
	require.Empty(t, readAll(t, q))
}

// TestPeriodicSyncPersistsAcks: acks alone (no write, no read since the last
// metadata write) make the periodic sync write the metadata.
func TestPeriodicSyncPersistsAcks(t *testing.T) {
	o, _ := testOptions(t, t.TempDir())
	o.MaxBytesPerFile = 1 << 20
	o.SyncTimeout = 10 * time.Millisecond
	q := mustOpen(t, o)
	putRange(t, q, 0, 10, 50, 10)
	recs, err := q.Read(10)
	require.NoError(t, err)
	require.NoError(t, q.Sync())
	m, _, err := readMeta(q.metaPath)
	require.NoError(t, err)
	require.EqualValues(t, segHeaderSize, m.readPos)

	q.Ack(seqsOf(recs)...)
	end := int64(segHeaderSize + 10*(recHeaderSize+50))
	// The sync timer is the event here; poll for its effect.
	require.Eventually(t, func() bool {
		m, _, err := readMeta(q.metaPath)
		return err == nil && m.readPos == end && m.depth == 0
	}, 5*time.Second, 5*time.Millisecond)
	crash(q)

	q = mustOpen(t, o)
	defer q.Close()
	require.Empty(t, readAll(t, q))
}

// TestSegmentsWithUnackedRecordsSurvive: one unacked record pins its segment
// and every later one while the reader moves on and the writer rolls over;
// once it is acked, the next sync (or Read) removes them.
func TestSegmentsWithUnackedRecordsSurvive(t *testing.T) {
	for _, release := range []string{"sync", "read"} {
		t.Run(release, func(t *testing.T) {
			o, _ := testOptions(t, t.TempDir())
			q := mustOpen(t, o)
			defer q.Close()
			putRange(t, q, 0, 20, 100, 4)
			recs, err := q.Read(1)
			require.NoError(t, err)
			held := recs[0]
			readAll(t, q)
			putRange(t, q, 20, 40, 100, 4) // more rollovers after the read
			readAll(t, q)
			require.NoError(t, q.Sync())
			settle(q) // nothing was released: nothing is removed
			segs := segments(t, o)
			require.Greater(t, len(segs), 4)
			require.EqualValues(t, 0, segs[0], "the segment holding the unacked record is kept")
			require.EqualValues(t, 1, q.Unacked())

			q.Ack(held.Seq)
			require.Equal(t, segs, segments(t, o), "Ack itself touches no file")
			require.Zero(t, q.Unacked())
			if release == "sync" {
				require.NoError(t, q.Sync())
			} else {
				_, err := q.Read(1)
				require.NoError(t, err)
			}
			settle(q)
			require.Equal(t, segs[len(segs)-1:], segments(t, o))
		})
	}
}

// TestRedeliveryStartsAtTheRecordNotBeforeDamage: the persisted position is
// the unacked record's own start, so damage skipped before it is not met
// (copied, logged, counted) again after a restart.
func TestRedeliveryStartsAtTheRecordNotBeforeDamage(t *testing.T) {
	o, _ := testOptions(t, t.TempDir())
	o.MaxBytesPerFile = 1 << 20
	writeClosed(t, o, 0, 10, 100)
	modifyFile(t, segPath(o, 0), func(b []byte) []byte {
		b[recordOffset(t, b, 4)+recHeaderSize+5] ^= 1
		return b
	})
	q := mustOpen(t, o)
	recs := readAllNoAck(t, q)
	require.Equal(t, without(seq(0, 10), 4), indexes(t, recs))
	require.EqualValues(t, 1, q.Stats().SkippedRecords)
	q.Ack(seqsOf(recs[:4])...) // 0..3; 5 is the oldest unacked
	require.NoError(t, q.Sync())
	crash(q)

	q = mustOpen(t, o)
	defer q.Close()
	require.Equal(t, seq(5, 10), indexes(t, readAll(t, q)))
	require.Zero(t, q.Stats().SkippedRecords)
}

func TestUnackedUpstreamRecordsAreRedelivered(t *testing.T) {
	o, _ := nsqdOptions(t)
	u := upstream{t, o}
	u.segment(0, 0, 1, 2)
	offs := u.segment(1, 3, 4)
	u.meta(5, 0, 0, 1, offs[len(offs)-1])
	q := mustOpen(t, o)
	recs, err := q.Read(4)
	require.NoError(t, err)
	q.Ack(recs[0].Seq, recs[1].Seq, recs[3].Seq)
	require.NoError(t, q.Close())

	q = mustOpen(t, o)
	defer q.Close()
	settle(q)
	require.Equal(t, []int64{0, 1}, segments(t, o), "segment 0 holds the unacked record 2")
	recs = readAll(t, q)
	require.Equal(t, []int{2, 4}, indexes(t, recs), "3 was acknowledged: only unfinished records come back")
	require.True(t, recs[0].Legacy)
	settle(q)
	require.Empty(t, segments(t, o), "upstream segments are removed once acked")
}

func TestAckIgnoresUnknownAndRepeatedSeqs(t *testing.T) {
	o, _ := testOptions(t, t.TempDir())
	q := mustOpen(t, o)
	defer q.Close()
	q.Ack(0, 1, 2, 1<<62) // nothing read yet
	putRange(t, q, 0, 3, 20, 3)
	recs, err := q.Read(3)
	require.NoError(t, err)
	q.Ack(0, 1<<62)
	require.EqualValues(t, 3, q.Unacked())
	q.Ack(recs[1].Seq, recs[1].Seq, recs[1].Seq)
	require.EqualValues(t, 2, q.Unacked())
	q.Ack(recs[0].Seq, recs[2].Seq, recs[0].Seq)
	require.Zero(t, q.Unacked())
	q.Ack(seqsOf(recs)...)
	require.Zero(t, q.Unacked())
}

func TestEmptyDropsOutstandingRecords(t *testing.T) {
	o, _ := testOptions(t, t.TempDir())
	q := mustOpen(t, o)
	putRange(t, q, 0, 30, 100, 5)
	old := readAllNoAck(t, q)[:10]
	require.EqualValues(t, 30, q.Unacked())

	require.NoError(t, q.Empty())
	require.Zero(t, q.Unacked())
	require.Zero(t, q.Depth())
	require.Empty(t, segments(t, o))
	q.Ack(seqsOf(old)...) // no-ops: they were dropped
	require.Zero(t, q.Unacked())

	putRange(t, q, 100, 105, 100, 5)
	recs := readAllNoAck(t, q)
	require.Equal(t, seq(100, 105), indexes(t, recs))
	require.Greater(t, recs[0].Seq, old[len(old)-1].Seq, "seqs keep increasing across Empty")
	q.Ack(seqsOf(old)...) // must not touch the new records
	require.EqualValues(t, 5, q.Unacked())
	q.Ack(recs[0].Seq)
	require.NoError(t, q.Close())

	q = mustOpen(t, o)
	defer q.Close()
	require.Equal(t, seq(101, 105), indexes(t, readAll(t, q)))
}

// TestLongOutstandingRecordKeepsMemoryBounded: one record held while
// thousands of later ones are read and acked. The tracker keeps it aside
// instead of a slot for every record since; the persisted position stays at
// it.
func TestLongOutstandingRecordKeepsMemoryBounded(t *testing.T) {
	const n = 5000
	o, _ := testOptions(t, t.TempDir())
	o.MaxBytesPerFile = 64 << 10
	q := mustOpen(t, o)
	putRange(t, q, 0, n, 16, 250)
	first, err := q.Read(1)
	require.NoError(t, err)
	for range n {
		recs, err := q.Read(3)
		require.NoError(t, err)
		if len(recs) == 0 {
			break
		}
		q.Ack(seqsOf(recs)...)
	}
	require.EqualValues(t, 1, q.Unacked())
	q.amu.Lock()
	ring, old := len(q.acks.ring), len(q.acks.old)
	q.amu.Unlock()
	require.LessOrEqual(t, ring, 2*minRing, "ring slots for %d records read since", n)
	require.Equal(t, 1, old)
	require.NoError(t, q.Sync())
	require.EqualValues(t, 0, segments(t, o)[0])
	crash(q)

	q = mustOpen(t, o)
	defer q.Close()
	got := indexes(t, readAll(t, q))
	require.Equal(t, []int{payloadIndex(t, first[0].Data)}, got, "only the held record comes back")
}

// TestConcurrentPutReadAck: writers, a reader handing seqs to several
// ackers that ack in shuffled chunks, and periodic Syncs, all at once.
// Every record arrives once and in order, every ack lands, and after a crash
// nothing is delivered again.
func TestConcurrentPutReadAck(t *testing.T) {
	const writers, perWriter, ackers = 4, 600, 4
	o, _ := testOptions(t, t.TempDir())
	o.MaxBytesPerFile = 4096
	o.SyncEvery = 16
	q := mustOpen(t, o)

	var wg sync.WaitGroup
	for w := range writers {
		wg.Go(func() {
			for i := 0; i < perWriter; i += 3 {
				recs := [][]byte{payload(w*perWriter+i, 24), payload(w*perWriter+i+1, 24), payload(w*perWriter+i+2, 24)}
				if err := putErr(q.Put(recs)); err != nil {
					t.Error(err)
					return
				}
			}
		})
	}
	seqs := make(chan uint64, 64)
	var ackWG sync.WaitGroup
	for a := range ackers {
		ackWG.Go(func() {
			rng := rand.New(rand.NewPCG(uint64(a), 1))
			var pending []uint64
			flush := func() {
				rng.Shuffle(len(pending), func(i, j int) { pending[i], pending[j] = pending[j], pending[i] })
				for len(pending) > 0 {
					k := 1 + rng.IntN(len(pending))
					q.Ack(pending[:k]...)
					pending = pending[k:]
				}
			}
			for s := range seqs {
				pending = append(pending, s)
				if len(pending) >= 1+rng.IntN(20) {
					flush()
				}
			}
			flush()
		})
	}
	stopSync := make(chan struct{})
	syncDone := make(chan struct{})
	go func() {
		defer close(syncDone)
		for {
			select {
			case <-stopSync:
				return
			default:
			}
			if err := q.Sync(); err != nil {
				t.Error(err)
				return
			}
			_ = q.Stats()
		}
	}()

	writersDone := make(chan struct{})
	go func() { wg.Wait(); close(writersDone) }()
	next := make([]int, writers)
	got, idleAfterDone := 0, false
	for got < writers*perWriter {
		recs, err := q.Read(11)
		require.NoError(t, err)
		if len(recs) == 0 {
			require.False(t, idleAfterDone, "writers finished but only %d records arrived", got)
			select {
			case <-q.Ready():
			case <-writersDone:
				idleAfterDone = true
			}
			continue
		}
		for _, r := range recs {
			i := payloadIndex(t, r.Data)
			w := i / perWriter
			require.Equal(t, w*perWriter+next[w], i, "writer %d out of order, duplicated or lost", w)
			next[w]++
			got++
			seqs <- r.Seq
		}
	}
	close(seqs)
	ackWG.Wait()
	close(stopSync)
	<-syncDone
	wg.Wait()

	require.Zero(t, q.Unacked())
	require.Zero(t, q.Depth())
	require.NoError(t, q.Sync())
	settle(q) // removeLoop removes released segments in its own time
	require.Len(t, segments(t, o), 1)
	crash(q)
	q = mustOpen(t, o)
	defer q.Close()
	require.Empty(t, readAll(t, q))
}

// TestTrackerMatchesModel drives the tracker with random pushes, acks (in
// order, shuffled, repeated, unknown) and long-held records against a map,
// checking after every step the frontier, the count, and that memory stays
// proportional to what is outstanding.
func TestTrackerMatchesModel(t *testing.T) {
	for seed := range uint64(30) {
		t.Run(fmt.Sprint(seed), func(t *testing.T) {
			rng := rand.New(rand.NewPCG(seed, 3))
			tr := tracker{base: firstSeq}
			model := map[uint64]ackEntry{} // outstanding seq -> entry
			var next uint64 = firstSeq
			var peak int     // most records outstanding at once
			sinceShrink := 0 // most ring entries since the last shrink
			held := map[uint64]bool{}
			// Plain comparisons, not require: this runs after every step.
			check := func(step int) {
				t.Helper()
				if int64(len(model)) != tr.unacked {
					t.Fatalf("step %d: unacked %d, model %d", step, tr.unacked, len(model))
				}
				seq, e, ok := tr.frontier()
				lo, any := next, false
				for s := range model {
					lo, any = min(lo, s), true
				}
				if ok != any || (ok && (seq != lo || e != model[lo])) {
					t.Fatalf("step %d: frontier %d %+v %v, model %d %+v %v", step, seq, e, ok, lo, model[lo], any)
				}
				if tr.next() != next {
					t.Fatalf("step %d: next %d, model %d", step, tr.next(), next)
				}
				peak = max(peak, len(model))
				if len(tr.ring) > max(minRing, 4*peak) {
					t.Fatalf("step %d: ring of %d for at most %d outstanding", step, len(tr.ring), peak)
				}
				// Compaction keeps at most half of old dead, or fewer than 32.
				if len(tr.old) > 2*len(model)+31 {
					t.Fatalf("step %d: %d stragglers for %d outstanding", step, len(tr.old), len(model))
				}
			}
			for step := range 4000 {
				switch r := rng.IntN(100); {
				case r < 45: // read a batch
					for range 1 + rng.IntN(8) {
						e := ackEntry{file: int64(next / 10), pos: int64(next)}
						require.Equal(t, next, tr.push(ackEntry{file: e.file, pos: e.pos}))
						model[next] = e
						if rng.IntN(50) == 0 {
							held[next] = true // acked much later
						}
						next++
					}
				case r < 85: // ack a few outstanding, any order
					keys := slices.Collect(maps.Keys(model))
					rng.Shuffle(len(keys), func(i, j int) { keys[i], keys[j] = keys[j], keys[i] })
					k := 0
					for _, s := range keys {
						if k == 1+rng.IntN(8) {
							break
						}
						if held[s] && rng.IntN(40) != 0 {
							continue
						}
						tr.ack(s)
						delete(model, s)
						delete(held, s)
						k++
					}
				case r < 95: // noise: seqs that are not outstanding
					var s uint64 // 0: never a seq
					switch rng.IntN(3) {
					case 1:
						s = next + uint64(rng.IntN(100)) // not handed out yet
					case 2:
						s = uint64(rng.IntN(int(next))) // acked already, unless outstanding
						if _, out := model[s]; out {
							s = 0
						}
					}
					tr.ack(s)
				default:
					tr.shrink()
					// A ring is kept while it was needed since the last
					// shrink: bounded by what it held since then.
					require.LessOrEqual(t, len(tr.ring), max(minRing, 8*sinceShrink), "shrink")
					sinceShrink = tr.n
				}
				sinceShrink = max(sinceShrink, tr.n)
				check(step)
			}
			for s := range model {
				tr.ack(s)
			}
			clear(model)
			check(-1)
			tr.shrink() // may keep a ring used since the last shrink
			tr.shrink()
			require.LessOrEqual(t, len(tr.ring), minRing)
		})
	}
}

// TestTrackerKeepsARingRefilledBetweenShrinks: a steady reader whose
// outstanding records happen to be few at a periodic sync keeps its ring
// (shrinking it would only make it double back, allocating each time),
// while a ring unused since the last shrink is given back.
func TestTrackerKeepsARingRefilledBetweenShrinks(t *testing.T) {
	tr := tracker{base: firstSeq}
	next := uint64(firstSeq)
	fill := func(n int) {
		for range n {
			tr.push(ackEntry{pos: int64(next)})
			next++
		}
	}
	ackAll := func() {
		for tr.unacked > 0 {
			seq, _, _ := tr.frontier()
			tr.ack(seq)
		}
	}
	fill(4000)
	ackAll()
	grown := len(tr.ring)
	require.GreaterOrEqual(t, grown, 4000)
	for range 5 { // a sync finds the reader between two batches each time
		tr.shrink()
		require.Equal(t, grown, len(tr.ring), "ring shrunk while refilled between syncs")
		fill(4000)
		ackAll()
	}
	tr.shrink() // the last period used the ring
	require.Equal(t, grown, len(tr.ring))
	tr.shrink() // idle since the last shrink: given back
	require.Equal(t, minRing, len(tr.ring))
}

func TestReadPositionOfStatsIsTheReader(t *testing.T) {
	o, _ := testOptions(t, t.TempDir())
	o.MaxBytesPerFile = 1 << 20
	q := mustOpen(t, o)
	defer q.Close()
	putRange(t, q, 0, 4, 50, 4)
	_, err := q.Read(3)
	require.NoError(t, err)
	st := q.Stats()
	require.EqualValues(t, segHeaderSize+3*(recHeaderSize+50), st.ReadPos)
	require.EqualValues(t, 1, st.Depth)
	require.EqualValues(t, 3, st.Unacked)
	_, err = os.Stat(segPath(o, 0))
	require.NoError(t, err)
}

// TestTrackerRingHoldsSixteenBytesARecord: the ring's memory for the
// records nsqd's disk benchmark holds in flight (two consumers of RDY 2500)
// is 16 bytes an entry, measured in bytes.
func TestTrackerRingHoldsSixteenBytesARecord(t *testing.T) {
	tr := tracker{base: firstSeq}
	for i := range 5000 {
		tr.push(ackEntry{file: 3, pos: int64(i) * 230, slab: uint32(i/36 + 1)})
	}
	bytes := len(tr.ring) * int(unsafe.Sizeof(tr.ring[0]))
	require.Equal(t, 8192, len(tr.ring))
	require.LessOrEqual(t, bytes, 8192*16, "ring of %d entries", len(tr.ring))
}

// TestTrackerEntriesKeepEveryField: what an entry holds comes back from the
// compact ring whole (segment, position, slab, the gap flag), including
// across a jump of segment numbers too far for the ring's relative ones,
// where the older entries move to the stragglers.
func TestTrackerEntriesKeepEveryField(t *testing.T) {
	tr := tracker{base: firstSeq}
	far := int64(1<<32) + 7
	in := []ackEntry{
		{file: 5, pos: 100, slab: 3},
		{file: 5, pos: 200, slab: 3, afterGap: true},
		{file: 6, pos: 16, slab: maxSlabID},
		{file: far, pos: 1 << 40, slab: 9},
		{file: far, pos: 1<<40 + 50, slab: 9},
	}
	for i, e := range in {
		require.Equal(t, uint64(firstSeq+i), tr.push(e))
	}
	require.Len(t, tr.old, 3, "entries too far below the new one's segment stayed in the ring")
	require.Equal(t, []span{
		{file: 5, first: 100, last: 100},
		{file: 5, first: 200, last: 200},
		{file: 6, first: 16, last: 16},
		{file: far, first: 1 << 40, last: 1<<40 + 50},
	}, tr.unfinishedSpans())
	for i, e := range in {
		seq, got, ok := tr.frontier()
		require.True(t, ok)
		require.Equal(t, uint64(firstSeq+i), seq)
		require.Equal(t, e, got, "entry %d", i)
		slab, ok := tr.outstandingSlab(seq)
		require.True(t, ok)
		require.Equal(t, e.slab, slab)
		require.Equal(t, e.slab, tr.ack(seq), "slab of entry %d", i)
	}
	_, _, ok := tr.frontier()
	require.False(t, ok)
	require.Zero(t, tr.unacked)
}

// Sync removes the segments acknowledgements released, even those a
// removeLoop pass claimed before Sync's own removal looked: Sync waits for
// that pass. The test plays the pass itself: it holds removing, claims the
// released segments and unlinks them only later. Without the wait Sync
// returned while they were still on disk (CI saw a transcript count a
// segment that should have been gone).
func TestSyncWaitsForAClaimedRemoval(t *testing.T) {
	o, _ := testOptions(t, t.TempDir())
	q := mustOpen(t, o)
	defer q.Close()
	putRange(t, q, 0, 30, 100, 4) // about 9 records per segment
	before := segments(t, o)
	require.Greater(t, len(before), 2)
	recs := readAllNoAck(t, q)
	require.Equal(t, seq(0, 30), indexes(t, recs))

	q.removing.Lock() // a removeLoop pass begins
	q.Ack(seqsOf(recs)...)
	from, limit := q.claimRemovals()
	require.Less(t, from, limit, "the acknowledgements released segments")
	released := segPath(o, from)

	type result struct {
		err     error
		present bool
	}
	done := make(chan result, 1)
	go func() {
		err := q.Sync()
		_, statErr := os.Stat(released)
		done <- result{err, statErr == nil}
	}()
	select {
	case r := <-done:
		t.Fatalf("Sync returned (err %v, segment still present %v) while a claimed removal was under way", r.err, r.present)
	case <-time.After(200 * time.Millisecond):
	}
	q.unlinkSegments(from, limit)
	q.removing.Unlock()
	r := <-done
	require.NoError(t, r.err)
	require.False(t, r.present, "a released segment outlived Sync")
	require.Equal(t, before[len(before)-1:], segments(t, o), "only the write segment is left")
}
