package diskqueue

import (
	"os"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// recordsBatch is a Batch of ready byte slices.
type recordsBatch [][]byte

func (b recordsBatch) Len() int                        { return len(b) }
func (b recordsBatch) Size(i int) int                  { return len(b[i]) }
func (b recordsBatch) Append(dst []byte, i int) []byte { return append(dst, b[i]...) }

// lyingBatch says its records are one byte longer than it appends.
type lyingBatch struct{ recordsBatch }

func (b lyingBatch) Size(i int) int { return len(b.recordsBatch[i]) + 1 }

// framedOf frames records.
func framedOf(t *testing.T, records [][]byte) *Framed {
	t.Helper()
	var f Framed
	require.NoError(t, f.Frame(recordsBatch(records)))
	require.Equal(t, len(records), f.Len())
	return &f
}

// The bytes a queue stores from PutFramed are exactly those Put stores for
// the same records, segment headers, rollover and all: a queue fed framed
// records is recovered, read and damaged as any other (FORMAT.md).
func TestPutFramedStoresTheSameBytesAsPut(t *testing.T) {
	var records [][]byte
	for i := range 40 {
		records = append(records, payload(i, 8+i*7%90))
	}
	f := framedOf(t, records)

	oPut, _ := testOptions(t, t.TempDir())
	oFramed, _ := testOptions(t, t.TempDir())
	qPut, qFramed := mustOpen(t, oPut), mustOpen(t, oFramed)
	// In uneven slices, so that groups start mid-segment and cross the
	// 1 KB segments' ends.
	for _, cut := range [][2]int{{0, 1}, {1, 9}, {9, 9}, {9, 30}, {30, 40}} {
		first, err := qPut.Put(records[cut[0]:cut[1]])
		require.NoError(t, err)
		firstFramed, err := qFramed.PutFramed(f, cut[0], cut[1])
		require.NoError(t, err)
		require.Equal(t, first, firstFramed)
	}
	require.NoError(t, qPut.Close())
	require.NoError(t, qFramed.Close())

	segs := segments(t, oPut)
	require.GreaterOrEqual(t, len(segs), 3, "the records should span several segments")
	require.Equal(t, segs, segments(t, oFramed))
	for _, n := range segs {
		want, err := os.ReadFile(segPath(oPut, n))
		require.NoError(t, err)
		got, err := os.ReadFile(segPath(oFramed, n))
		require.NoError(t, err)
		require.Equal(t, want, got, "segment %d", n)
	}

	// Reopened (recovery scans the newest segments), every record is read
	// back in order.
	qFramed = mustOpen(t, oFramed)
	defer qFramed.Close()
	require.Equal(t, seq(0, 40), indexes(t, readAll(t, qFramed)))
}

// One Framed feeds several queues at once, as a fan-out's committers do;
// each stores every record, and a crash loses none that was fsynced.
func TestPutFramedIntoSeveralQueuesAtOnce(t *testing.T) {
	var records [][]byte
	for i := range 300 {
		records = append(records, payload(i, 16+i%50))
	}
	f := framedOf(t, records)
	const queues = 3
	opts := make([]Options, queues)
	qs := make([]*Queue, queues)
	for k := range qs {
		opts[k], _ = testOptions(t, t.TempDir())
		opts[k].MaxBytesPerFile = 4096
		qs[k] = mustOpen(t, opts[k])
	}
	var wg sync.WaitGroup
	errs := make([]error, queues)
	for k, q := range qs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for from := 0; from < len(records); from += 50 {
				if _, err := q.PutFramed(f, from, from+50); err != nil {
					errs[k] = err
					return
				}
			}
		}()
	}
	wg.Wait()
	for k, q := range qs {
		require.NoError(t, errs[k])
		crash(q) // SyncEvery is 1: every record was fsynced
		q = mustOpen(t, opts[k])
		require.Equal(t, seq(0, len(records)), indexes(t, readAll(t, q)), "queue %d", k)
		require.NoError(t, q.Close())
	}
}

