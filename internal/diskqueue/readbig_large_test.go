package diskqueue

import (
	"bytes"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"sort"
	"testing"
	"time"
	"unsafe"

	"github.com/stretchr/testify/require"
)

// Records larger than the segment read buffer (defaultChunk, 256 KB) go
// through readBig too (README, "Disk backlog read: big records straight
// into their memory"): nsqd's default --max-msg-size is 1 MB, and a slab
// holds up to maxReused. Before, the first such record's parse grew the
// buffer to its size, and every later fill then read one record whole into
// the buffer, which was copied out of it again.

// largeSizes are record sizes over defaultChunk: one a little over it, 1 MB
// exactly and nsqd's 1 MB body with its 26-byte header (the first fills its
// slab to the last byte, the second leaves room for the next header), and
// the largest a big slab holds (again filled exactly), and just over it
// (memory of its own, not a slab).
var largeSizes = []int{300000, 1 << 20, 1<<20 + 26, maxReused, maxReused + 26}

// largeOptions are testOptions for records up to maxReused, in segments of
// segBytes.
func largeOptions(t *testing.T, reuse bool, segBytes int64) (Options, *testLog) {
	o, log := testOptions(t, t.TempDir())
	o.MaxBytesPerFile = segBytes
	o.MaxMsgSize = maxReused + 1024
	o.ReuseReads = reuse
	return o, log
}

// putSizes puts record i of sizes[i] bytes, one Put each, from index from.
func putSizes(t *testing.T, q *Queue, from int, sizes []int) {
	t.Helper()
	for i, n := range sizes {
		require.NoError(t, putErr(q.Put([][]byte{payload(from+i, n)})))
	}
}

// segmentBytes is the size of a segment holding records of sizes.
func segmentBytes(sizes []int) int64 {
	n := int64(segHeaderSize)
	for _, s := range sizes {
		n += recHeaderSize + int64(s)
	}
	return n
}

// rangeReaderAt remembers each ReadAt's file range and the memory it read
// into.
type rangeReaderAt struct {
	src   io.ReaderAt
	reads []readAtCall
}

type readAtCall struct {
	off, n int64
	mem    uintptr // address of p[0]
}

func (r *rangeReaderAt) ReadAt(p []byte, off int64) (int, error) {
	if len(p) > 0 {
		r.reads = append(r.reads, readAtCall{off, int64(len(p)), uintptr(unsafe.Pointer(unsafe.SliceData(p)))})
	}
	return r.src.ReadAt(p, off)
}

// readStraight reports whether the bytes from b[from] to b's end were all
// read by one ReadAt into b's own memory.
func (r *rangeReaderAt) readStraight(b []byte, from int) bool {
	first := uintptr(unsafe.Pointer(unsafe.SliceData(b))) + uintptr(from)
	last := uintptr(unsafe.Pointer(unsafe.SliceData(b))) + uintptr(len(b)-1)
	for _, c := range r.reads {
		if c.mem <= first && last < c.mem+uintptr(c.n) {
			return true
		}
	}
	return false
}

// overlap returns a file byte read twice, or -1.
func (r *rangeReaderAt) overlap() int64 {
	calls := append([]readAtCall(nil), r.reads...)
	sort.Slice(calls, func(i, j int) bool { return calls[i].off < calls[j].off })
	for i := 1; i < len(calls); i++ {
		if prev := calls[i-1]; calls[i].off < prev.off+prev.n {
			return calls[i].off
		}
	}
	return -1
}

// bufCap is the capacity of q's segment read buffer.
func bufCap(q *Queue) int {
	q.rmu.Lock()
	defer q.rmu.Unlock()
	return cap(q.consumer.r.seg.buf)
}

// withDeadline runs f and fails the test if it has not returned in time
// (a reader that loops for ever on some input).
func withDeadline(t *testing.T, d time.Duration, f func()) {
	t.Helper()
	done := make(chan struct{})
	go func() {
		defer close(done)
		f()
	}()
	select {
	case <-done:
	case <-time.After(d):
		t.Fatalf("still reading after %v", d)
	}
}

