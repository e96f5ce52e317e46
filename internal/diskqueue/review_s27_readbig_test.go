package diskqueue

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"testing"

	"github.com/stretchr/testify/require"
)

// Review of session 27's readBig (read.go, reader.go) and untake
// (readmem.go): tests that fail if a big record is returned without its
// checksum checked, if the next record's header read into the slab's spare
// room is used wrongly, or if a failed readBig leaves the reader or the
// read memory anything but as it was.

// spareSize is a big record's length whose reused slab has exactly 5
// bytes of room after it: readBig reads only part of the next record's
// header with it.
const spareSize = 9<<10 - 5

// flakyReaderAt serves b; while fail is set its ReadAts fail, and while
// flip is set the byte at flipAt reads flipped.
type flakyReaderAt struct {
	b      []byte
	fail   error
	flip   bool
	flipAt int64
}

func (r *flakyReaderAt) ReadAt(p []byte, off int64) (int, error) {
	if r.fail != nil {
		return 0, r.fail
	}
	n, err := bytes.NewReader(r.b).ReadAt(p, off)
	if r.flip && r.flipAt >= off && r.flipAt < off+int64(n) {
		p[r.flipAt-off] ^= 0x40
	}
	return n, err
}

// A readBig that fails (a read error, or bytes whose checksum does not
// match, as a disk returning bad data once would give) returns nothing,
// leaves pos where it was and buffers nothing; the reader then reads the
// same record intact once the file reads well again.
func TestReviewS27ReadBigFailureLeavesReaderAsItWas(t *testing.T) {
	// Sizes such that, with the buffer a fill grows to, records start
	// partly buffered (what bigNext offers to readBig).
	sizes := []int{300, 100, 250, 280, 260}
	data := appendSegmentHeader(nil)
	for i, n := range sizes {
		data = appendRecord(data, payload(i, n))
	}
	src := &flakyReaderAt{b: data}
	var s segReader
	s.chunk = 64
	s.reset(src, formatV1, fuzzBounds, 0, int64(len(data)))

	var got []int
	failures, bigs := 0, 0
	for steps := 0; steps < 1000; steps++ {
		if h, ok := s.bigNext(30); ok {
			start := s.pos
			if failures < 2 {
				// First a read error, then a flipped byte in the record's
				// data (its header is already buffered and intact).
				if failures == 0 {
					src.fail = errors.New("injected EIO")
				} else {
					src.flip, src.flipAt = true, start+recHeaderSize+int64(h.length)-3
				}
				failures++
				_, rec, ok := s.readBig(h, make([]byte, 0, int(h.length)+recHeaderSize))
				require.False(t, ok, "failure %d: readBig returned a record", failures)
				require.Nil(t, rec)
				require.Equal(t, start, s.pos, "failure %d moved pos", failures)
				require.Empty(t, s.avail(s.pos), "failure %d left bytes buffered", failures)
				src.fail, src.flip = nil, false
				continue
			}
			st, rec, ok := s.readBig(h, make([]byte, 0, int(h.length)+recHeaderSize))
			require.True(t, ok)
			require.Equal(t, start, st)
			got = append(got, payloadIndex(t, rec))
			require.Equal(t, payload(got[len(got)-1], sizes[got[len(got)-1]]), rec)
			bigs++
			continue
		}
		it, err := s.next()
		require.NoError(t, err)
		if it.kind == itemEnd {
			break
		}
		require.Equal(t, itemRecord, it.kind, "unexpected %+v", it)
		got = append(got, payloadIndex(t, it.data))
		require.Equal(t, payload(got[len(got)-1], sizes[got[len(got)-1]]), it.data)
	}
	require.Equal(t, 2, failures, "readBig was not exercised")
	require.Positive(t, bigs, "readBig never succeeded")
	require.Equal(t, seq(0, len(sizes)), got)
}

// A big record read with readBig straight into its memory is checked like
// any other: a damaged byte in its data is found (it is skipped, counted
// and kept), and damage in the next record's header, whose first bytes the
// same read put in the slab's spare room, is found too, the records around
// both delivered intact. With ReuseReads the slab has 5 bytes of room
// after each record (part of the next header), without it a new array
// with room for a whole header: both ways of buffering the next header.
func TestReviewS27ReadBigDamageAroundTheNextHeader(t *testing.T) {
	require.Equal(t, 5, slabSize(slabClass(spareSize))-spareSize, "the test assumes it")
	cases := []struct {
		name   string
		rec    int            // the record damaged
		damage func(b []byte) // flips a byte of it
	}{
		{"data", 3, func(b []byte) { b[recordOffset(t, b, 3)+recHeaderSize+spareSize/2] ^= 0x08 }},
		{"length in the spare room", 2, func(b []byte) { b[recordOffset(t, b, 2)+2] ^= 0x10 }},
		{"header checksum past the spare room", 2, func(b []byte) { b[recordOffset(t, b, 2)+recHeaderSize-1] ^= 0x10 }},
		{"last data byte before the next header", 3, func(b []byte) { b[recordOffset(t, b, 4)-1] ^= 0x01 }},
	}
	for _, reuse := range []bool{true, false} {
		for _, c := range cases {
			t.Run(fmt.Sprintf("reuse=%v/%s", reuse, c.name), func(t *testing.T) {
				o, _ := testOptions(t, t.TempDir())
				o.MaxBytesPerFile = 5 * (recHeaderSize + spareSize) // 4 records a segment
				o.MaxMsgSize = 1 << 20
				o.ReuseReads = reuse
				writeClosed(t, o, 0, 7, spareSize)
				require.Len(t, segments(t, o), 2)
				modifyFile(t, segPath(o, 0), func(b []byte) []byte { c.damage(b); return b })

				q := mustOpen(t, o)
				defer q.Close()
				// A read buffer of 12 KB, a record and a third: the first
				// fill holds record 0 and part of 1, which readBig reads with
				// the next header (5 bytes of it with ReuseReads, so record
				// 2 is parsed from a fill, record 3 read by readBig; all of
				// it without ReuseReads, so every record from 1 on is read
				// by readBig).
				q.rmu.Lock()
				q.consumer.r.seg.chunk = 12 << 10
				q.rmu.Unlock()
				var got []int
				for steps := 0; steps < 100; steps++ {
					recs, err := q.Read(2)
					require.NoError(t, err)
					if len(recs) == 0 {
						break
					}
					for _, r := range recs {
						i := payloadIndex(t, r.Data)
						require.Equal(t, payload(i, spareSize), r.Data, "record %d", i)
						got = append(got, i)
					}
					require.EqualValues(t, len(recs), q.Unacked())
					for _, r := range recs {
						q.Done(r.Seq)
					}
				}
				require.Equal(t, without(seq(0, 7), c.rec), got)
				st := q.Stats()
				require.EqualValues(t, 1, st.SkippedRecords)
				require.EqualValues(t, recHeaderSize+spareSize, st.SkippedBytes)
				require.Zero(t, st.Depth)
				require.Zero(t, st.Unacked)
				require.Equal(t, int64(1), st.ReadFile)
				require.Equal(t, st.WriteFile, st.ReadFile)
				require.Equal(t, st.WritePos, st.ReadPos)
				require.Len(t, damagedFiles(t, o), 1)
			})
		}
	}
}

