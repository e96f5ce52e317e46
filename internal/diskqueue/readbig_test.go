package diskqueue

import (
	"bytes"
	"io"
	"os"
	"testing"
	"unsafe"

	"github.com/stretchr/testify/require"
)

// bigTestSize is an nsqd record of a 64 KB body (its 26-byte header
// included), the size compare.sh's size64k and disk64k shapes read back.
const bigTestSize = 64<<10 + 26

// bigOptions are testOptions for records of bigTestSize: segments of the
// size of eight hold seven (the segment header takes room too).
func bigOptions(t *testing.T, reuse bool) (Options, *testLog) {
	o, log := testOptions(t, t.TempDir())
	o.MaxBytesPerFile = 8 * (recHeaderSize + bigTestSize)
	o.MaxMsgSize = 1 << 20
	o.ReuseReads = reuse
	return o, log
}

// recordingReaderAt remembers the memory each ReadAt read into.
type recordingReaderAt struct {
	src   io.ReaderAt
	into  [][2]uintptr // [first, last] address of each read's p
	bytes int64
}

func (r *recordingReaderAt) ReadAt(p []byte, off int64) (int, error) {
	if len(p) > 0 {
		first := uintptr(unsafe.Pointer(unsafe.SliceData(p)))
		r.into = append(r.into, [2]uintptr{first, first + uintptr(len(p)-1)})
	}
	r.bytes += int64(len(p))
	return r.src.ReadAt(p, off)
}

// readInto reports whether the last byte of b was read into by a ReadAt:
// the file's bytes went straight to b's memory, not through a buffer.
func (r *recordingReaderAt) readInto(b []byte) bool {
	last := uintptr(unsafe.Pointer(unsafe.SliceData(b))) + uintptr(len(b)-1)
	for _, in := range r.into {
		if in[0] <= last && last <= in[1] {
			return true
		}
	}
	return false
}

// A record over maxSlab that is not wholly in the read buffer is read from
// the file straight into the memory it is returned in (a reused slab, or a
// new array without ReuseReads), with the next record's header: after the
// first buffer fill every record of a run of big ones takes one read of its
// own bytes and nothing is read twice. Before, every byte went through the
// segment read buffer and was copied out of it.
func TestReadBigRecordsStraightIntoTheirMemory(t *testing.T) {
	for _, reuse := range []bool{true, false} {
		t.Run(map[bool]string{true: "reuse", false: "no reuse"}[reuse], func(t *testing.T) {
			o, _ := bigOptions(t, reuse)
			q := mustOpen(t, o)
			defer q.Close()
			const n = 7 // within the first segment: the recorder sees every read
			putRange(t, q, 0, n, bigTestSize, 3)

			// The first Read opens the segment and fills the buffer (256 KB:
			// records 0-2 whole, part of 3); what it reads after is recorded.
			buffered := (defaultChunk - segHeaderSize) / (recHeaderSize + bigTestSize)
			require.Equal(t, 3, buffered, "the assertions below assume it")
			recs, err := q.Read(1)
			require.NoError(t, err)
			require.Equal(t, []int{0}, indexes(t, recs))
			q.Done(recs[0].Seq)
			q.rmu.Lock()
			rec := &recordingReaderAt{src: q.consumer.r.seg.src}
			q.consumer.r.seg.src = rec
			q.rmu.Unlock()

			var got []int
			for len(got) < n-1 {
				recs, err := q.Read(2)
				require.NoError(t, err)
				require.NotEmpty(t, recs)
				for _, r := range recs {
					i := payloadIndex(t, r.Data)
					got = append(got, i)
					if i >= buffered {
						require.True(t, rec.readInto(r.Data), "record %d was copied out of the read buffer", i)
					}
					q.Done(r.Seq)
				}
			}
			require.Equal(t, seq(1, n), got)
			// Record 3's start was buffered; every later byte read once,
			// each record with the next one's header.
			require.LessOrEqual(t, rec.bytes, int64((n-buffered)*(recHeaderSize+bigTestSize)))
			require.Len(t, rec.into, n-buffered, "one read per record")
		})
	}
}