// Records over the read buffer's size are read from the file straight into
// the memory they are returned in, each with the next record's header when
// its memory has room for it: one read per record after the first of a run
// (whose buffered start is copied), no byte read twice, and the read buffer
// never grows past its size. The segment starts with a big record, as
// every segment of a queue of big records does: before, that record's parse
// grew the buffer to one record, every later fill read one record into it
// and every record was copied out of it ("record 1 was copied out of the
// read buffer").
func TestReadBigLargeRecordsStraightIntoTheirMemory(t *testing.T) {
	for _, size := range largeSizes {
		for _, reuse := range []bool{true, false} {
			t.Run(fmt.Sprintf("size=%d/reuse=%v", size, reuse), func(t *testing.T) {
				sizes := []int{size, size, size, 1000, 1000, size, size}
				o, _ := largeOptions(t, reuse, segmentBytes(sizes)+1)
				q := mustOpen(t, o)
				// Closed at the end, not deferred: a Read stuck for ever
				// (withDeadline) would hold Close up too.
				putSizes(t, q, 0, sizes)
				require.Len(t, segments(t, o), 1, "the recorder sees every read")

				// The first Read opens the segment, fills the buffer with
				// the segment header and the start of record 0, and reads
				// record 0; what it reads after is recorded.
				recs, err := q.Read(1)
				require.NoError(t, err)
				require.Equal(t, []int{0}, indexes(t, recs))
				require.LessOrEqual(t, bufCap(q), defaultChunk, "the read buffer grew")
				q.Done(recs[0].Seq)
				q.rmu.Lock()
				rec := &rangeReaderAt{src: q.consumer.r.seg.src}
				q.consumer.r.seg.src = rec
				q.rmu.Unlock()

				// With no room for the next header in a record's memory
				// (a slab the record fills exactly), the header is read on
				// its own.
				room := recHeaderSize
				if reuse && size <= maxReused {
					room = slabSize(slabClass(size)) - size
				}
				got := []int{0}
				withDeadline(t, 30*time.Second, func() {
					for steps := 0; len(got) < len(sizes) && steps < 100; steps++ {
						recs, err := q.Read(2)
						require.NoError(t, err)
						require.LessOrEqual(t, bufCap(q), defaultChunk, "the read buffer grew")
						for _, r := range recs {
							i := payloadIndex(t, r.Data)
							require.Equal(t, payload(i, sizes[i]), r.Data, "record %d", i)
							if sizes[i] > defaultChunk {
								// At most a buffer's worth of a record's
								// start was buffered by a fill (record 5's,
								// after the small ones); the rest, and all
								// of the others, were read into its memory.
								require.True(t, rec.readStraight(r.Data, defaultChunk), "record %d was copied out of the read buffer", i)
								if i != 5 {
									require.True(t, rec.readStraight(r.Data, 0), "record %d was read in pieces", i)
								}
							}
							got = append(got, i)
							q.Done(r.Seq)
						}
					}
				})
				require.Equal(t, seq(0, len(sizes)), got)
				require.EqualValues(t, -1, rec.overlap(), "a byte was read twice")

				// One read per big record and one fill for the small
				// records 3 and 4 (with the start of 5), when the memory of
				// each has room for the next header; else one read more for
				// the header after each of records 1, 2 and 5. Before that
				// read, a fill buffered the start of each of 1, 2 and 6 and
				// readBig copied it out of the buffer ("record 1 was read
				// in pieces").
				want := 5
				if room < recHeaderSize {
					want += 3
				}
				require.Len(t, rec.reads, want)
				require.NoError(t, q.Close())
			})
		}
	}
}

// parseOracle is what parse alone makes of a version-1 segment whose
// records were written with payload: the indexes of the records it
// returns and the damaged regions it skips, limit being the end the
// reader was given (a file cut later reads shorter).
func parseOracle(t *testing.T, data []byte, b bounds, limit int64) (indexes []int, damage []item) {
	t.Helper()
	var s segReader
	s.reset(bytes.NewReader(data), formatV1, b, 0, limit)
	for steps := 0; steps < 1000; steps++ {
		it, err := s.next()
		require.NoError(t, err)
		switch it.kind {
		case itemEnd:
			return indexes, damage
		case itemRecord:
			indexes = append(indexes, payloadIndex(t, it.data))
		case itemDamage:
			damage = append(damage, it)
		}
	}
	t.Fatal("parse did not end")
	return nil, nil
}

