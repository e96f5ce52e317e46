package diskqueue

import (
	"bytes"
	"math/rand/v2"
	"os"
	"testing"

	"github.com/stretchr/testify/require"
)

// writeClosed writes records from..to-1 of size bytes into a fresh queue and
// closes it cleanly.
func writeClosed(t *testing.T, o Options, from, to, size int) {
	t.Helper()
	q := mustOpen(t, o)
	putRange(t, q, from, to, size, 4)
	require.NoError(t, q.Close())
}

func without(s []int, drop ...int) []int {
	var out []int
	for _, v := range s {
		keep := true
		for _, d := range drop {
			keep = keep && v != d
		}
		if keep {
			out = append(out, v)
		}
	}
	return out
}

func TestTornTailIsCutSilently(t *testing.T) {
	for name, tail := range map[string][]byte{
		"partial header": {0x00, 0x00, 0x00},
		"header, partial data": func() []byte {
			rec := appendRecord(nil, payload(99, 100))
			return rec[:recHeaderSize+30]
		}(),
		"zeros longer than any record": make([]byte, 3*4096),
	} {
		t.Run(name, func(t *testing.T) {
			o, log := testOptions(t, t.TempDir())
			o.MaxBytesPerFile = 1 << 20
			q := mustOpen(t, o)
			putRange(t, q, 0, 10, 100, 3)
			crash(q)
			path := segPath(o, 0)
			fi, err := os.Stat(path)
			require.NoError(t, err)
			modifyFile(t, path, func(b []byte) []byte { return append(b, tail...) })

			q = mustOpen(t, o)
			defer q.Close()
			after, err := os.Stat(path)
			require.NoError(t, err)
			require.Equal(t, fi.Size(), after.Size(), "tail cut at Open")
			st := q.Stats()
			require.EqualValues(t, len(tail), st.TruncatedBytes)
			require.Zero(t, st.SkippedRecords)
			require.Empty(t, damagedFiles(t, o))
			require.True(t, log.contains("torn tail"))

			putRange(t, q, 10, 12, 100, 2)
			require.Equal(t, seq(0, 12), indexes(t, readAll(t, q)))
		})
	}
}

func TestTornSegmentHeaderStartsSegmentOver(t *testing.T) {
	o, _ := testOptions(t, t.TempDir())
	q := mustOpen(t, o)
	putRange(t, q, 0, 2, 100, 2)
	crash(q)
	// A crash right after the segment was created: 5 bytes of its header.
	require.NoError(t, os.WriteFile(segPath(o, 1), segMagic[:5], 0o600))

	q = mustOpen(t, o)
	defer q.Close()
	putRange(t, q, 2, 4, 100, 1)
	require.Equal(t, seq(0, 4), indexes(t, readAll(t, q)))
	require.Zero(t, q.Stats().SkippedRecords)
}

func TestFlippedBitInRecordIsSkippedAndKept(t *testing.T) {
	o, log := testOptions(t, t.TempDir())
	o.MaxBytesPerFile = 1 << 20
	writeClosed(t, o, 0, 10, 100)
	var damaged []byte
	var off int
	modifyFile(t, segPath(o, 0), func(b []byte) []byte {
		off = recordOffset(t, b, 4)
		b[off+recHeaderSize+50] ^= 0x08
		damaged = bytes.Clone(b[off : off+recHeaderSize+100])
		return b
	})

	q := mustOpen(t, o)
	defer q.Close()
	require.Equal(t, without(seq(0, 10), 4), indexes(t, readAll(t, q)))
	st := q.Stats()
	require.EqualValues(t, 1, st.SkippedRecords)
	require.EqualValues(t, recHeaderSize+100, st.SkippedBytes)
	require.Zero(t, st.Depth)
	side, err := os.ReadFile(o.Dir + "/" + damagedFileName(o.Name, 0, int64(off)))
	require.NoError(t, err)
	require.Equal(t, damaged, side)
	require.True(t, log.contains("record checksum mismatch"))
}