// The size limits apply to framed records as to any: one record outside
// them refuses the whole put, and nothing is stored.
func TestPutFramedRefusesARecordOutsideTheLimitsWhole(t *testing.T) {
	o, _ := testOptions(t, t.TempDir())
	q := mustOpen(t, o)
	defer q.Close()
	f := framedOf(t, [][]byte{payload(0, 10), payload(1, int(o.MaxMsgSize)+1), payload(2, 10)})
	_, err := q.PutFramed(f, 0, 3)
	require.ErrorIs(t, err, ErrRecordSize)
	require.Zero(t, q.Depth())
	// The records within the limits alone are stored.
	require.NoError(t, putErr(q.PutFramed(f, 2, 3)))
	require.NoError(t, putErr(q.PutFramed(f, 0, 1)))
	require.Equal(t, []int{2, 0}, indexes(t, readAll(t, q)))
}

// A range outside the Framed is an error, not a crash; an empty one stores
// nothing.
func TestPutFramedChecksItsRange(t *testing.T) {
	o, _ := testOptions(t, t.TempDir())
	q := mustOpen(t, o)
	defer q.Close()
	f := framedOf(t, [][]byte{payload(0, 10), payload(1, 10)})
	for _, r := range [][2]int{{-1, 1}, {0, 3}, {2, 1}} {
		_, err := q.PutFramed(f, r[0], r[1])
		require.Error(t, err, "range %v", r)
	}
	require.NoError(t, putErr(q.PutFramed(f, 1, 1)))
	require.Zero(t, q.Depth())
}

// A Batch whose Append disagrees with its Size is refused by Frame, which
// leaves what was framed before as it was.
func TestFrameRefusesALyingBatch(t *testing.T) {
	var f Framed
	require.NoError(t, f.Frame(recordsBatch{payload(0, 10)}))
	before := append([]byte(nil), f.buf...)
	require.Error(t, f.Frame(lyingBatch{recordsBatch{payload(1, 10), payload(2, 10)}}))
	require.Equal(t, 1, f.Len())
	require.Equal(t, before, f.buf)
	f.Reset()
	require.Zero(t, f.Len())
}

// Framing a batch into a reused Framed and putting it allocates nothing
// once the buffers have grown: a fan-out frames every batch.
func TestFrameAndPutFramedAllocateNothing(t *testing.T) {
	o, _ := testOptions(t, t.TempDir())
	o.MaxBytesPerFile = 1 << 30
	o.SyncEvery = 1 << 30
	q := mustOpen(t, o)
	t.Cleanup(func() { require.NoError(t, q.Close()) })
	batch := recordsBatch{payload(0, 64), payload(1, 64), payload(2, 64)}
	var f Framed
	put := func() {
		f.Reset()
		if err := f.Frame(&batch); err != nil { // a pointer: a slice in an interface is an allocation
			t.Fatal(err)
		}
		if _, err := q.PutFramed(&f, 0, f.Len()); err != nil {
			t.Fatal(err)
		}
	}
	put()
	put()
	require.Zero(t, testing.AllocsPerRun(100, put))
}

// BenchmarkPutIntoThreeQueues puts batches of 200 records of 226 bytes (a
// 200-byte message's record) into three queues, as a fan-out to three
// channels whose memory is full does: each queue encoding its own
// (PutBatch) or one Framed for all three (PutFramed). One op is one record
// stored in all three.
func BenchmarkPutIntoThreeQueues(b *testing.B) {
	records := make(recordsBatch, 200)
	for i := range records {
		records[i] = make([]byte, 226)
		records[i][0] = byte(i)
	}
	for _, mode := range []string{"PutBatch", "PutFramed"} {
		b.Run(mode, func(b *testing.B) {
			var qs [3]*Queue
			for k := range qs {
				q, err := Open(Options{
					Dir: b.TempDir(), Name: "clicks:c", MaxBytesPerFile: 100 << 20,
					MinMsgSize: 1, MaxMsgSize: 1 << 20, SyncEvery: 1 << 40, SyncTimeout: time.Hour,
				})
				if err != nil {
					b.Fatal(err)
				}
				defer q.Close()
				qs[k] = q
			}
			var f Framed
			b.SetBytes(3 * 226)
			b.ReportAllocs()
			b.ResetTimer()
			for done := 0; done < b.N; done += len(records) {
				if mode == "PutFramed" {
					f.Reset()
					if err := f.Frame(&records); err != nil {
						b.Fatal(err)
					}
				}
				for _, q := range qs {
					var err error
					if mode == "PutFramed" {
						_, err = q.PutFramed(&f, 0, f.Len())
					} else {
						_, err = q.PutBatch(&records)
					}
					if err != nil {
						b.Fatal(err)
					}
				}
			}
		})
	}
}