// Damage in records over the read buffer's size is skipped, kept and
// counted exactly as parse alone skips it (the oracle: the same records
// delivered, the same regions in side files with the same bytes, the same
// counts, the same log reasons), whether readBig meets it or the parse
// after it does, and the reader never loops: a damaged record's data, its
// length, its header checksum, the header readBig read ahead of it, and a
// sealed segment cut in the middle of one while it is read. Before, a
// record of more than the buffer's size whose data did not match its
// checksum was offered to readBig again after every fill, for ever.
func TestReadBigLargeRecordsDamageAsParse(t *testing.T) {
	type damageCase struct {
		name   string
		damage func(b []byte) []byte
		cut    bool // the segment is cut while it is read, not before
	}
	off := func(t *testing.T, b []byte, k int) int { return recordOffset(t, b, k) }
	cases := []damageCase{
		{"data", func(b []byte) []byte { b[off(t, b, 2)+recHeaderSize+200000] ^= 0x08; return b }, false},
		{"last data byte", func(b []byte) []byte { b[off(t, b, 3)-1] ^= 0x01; return b }, false},
		{"length", func(b []byte) []byte { b[off(t, b, 3)+1] ^= 0x10; return b }, false},
		{"header checksum", func(b []byte) []byte { b[off(t, b, 2)+recHeaderSize-1] ^= 0x10; return b }, false},
		{"data after small", func(b []byte) []byte { b[off(t, b, 1)+recHeaderSize+5] ^= 0x04; return b }, false},
		{"cut", func(b []byte) []byte { return b[:off(t, b, 5)+recHeaderSize+270000] }, true},
		{"cut in header", func(b []byte) []byte { return b[:off(t, b, 5)+7] }, true},
	}
	for _, size := range []int{300000, 1<<20 + 26, maxReused} {
		for _, reuse := range []bool{true, false} {
			for _, c := range cases {
				t.Run(fmt.Sprintf("size=%d/reuse=%v/%s", size, reuse, c.name), func(t *testing.T) {
					sizes := []int{1000, size, size, size, 1000, size, size}
					segBytes := segmentBytes(sizes)
					o, log := largeOptions(t, reuse, segBytes)
					q := mustOpen(t, o)
					putSizes(t, q, 0, sizes)
					putSizes(t, q, len(sizes), []int{500}) // seals segment 0
					require.NoError(t, q.Close())
					require.Len(t, segments(t, o), 2)

					var data []byte
					if !c.cut {
						modifyFile(t, segPath(o, 0), func(b []byte) []byte { data = c.damage(b); return data })
					}
					q = mustOpen(t, o)
					// Closed at the end, not deferred: a Read stuck for ever
					// (withDeadline) would hold Close up too.
					recs, err := q.Read(1) // opens segment 0, sealed at its size
					require.NoError(t, err)
					got := indexes(t, recs)
					q.Done(recs[0].Seq)
					if c.cut {
						modifyFile(t, segPath(o, 0), func(b []byte) []byte { data = c.damage(b); return data })
					}
					wantIdx, wantDamage := parseOracle(t, data, q.bounds, segBytes)
					wantIdx = append(wantIdx, len(sizes))

					withDeadline(t, 30*time.Second, func() {
						for steps := 0; steps < 100; steps++ {
							recs, err := q.Read(3)
							require.NoError(t, err)
							if len(recs) == 0 {
								break
							}
							for _, r := range recs {
								i := payloadIndex(t, r.Data)
								require.Equal(t, payload(i, len(r.Data)), r.Data, "record %d", i)
								got = append(got, i)
								q.Done(r.Seq)
							}
						}
					})
					require.Equal(t, wantIdx, got)
					require.NotEmpty(t, wantDamage)
					st := q.Stats()
					var records, skipped int64
					var sides []string
					for _, d := range wantDamage {
						records += d.records
						skipped += d.end - d.start
						require.True(t, log.contains(d.reason), "no log line for %q", d.reason)
						name := damagedFileName(o.Name, 0, d.start)
						sides = append(sides, o.Dir+"/"+name)
						side, err := os.ReadFile(o.Dir + "/" + name)
						require.NoError(t, err)
						require.Equal(t, data[d.start:d.end], side, "side file of the damage at %d", d.start)
					}
					require.Equal(t, records, st.SkippedRecords)
					require.Equal(t, skipped, st.SkippedBytes)
					require.ElementsMatch(t, sides, damagedFiles(t, o))
					require.Zero(t, st.Depth)
					require.LessOrEqual(t, bufCap(q), defaultChunk, "the buffer kept the size of a damaged record")
					require.NoError(t, q.Close())
				})
			}
		}
	}
}

// A reopened queue replaying FIN progress reads records over the read
// buffer's size through readBig too: those finished before the Close are
// read and dropped (their memory free again at once), the others
// delivered, and the buffer does not grow to either. Before, replay read
// every record through the buffer, which grew to one record.
func TestReadBigLargeRecordsReplay(t *testing.T) {
	for _, reuse := range []bool{true, false} {
		t.Run(fmt.Sprintf("reuse=%v", reuse), func(t *testing.T) {
			sizes := []int{300000, 1000, 1<<20 + 26, 300000, 1000, 1<<20 + 26, 300000, 300000, 1000}
			o, _ := largeOptions(t, reuse, 64<<20)
			q := mustOpen(t, o)
			putSizes(t, q, 0, sizes)
			all := readAllNoAck(t, q)
			require.Len(t, all, len(sizes))
			finished := map[int]bool{1: true, 2: true, 3: true, 6: true}
			for i, r := range all {
				if finished[i] {
					q.Done(r.Seq)
				}
			}
			require.NoError(t, q.Close())

			q = mustOpen(t, o)
			defer q.Close()
			var got []int
			for steps := 0; steps < 100; steps++ {
				recs, err := q.Read(2)
				require.NoError(t, err)
				require.LessOrEqual(t, bufCap(q), defaultChunk, "the read buffer grew")
				if len(recs) == 0 {
					break
				}
				for _, r := range recs {
					i := payloadIndex(t, r.Data)
					require.Equal(t, payload(i, sizes[i]), r.Data)
					got = append(got, i)
					q.Done(r.Seq)
				}
			}
			require.Equal(t, []int{0, 4, 5, 7, 8}, got)
			require.Zero(t, q.Depth())
			require.Zero(t, liveSlabs(q), "slabs left live with no record outstanding")
		})
	}
}