func TestFlippedBitInRecordHeaderResyncs(t *testing.T) {
	o, log := testOptions(t, t.TempDir())
	o.MaxBytesPerFile = 1 << 20
	writeClosed(t, o, 0, 10, 100)
	modifyFile(t, segPath(o, 0), func(b []byte) []byte {
		b[recordOffset(t, b, 4)+1] ^= 0x10 // length field
		return b
	})

	q := mustOpen(t, o)
	defer q.Close()
	require.Equal(t, without(seq(0, 10), 4), indexes(t, readAll(t, q)))
	st := q.Stats()
	require.EqualValues(t, 1, st.SkippedRecords)
	require.EqualValues(t, recHeaderSize+100, st.SkippedBytes)
	require.Len(t, damagedFiles(t, o), 1)
	require.True(t, log.contains("record header checksum mismatch"))
}

func TestLengthOutOfBoundsWithValidHeaderIsSkipped(t *testing.T) {
	o, _ := testOptions(t, t.TempDir())
	o.MaxBytesPerFile = 1 << 20
	writeClosed(t, o, 0, 10, 100)
	modifyFile(t, segPath(o, 0), func(b []byte) []byte {
		// A header that checks out but claims more bytes than the segment
		// holds, as a buggy writer might produce.
		off := recordOffset(t, b, 6)
		h := appendRecord(nil, make([]byte, 1<<20))[:recHeaderSize]
		copy(b[off:], h)
		return b
	})
	q := mustOpen(t, o)
	defer q.Close()
	require.Equal(t, without(seq(0, 10), 6), indexes(t, readAll(t, q)))
	require.EqualValues(t, 1, q.Stats().SkippedRecords)
}

func TestGarbageBetweenRecordsIsSkipped(t *testing.T) {
	o, _ := testOptions(t, t.TempDir())
	o.MaxBytesPerFile = 1 << 20
	q := mustOpen(t, o)
	putRange(t, q, 0, 10, 100, 5)
	q.wmu.Lock()
	q.advanceWriteFile() // seal segment 0, so the garbage is not in the write segment
	q.wmu.Unlock()
	putRange(t, q, 10, 15, 100, 5)
	require.NoError(t, q.Close())

	garbage := make([]byte, 700)
	rng := rand.New(rand.NewPCG(1, 2))
	for i := range garbage {
		garbage[i] = byte(rng.Uint32())
	}
	modifyFile(t, segPath(o, 0), func(b []byte) []byte {
		off := recordOffset(t, b, 5)
		return append(b[:off:off], append(garbage, b[off:]...)...)
	})

	q = mustOpen(t, o)
	defer q.Close()
	require.Equal(t, seq(0, 15), indexes(t, readAll(t, q)))
	st := q.Stats()
	require.EqualValues(t, 1, st.SkippedRecords)
	require.EqualValues(t, len(garbage), st.SkippedBytes)
	side, err := os.ReadFile(damagedFiles(t, o)[0])
	require.NoError(t, err)
	require.Equal(t, garbage, side)
}

func TestGarbageRecordInWriteSegment(t *testing.T) {
	o, _ := testOptions(t, t.TempDir())
	o.MaxBytesPerFile = 1 << 20
	writeClosed(t, o, 0, 10, 100)
	// Overwrite record 3 entirely with noise, keeping the file size.
	modifyFile(t, segPath(o, 0), func(b []byte) []byte {
		off := recordOffset(t, b, 3)
		for i := off; i < off+recHeaderSize+100; i++ {
			b[i] = byte(i * 7)
		}
		return b
	})
	q := mustOpen(t, o)
	defer q.Close()
	require.Equal(t, without(seq(0, 10), 3), indexes(t, readAll(t, q)))
	require.EqualValues(t, 1, q.Stats().SkippedRecords)
	// The queue keeps working after the damage.
	putRange(t, q, 10, 12, 100, 1)
	require.Equal(t, seq(10, 12), indexes(t, readAll(t, q)))
}

func TestTruncatedSealedSegmentSkipsToNext(t *testing.T) {
	o, _ := testOptions(t, t.TempDir())
	writeClosed(t, o, 0, 30, 100) // about 9 records per segment
	require.Greater(t, len(segments(t, o)), 2)
	var cut int
	modifyFile(t, segPath(o, 0), func(b []byte) []byte {
		cut = recordOffset(t, b, 3) + 40
		return b[:cut]
	})
	b1, err := os.ReadFile(segPath(o, 1))
	require.NoError(t, err)
	first1 := payloadIndex(t, b1[segHeaderSize+recHeaderSize:segHeaderSize+recHeaderSize+100])

	q := mustOpen(t, o)
	defer q.Close()
	got := indexes(t, readAll(t, q))
	require.Equal(t, append(seq(0, 3), seq(first1, 30)...), got)
	st := q.Stats()
	require.EqualValues(t, 1, st.SkippedRecords)
	require.EqualValues(t, 40, st.SkippedBytes)
}