// untake makes a slab whose read failed free again at once: its id is
// free, no live entry names it, and the next take of its class gets it
// back (for a slab take could not track, too).
func TestReviewS27UntakeFreesTheSlab(t *testing.T) {
	var m readMemory
	s := m.take(spareSize, spareSize)
	id := s.id
	require.NotZero(t, id)
	s.buf = append(s.buf, 1, 2, 3)
	m.untake(s)
	require.Nil(t, m.live[id-1])
	require.Contains(t, m.freeIDs, id)
	require.Zero(t, s.id)
	again := m.take(spareSize, spareSize)
	require.Same(t, s, again, "the slab was not free again")
	require.Empty(t, again.buf)
	require.Equal(t, id, again.id)
	require.Same(t, again, m.live[id-1])

	// A later Done of a record in another slab with the same id is not
	// confused by the untaken one.
	m.ref(again.id)
	m.done(again.id, false)
	require.Nil(t, m.live[id-1])
	require.Same(t, again, m.take(spareSize, spareSize))
}

// errReaderAt is src whose ReadAts fail while fail is set.
type errReaderAt struct {
	src  io.ReaderAt
	fail error
}

func (r *errReaderAt) ReadAt(p []byte, off int64) (int, error) {
	if r.fail != nil {
		return 0, r.fail
	}
	return r.src.ReadAt(p, off)
}

// A Read whose readBig meets a read error returns the error and nothing
// else, with the accounting as it was: depth, read position, outstanding
// records, Seqs (the next record read gets the next Seq), and with
// ReuseReads no slab left live for a record never returned. The next Read
// returns the record intact.
func TestReviewS27ReadBigErrorLeavesTheAccountingAsItWas(t *testing.T) {
	for _, reuse := range []bool{true, false} {
		t.Run(map[bool]string{true: "reuse", false: "no reuse"}[reuse], func(t *testing.T) {
			o, _ := bigOptions(t, reuse)
			q := mustOpen(t, o)
			defer q.Close()
			const n = 7
			putRange(t, q, 0, n, bigTestSize, 3)
			// Records 0-2 whole and part of 3 are buffered by the first Read.
			var lastSeq uint64
			for i := range 3 {
				recs, err := q.Read(1)
				require.NoError(t, err)
				require.Equal(t, []int{i}, indexes(t, recs))
				lastSeq = recs[0].Seq
				q.Done(recs[0].Seq)
			}
			q.rmu.Lock()
			src := &errReaderAt{src: q.consumer.r.seg.src}
			q.consumer.r.seg.src = src
			q.rmu.Unlock()

			before := q.Stats()
			src.fail = errors.New("injected EIO")
			recs, err := q.Read(2)
			require.Error(t, err)
			require.ErrorIs(t, err, src.fail)
			require.Empty(t, recs)
			after := q.Stats()
			require.Equal(t, before.Depth, after.Depth)
			require.EqualValues(t, n-3, after.Depth)
			require.Equal(t, before.ReadFile, after.ReadFile)
			require.Equal(t, before.ReadPos, after.ReadPos)
			require.Zero(t, after.Unacked)
			require.Equal(t, before.ReadErrors+1, after.ReadErrors)
			if reuse {
				require.Zero(t, liveSlabs(q), "slabs live with no record outstanding")
			}

			src.fail = nil
			var got []int
			for steps := 0; len(got) < n-3 && steps < 100; steps++ {
				recs, err := q.Read(1)
				require.NoError(t, err)
				for _, r := range recs {
					i := payloadIndex(t, r.Data)
					require.Equal(t, payload(i, bigTestSize), r.Data)
					require.Equal(t, lastSeq+1, r.Seq, "record %d", i)
					lastSeq = r.Seq
					got = append(got, i)
					q.Done(r.Seq)
				}
			}
			require.Equal(t, seq(3, n), got)
			require.Zero(t, q.Depth())
		})
	}
}