// Damage in big records is found, skipped, kept and counted exactly as
// in small ones, whether the record is read straight into its memory or
// through the buffer: a flipped bit in one record's data (its checksum no
// longer matches) and in another's length (its header checksum no longer
// matches).
func TestReadBigRecordsDamageIsSkippedAndKept(t *testing.T) {
	for _, reuse := range []bool{true, false} {
		t.Run(map[bool]string{true: "reuse", false: "no reuse"}[reuse], func(t *testing.T) {
			o, log := bigOptions(t, reuse)
			writeClosed(t, o, 0, 7, bigTestSize)
			var damaged []byte
			var off int
			modifyFile(t, segPath(o, 0), func(b []byte) []byte {
				off = recordOffset(t, b, 4)
				b[off+recHeaderSize+bigTestSize-10] ^= 0x08
				damaged = bytes.Clone(b[off : off+recHeaderSize+bigTestSize])
				b[recordOffset(t, b, 5)+2] ^= 0x10
				return b
			})

			q := mustOpen(t, o)
			defer q.Close()
			require.Equal(t, without(seq(0, 7), 4, 5), indexes(t, readAll(t, q)))
			st := q.Stats()
			require.EqualValues(t, 2, st.SkippedRecords)
			require.EqualValues(t, 2*(recHeaderSize+bigTestSize), st.SkippedBytes)
			require.Zero(t, st.Depth)
			side, err := os.ReadFile(o.Dir + "/" + damagedFileName(o.Name, 0, int64(off)))
			require.NoError(t, err)
			require.Equal(t, damaged, side)
			require.Len(t, damagedFiles(t, o), 2)
			require.True(t, log.contains("record checksum mismatch"))
			require.True(t, log.contains("record header checksum mismatch"))
		})
	}
}

// A sealed segment cut short while it is being read, in the middle of a
// big record: the records before the cut are delivered, the one cut is
// skipped and counted, and reading goes on in the next segment, as for
// small records (TestTruncatedSealedSegmentSkipsToNext).
func TestReadBigRecordsSegmentCutWhileReading(t *testing.T) {
	o, _ := bigOptions(t, true)
	writeClosed(t, o, 0, 12, bigTestSize)
	require.Len(t, segments(t, o), 2) // 7 records in the first

	q := mustOpen(t, o)
	defer q.Close()
	recs, err := q.Read(1) // opens segment 0, which is sealed at its size
	require.NoError(t, err)
	got := indexes(t, recs)
	q.Done(recs[0].Seq)
	var cut int
	modifyFile(t, segPath(o, 0), func(b []byte) []byte {
		cut = recordOffset(t, b, 5) + recHeaderSize + 1000
		return b[:cut]
	})
	for {
		recs, err := q.Read(3)
		require.NoError(t, err)
		if len(recs) == 0 {
			break
		}
		for _, r := range recs {
			got = append(got, payloadIndex(t, r.Data))
			q.Done(r.Seq)
		}
	}
	require.Equal(t, without(seq(0, 12), 5, 6), got)
	st := q.Stats()
	require.EqualValues(t, 1, st.SkippedRecords)
	require.EqualValues(t, recHeaderSize+1000, st.SkippedBytes)
}

// A Read that releases segments (the reader left them, every record in
// them acknowledged) does not remove them itself: removeLoop does, so that
// the Read returns its records without waiting for the unlinks (the
// kernel freeing each segment's page cache). While removeLoop cannot run
// (the test holds Queue.removing) the segments stay; once it can, they
// go; and Close removes what is released whatever removeLoop did.
func TestReadLeavesSegmentRemovalToRemoveLoop(t *testing.T) {
	o, _ := bigOptions(t, true)
	q := mustOpen(t, o)
	putRange(t, q, 0, 20, bigTestSize, 4) // three segments
	all := segments(t, o)
	require.Len(t, all, 3)

	q.removing.Lock()
	var got []int
	for len(got) < 20 {
		recs, err := q.Read(5)
		require.NoError(t, err)
		require.NotEmpty(t, recs)
		for _, r := range recs {
			got = append(got, payloadIndex(t, r.Data))
			q.Done(r.Seq)
		}
	}
	_, err := q.Read(1) // releases what the Dones finished
	require.NoError(t, err)
	require.Equal(t, seq(0, 20), got)
	require.Equal(t, all, segments(t, o), "a Read removed segments itself")
	q.removing.Unlock()
	settle(q)
	require.Equal(t, all[2:], segments(t, o), "only the write segment is left")

	// Released just before Close: Close removes them.
	putRange(t, q, 20, 40, bigTestSize, 4)
	for range 20 {
		recs, err := q.Read(1)
		require.NoError(t, err)
		require.Len(t, recs, 1)
		q.Done(recs[0].Seq)
	}
	_, err = q.Read(1)
	require.NoError(t, err)
	require.NoError(t, q.Close())
	segs := segments(t, o)
	require.Len(t, segs, 1)
	require.Equal(t, all[2]+3, segs[0])
}
