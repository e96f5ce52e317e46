package diskqueue

import (
	"bytes"
	"encoding/binary"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestSlabClassIsTheSmallestSlabThatHolds(t *testing.T) {
	sizes := []int{1, minSlab - 1, minSlab, minSlab + 1, 1000, 1024, 1025, 4096, maxSlab - 1, maxSlab,
		maxSlab + 1, 9 << 10, 9<<10 + 1, 16 << 10, 16<<10 + 1, 64 << 10, 64<<10 + 26, 1<<20 + 26,
		maxReused - 1, maxReused}
	for n := maxSlab + 1; n <= maxReused; n = n*9/8 + 7 {
		sizes = append(sizes, n)
	}
	last := slabClass(maxReused)
	require.Less(t, last, 256, "a class fits the slab's uint8")
	for c := 1; c <= last; c++ {
		require.Less(t, slabSize(c-1), slabSize(c), "class %d: sizes grow", c)
	}
	for _, n := range sizes {
		c := slabClass(n)
		size := slabSize(c)
		require.GreaterOrEqual(t, size, n, "n=%d", n)
		if c > 0 {
			require.Less(t, slabSize(c-1), n, "n=%d: a smaller slab holds it", n)
		}
		if n > maxSlab {
			require.LessOrEqual(t, size-n, size/8, "n=%d: at most an eighth of a big slab unused", n)
		}
	}
	require.Equal(t, 72<<10, slabSize(slabClass(64<<10+26)), "a 64 KB nsqd message")
}

// reuseModel drives a queue with ReuseReads and checks, after every step,
// that no record's Data changed while the caller may still read it: an
// outstanding record, one acknowledged with Ack, one passed to Keep, and
// one Empty dropped. Only Done (of a record never kept) frees a record's
// bytes for reuse. Records are read back in order, each exactly once.
type reuseModel struct {
	t    *testing.T
	q    *Queue
	dst  []Record
	put  int // records put
	read int // records read

	// held are the records whose bytes must not change; doneable are the
	// outstanding ones that were not kept (a Done frees them).
	held     map[uint64]heldRecord
	doneable []uint64
	huge     bool // a record larger than any slab was put
}

type heldRecord struct {
	data, want []byte
	doneable   bool // outstanding, never kept: Done may reuse it
}

// modelRecord is record i: size bytes that name i, so that order, loss,
// duplication and overwriting all show.
func modelRecord(i, size int) []byte {
	b := payload(i, max(size, 8))
	return b
}

func newReuseModel(t *testing.T) *reuseModel {
	o, _ := testOptions(t, t.TempDir())
	o.MaxBytesPerFile = 16 << 10
	o.MaxMsgSize = maxReused + 1024 // a few records larger than any slab
	o.ReuseReads = true
	q := mustOpen(t, o)
	t.Cleanup(func() { q.Close() })
	return &reuseModel{t: t, q: q, held: map[uint64]heldRecord{}}
}

func (m *reuseModel) check() {
	m.t.Helper()
	for seq, h := range m.held {
		if !bytes.Equal(h.data, h.want) {
			m.t.Fatalf("record seq %d changed while still in use", seq)
		}
	}
}

// pick returns and removes the i-th doneable seq (i taken modulo).
func (m *reuseModel) pick(i int) (uint64, bool) {
	if len(m.doneable) == 0 {
		return 0, false
	}
	i %= len(m.doneable)
	seq := m.doneable[i]
	m.doneable[i] = m.doneable[len(m.doneable)-1]
	m.doneable = m.doneable[:len(m.doneable)-1]
	return seq, true
}

func (m *reuseModel) step(op, arg byte) {
	switch op % 8 {
	case 0: // put a batch of various sizes
		var recs [][]byte
		for j := range int(arg%8) + 1 {
			size := 8 + (int(arg)*37+j*101)%600
			if j == 0 {
				switch {
				case arg == 255 && !m.huge:
					// Larger than any slab; once per run, to keep a run
					// short.
					size = maxReused + 1
					m.huge = true
				case arg%23 == 0:
					size = maxSlab + 512 // the smallest big slabs
				case arg%29 == 1:
					size = 64<<10 + 26 // a 64 KB nsqd message
				case arg%31 == 2:
					size = 3*maxSlab + int(arg)
				case arg%37 == 3:
					// Over the 256 KB segment read buffer, alone in its
					// segment: read by readBig from the segment's start.
					size = 300000
				case arg%41 == 4:
					size = 1<<20 + 26 // nsqd's largest at the default --max-msg-size
				case arg == 254 && !m.huge:
					size = maxReused // a slab filled to the last byte
					m.huge = true
				}
			}
			recs = append(recs, modelRecord(m.put, size))
			m.put++
		}
		_, err := m.q.Put(recs)
		require.NoError(m.t, err)
	case 1: // read
		var err error
		m.dst, err = m.q.ReadAppend(m.dst[:0], int(arg%40)+1)
		require.NoError(m.t, err)
		for _, r := range m.dst {
			i := int(binary.BigEndian.Uint64(r.Data))
			require.Equal(m.t, m.read, i, "records come back in order, each once")
			require.Equal(m.t, modelRecord(i, len(r.Data)), r.Data, "record %d as put", i)
			m.read++
			m.held[r.Seq] = heldRecord{data: r.Data, want: bytes.Clone(r.Data), doneable: true}
			m.doneable = append(m.doneable, r.Seq)
		}
		clear(m.dst)
	case 2, 3: // Done: the caller is finished with it
		if seq, ok := m.pick(int(arg)); ok {
			m.q.Done(seq)
			delete(m.held, seq)
		}
	case 4: // Ack: acknowledged, but the caller keeps its Data
		if seq, ok := m.pick(int(arg)); ok {
			m.q.Ack(seq)
			h := m.held[seq]
			h.doneable = false
			m.held[seq] = h
		}
	case 5: // Keep, and later a Done that must not free it
		if seq, ok := m.pick(int(arg)); ok {
			m.q.Keep(seq)
			h := m.held[seq]
			h.doneable = false
			m.held[seq] = h
			if arg%2 == 0 {
				m.q.Done(seq)
			}
		}
	case 6: // the periodic sync, which trims the free slabs
		m.q.tick()
		if arg%3 == 0 {
			m.q.tick() // idle since the last: every free slab goes
		}
	case 7: // Empty, rarely: outstanding records are dropped, not freed
		if arg%16 != 0 {
			return
		}
		require.NoError(m.t, m.q.Empty())
		m.read = m.put // what was not read is gone
		for _, seq := range m.doneable {
			h := m.held[seq]
			h.doneable = false
			m.held[seq] = h
			m.q.Done(seq) // ignored: the record is gone, its memory kept
		}
		m.doneable = m.doneable[:0]
	}
	m.check()
}

// FuzzReuseReads runs the model over arbitrary sequences of steps.
func FuzzReuseReads(f *testing.F) {
	// Kept, then done: the slab must not be reused.
	f.Add([]byte{0, 7, 1, 39, 5, 0, 2, 0, 2, 0, 2, 0, 2, 0, 2, 0, 2, 0, 2, 0, 0, 7, 1, 39})
	// Acknowledged with Ack while the rest is done.
	f.Add([]byte{0, 7, 1, 39, 4, 0, 2, 0, 2, 0, 2, 0, 2, 0, 2, 0, 2, 0, 2, 0, 0, 7, 1, 39})
	// Outstanding records dropped by Empty.
	f.Add([]byte{0, 7, 1, 39, 7, 16, 0, 7, 1, 39, 2, 0, 0, 7, 1, 39})
	f.Add([]byte{0, 7, 1, 39, 2, 0, 2, 1, 0, 7, 1, 39, 4, 3, 5, 2, 0, 9, 1, 20, 2, 5, 2, 6})
	f.Add([]byte{0, 23, 0, 46, 1, 39, 5, 1, 3, 0, 3, 0, 0, 7, 1, 39, 6, 3, 1, 39})
	f.Add([]byte{0, 7, 0, 7, 1, 9, 7, 16, 0, 5, 1, 39, 2, 1, 2, 2, 0, 7, 1, 39})
	long := make([]byte, 0, 2000)
	for i := range 500 {
		long = append(long, byte(i%4), byte(i*7))
	}
	f.Add(long)
	// Big records: read, kept, done, trimmed, read again into reused slabs.
	f.Add([]byte{0, 29, 0, 23, 0, 33, 0, 30, 1, 39, 2, 0, 5, 0, 2, 0, 4, 0, 2, 0, 0, 29, 0, 23, 1, 39,
		6, 1, 2, 0, 2, 0, 0, 29, 0, 33, 1, 39, 2, 0, 2, 0, 6, 3, 0, 29, 1, 39})
	// Only 64 KB records (arg 88 puts one): kept then done, and acknowledged
	// with Ack, while the others' slabs are reused by the next read.
	f.Add([]byte{0, 88, 0, 88, 0, 88, 1, 39, 5, 0, 2, 0, 2, 0, 0, 88, 0, 88, 0, 88, 1, 39})
	f.Add([]byte{0, 88, 0, 88, 1, 39, 4, 0, 2, 0, 0, 88, 0, 88, 1, 39})
	// One record over maxReused between big and small ones.
	f.Add([]byte{0, 29, 0, 255, 0, 7, 1, 39, 2, 0, 2, 0, 2, 0, 0, 29, 1, 39})
	// Records over the read buffer (300,000 bytes, arg 40; 1 MB, arg 45; the
	// largest slab, arg 254) among small and 64 KB ones: held, kept and
	// acknowledged across reads that reuse the slabs of those done.
	f.Add([]byte{0, 40, 0, 7, 0, 45, 0, 88, 0, 40, 1, 2, 5, 0, 1, 39, 2, 0, 4, 0, 0, 254, 0, 40, 1, 39,
		2, 0, 2, 0, 2, 0, 0, 45, 0, 40, 0, 7, 1, 1, 6, 0, 1, 39, 2, 0, 2, 0, 2, 0, 1, 39})
	f.Fuzz(func(t *testing.T, steps []byte) {
		if len(steps) > 4000 {
			return
		}
		m := newReuseModel(t)
		for i := 0; i+1 < len(steps); i += 2 {
			m.step(steps[i], steps[i+1])
		}
		// Finish everything: every record still held keeps its bytes.
		for len(m.doneable) > 0 {
			seq, _ := m.pick(0)
			m.q.Done(seq)
			delete(m.held, seq)
		}
		for range 20 {
			m.step(0, 7)
			m.step(1, 39)
			for len(m.doneable) > 0 {
				m.step(2, 0)
			}
		}
	})
}

// Steady reading and finishing reuses the same memory: after the first
// reads, Read allocates nothing.
func TestReuseReadsReadAndDoneAllocateNothing(t *testing.T) {
	o, _ := testOptions(t, t.TempDir())
	o.MaxBytesPerFile = 1 << 20
	o.ReuseReads = true
	q := mustOpen(t, o)
	defer q.Close()
	const batch, runs = 50, 40
	for i := range (runs + 2) * batch / 10 {
		recs := make([][]byte, 10)
		for j := range recs {
			recs[j] = payload(i*10+j, 200)
		}
		_, err := q.Put(recs)
		require.NoError(t, err)
	}
	dst := make([]Record, 0, batch)
	readAndDone := func() {
		var err error
		dst, err = q.ReadAppend(dst[:0], batch)
		if err != nil || len(dst) != batch {
			t.Fatalf("read %d records: %v", len(dst), err)
		}
		for _, r := range dst {
			q.Done(r.Seq)
		}
	}
	readAndDone()
	require.Zero(t, testing.AllocsPerRun(runs, readAndDone))
}

// Big records (here 64 KB nsqd messages) are reused too: steady reading
// and finishing allocates nothing, and a record's slab is its own.
func TestReuseReadsBigRecordsAllocateNothing(t *testing.T) {
	o, _ := testOptions(t, t.TempDir())
	o.MaxBytesPerFile = 8 << 20
	o.MaxMsgSize = maxReused
	o.ReuseReads = true
	q := mustOpen(t, o)
	defer q.Close()
	const size, batch, runs = 64<<10 + 26, 4, 20
	for i := range (runs + 2) * batch {
		_, err := q.Put([][]byte{payload(i, size)})
		require.NoError(t, err)
	}
	dst := make([]Record, 0, batch)
	next := 0
	readAndDone := func() {
		var err error
		dst, err = q.ReadAppend(dst[:0], batch)
		if err != nil || len(dst) != batch {
			t.Fatalf("read %d records: %v", len(dst), err)
		}
		for _, r := range dst {
			// payload's first 8 bytes and last byte name the record.
			if len(r.Data) != size || binary.BigEndian.Uint64(r.Data) != uint64(next) ||
				r.Data[size-1] != byte(next+size-1) {
				t.Fatalf("record %d is not as put", next)
			}
			next++
			q.Done(r.Seq)
		}
	}
	readAndDone()
	require.Zero(t, testing.AllocsPerRun(runs, readAndDone))
	q.amu.Lock()
	free := q.mem.free[slabClass(size)].slabs
	q.amu.Unlock()
	require.Len(t, free, batch, "one big slab per record, all free again")
}

// Without ReuseReads, Done is Ack: the memory of a record done with is
// never reused.
func TestDoneWithoutReuseReadsLeavesMemoryAlone(t *testing.T) {
	o, _ := testOptions(t, t.TempDir())
	q := mustOpen(t, o)
	defer q.Close()
	for i := range 20 {
		_, err := q.Put([][]byte{payload(i, 100)})
		require.NoError(t, err)
	}
	first, err := q.Read(1)
	require.NoError(t, err)
	want := bytes.Clone(first[0].Data)
	q.Done(first[0].Seq)
	for range 19 {
		recs, err := q.Read(1)
		require.NoError(t, err)
		q.Done(recs[0].Seq)
	}
	require.Equal(t, want, first[0].Data)
	require.Zero(t, q.Unacked())
}

// An idle queue gives its free slabs back at the periodic sync; a busy one
// keeps those it used since the sync before.
func TestReuseReadsTrimsFreeSlabs(t *testing.T) {
	o, _ := testOptions(t, t.TempDir())
	o.MaxBytesPerFile = 1 << 20
	o.ReuseReads = true
	q := mustOpen(t, o)
	defer q.Close()
	freeSlabs := func() int {
		q.amu.Lock()
		defer q.amu.Unlock()
		n := 0
		for _, f := range q.mem.free {
			n += len(f.slabs)
		}
		return n
	}
	for i := range 100 {
		_, err := q.Put([][]byte{payload(i, 200)})
		require.NoError(t, err)
	}
	recs, err := q.Read(100)
	require.NoError(t, err)
	for _, r := range recs {
		q.Done(r.Seq)
	}
	require.Positive(t, freeSlabs(), "slabs of the done records are free")
	q.tick() // the reader read since the last tick: busy, and it used them
	require.Positive(t, freeSlabs())
	q.tick() // no read since: idle
	require.Zero(t, freeSlabs())
}

// Free slabs of a small class are used by a later Read that needs a bigger
// one, rather than left idle while new memory is allocated: reads of two
// records each leave 512-byte slabs free, and a Read of 36 records then
// fills them instead of allocating an 8 KB slab.
func TestReuseReadsFillsSmallerFreeSlabsBeforeAllocating(t *testing.T) {
	o, _ := testOptions(t, t.TempDir())
	o.MaxBytesPerFile = 1 << 20
	o.ReuseReads = true
	fresh := 0
	o.FreshReadMemory = func([]byte) { fresh++ }
	q := mustOpen(t, o)
	defer q.Close()
	const size = 226 // an nsqd message of 200 bytes
	putRange(t, q, 0, 76, size, 1)

	var small []Record
	for range 20 {
		recs, err := q.Read(2)
		require.NoError(t, err)
		require.Len(t, recs, 2)
		small = append(small, recs...)
	}
	require.Equal(t, 20, fresh, "a 512-byte slab for each Read of two records")
	for _, r := range small {
		q.Done(r.Seq)
	}

	recs, err := q.Read(36)
	require.NoError(t, err)
	require.Equal(t, seq(40, 76), indexes(t, recs))
	require.Equal(t, 20, fresh, "allocated while 512-byte slabs were free")
	freeSlabs := 0
	q.amu.Lock()
	for _, f := range q.mem.free {
		freeSlabs += len(f.slabs)
	}
	q.amu.Unlock()
	require.Equal(t, 2, freeSlabs, "36 records in 18 of the 20 free slabs")
}