// Random mixes of small, big and larger-than-buffer records, read in
// random batches and finished in random order with some held across later
// Reads: every record comes back once, in order, intact, and a record still
// held keeps its bytes while later Reads reuse memory (the reuse contract
// of readmem.go); the read buffer stays at its size.
func TestReadBigLargeRecordsMixed(t *testing.T) {
	pick := []int{26, 200, 1050, 8<<10 + 1, 64<<10 + 26, 200000, 300000, 1<<20 + 26}
	for _, seed := range []uint64{1, 2, 3} {
		t.Run(fmt.Sprintf("seed=%d", seed), func(t *testing.T) {
			rng := rand.New(rand.NewPCG(seed, 28))
			var sizes []int
			total := 0
			for total < 12<<20 {
				n := pick[rng.IntN(len(pick))]
				sizes = append(sizes, n)
				total += n
			}
			o, _ := largeOptions(t, true, 4<<20)
			q := mustOpen(t, o)
			defer q.Close()
			putSizes(t, q, 0, sizes)

			type held struct {
				data, want []byte
				seq        uint64
			}
			var holding []held
			next := 0
			for steps := 0; next < len(sizes) && steps < 10000; steps++ {
				recs, err := q.Read(1 + rng.IntN(8))
				require.NoError(t, err)
				require.LessOrEqual(t, bufCap(q), defaultChunk, "the read buffer grew")
				for _, r := range recs {
					i := payloadIndex(t, r.Data)
					require.Equal(t, next, i, "records in order, each once")
					require.Equal(t, payload(i, sizes[i]), r.Data, "record %d", i)
					next++
					holding = append(holding, held{r.Data, bytes.Clone(r.Data), r.Seq})
				}
				rng.Shuffle(len(holding), func(a, b int) { holding[a], holding[b] = holding[b], holding[a] })
				keep := holding[:0]
				for _, h := range holding {
					require.Equal(t, h.want, h.data, "a record still held changed")
					if rng.IntN(3) > 0 {
						q.Done(h.seq)
					} else {
						keep = append(keep, h)
					}
				}
				holding = keep
			}
			require.Equal(t, len(sizes), next)
			for _, h := range holding {
				require.Equal(t, h.want, h.data)
				q.Done(h.seq)
			}
			require.Zero(t, q.Depth())
		})
	}
}

// A log's cursors read records over the read buffer's size as a queue's
// own reader does: each through readBig, straight into its memory, with
// the cursor's buffer at its size, and each cursor gets every record
// intact (two cursors, so that the second reads segments the first already
// read through the page cache).
func TestReadBigLargeRecordsThroughCursors(t *testing.T) {
	sizes := []int{300000, 300000, 1000, 1<<20 + 26, 300000, 1000, 1000, 1<<20 + 26, 300000}
	o, _ := largeOptions(t, true, 1<<20) // most segments start with a big record
	o.Log = true
	o.Name = "clicks"
	q := mustOpen(t, o)
	defer q.Close()
	a, b := mustCursor(t, q, "a"), mustCursor(t, q, "b")
	mustJoin(t, a, b)
	putSizes(t, q, 0, sizes)
	require.Len(t, segments(t, o), 5)

	for _, c := range []*Cursor{a, b} {
		var got []int
		for steps := 0; len(got) < len(sizes) && steps < 100; steps++ {
			recs, err := c.Read(3)
			require.NoError(t, err)
			c.rmu.Lock()
			bufCap := cap(c.r.seg.buf)
			c.rmu.Unlock()
			require.LessOrEqual(t, bufCap, defaultChunk, "the cursor's read buffer grew")
			for _, r := range recs {
				i := payloadIndex(t, r.Data)
				require.Equal(t, payload(i, sizes[i]), r.Data, "record %d", i)
				got = append(got, i)
				c.Done(r.Seq)
			}
		}
		require.Equal(t, seq(0, len(sizes)), got)
	}
}