func TestWriteSegmentShorterThanMetadata(t *testing.T) {
	o, log := testOptions(t, t.TempDir())
	o.MaxBytesPerFile = 1 << 20
	writeClosed(t, o, 0, 10, 100)
	modifyFile(t, segPath(o, 0), func(b []byte) []byte { return b[:recordOffset(t, b, 6)] })

	q := mustOpen(t, o)
	defer q.Close()
	require.True(t, log.contains("shorter than its metadata"))
	require.Equal(t, seq(0, 6), indexes(t, readAll(t, q)))
	require.Positive(t, q.Stats().SkippedRecords)
	putRange(t, q, 10, 12, 100, 2)
	require.Equal(t, seq(10, 12), indexes(t, readAll(t, q)))
}

func TestDamagedSegmentHeaderIsSkipped(t *testing.T) {
	o, _ := testOptions(t, t.TempDir())
	writeClosed(t, o, 0, 30, 100)
	modifyFile(t, segPath(o, 1), func(b []byte) []byte { b[9] ^= 1; return b }) // version byte
	q := mustOpen(t, o)
	defer q.Close()
	require.Equal(t, seq(0, 30), indexes(t, readAll(t, q)))
	st := q.Stats()
	require.Zero(t, st.SkippedRecords)
	require.EqualValues(t, segHeaderSize, st.SkippedBytes)
}

func TestMissingSegmentIsSkipped(t *testing.T) {
	o, log := testOptions(t, t.TempDir())
	writeClosed(t, o, 0, 30, 100)
	lost := segmentIndexes(t, segPath(o, 1))
	require.NotEmpty(t, lost)
	require.NoError(t, os.Remove(segPath(o, 1)))
	q := mustOpen(t, o)
	defer q.Close()
	require.Equal(t, without(seq(0, 30), lost...), indexes(t, readAll(t, q)))
	require.True(t, log.contains("missing"))
}

func TestNewerSegmentVersionRefused(t *testing.T) {
	o, _ := testOptions(t, t.TempDir())
	writeClosed(t, o, 0, 3, 100)
	modifyFile(t, segPath(o, 0), func(b []byte) []byte {
		b[9] = 2
		copy(b[12:16], appendSegmentHeader(nil)[12:16])
		h := b[:16]
		sum := checksum(h[:12])
		h[12], h[13], h[14], h[15] = byte(sum>>24), byte(sum>>16), byte(sum>>8), byte(sum)
		return b
	})
	_, err := Open(o)
	require.ErrorContains(t, err, "format version 2")
}

func TestNewerMetadataVersionRefused(t *testing.T) {
	o, _ := testOptions(t, t.TempDir())
	writeClosed(t, o, 0, 3, 100)
	body := []byte(metaMagic + " 3\ndepth 3\nread 0,0\nwrite 0,0\nlegacy-end 0\n")
	body = append(body, []byte(fmtCRC(checksum(body)))...)
	require.NoError(t, os.WriteFile(o.Dir+"/"+metaFileName(o.Name), body, 0o600))
	_, err := Open(o)
	require.ErrorIs(t, err, errMetaNewer)
}

func fmtCRC(c uint32) string {
	const hex = "0123456789abcdef"
	b := []byte("crc32c ")
	for i := 7; i >= 0; i-- {
		b = append(b, hex[(c>>(4*i))&0xf])
	}
	return string(append(b, '\n'))
}

// segmentIndexes returns the payload indexes of the records in a version-1
// segment file.
func segmentIndexes(t *testing.T, path string) []int {
	t.Helper()
	b, err := os.ReadFile(path)
	require.NoError(t, err)
	var s segReader
	s.reset(bytes.NewReader(b), formatV1, bounds{v1Max: readCeiling}, 0, int64(len(b)))
	var out []int
	for {
		it, err := s.next()
		require.NoError(t, err)
		switch it.kind {
		case itemEnd:
			return out
		case itemRecord:
			out = append(out, payloadIndex(t, it.data))
		}
	}
}
