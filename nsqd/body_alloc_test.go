package nsqd

import (
	"bytes"
	"io"
	"sync/atomic"
	"testing"
	"testing/iotest"
	"unsafe"

	"github.com/stretchr/testify/require"
)

// readAppend reads exactly what was asked, ends in a buffer of exactly the
// declared size when the sender keeps its word, and never holds more than a
// chunk (or what arrived) beyond the bytes received when it does not.
func TestReadAppendGrowsWithTheBytes(t *testing.T) {
	for _, n := range []int{1, 100, bodyChunk - 1, bodyChunk, bodyChunk + 1, 5*bodyChunk + 7, 1 << 20} {
		data := bytes.Repeat([]byte{'a', 'b', 'c'}, n/3+1)[:n]
		got, err := readAppend(iotest.HalfReader(bytes.NewReader(data)), nil, n, n)
		require.NoError(t, err)
		require.Equal(t, data, got)
		require.Equal(t, n, cap(got), "an honest body of %d bytes ends in a buffer of its size", n)

		// The sender declares n but sends only half.
		half := data[:n/2]
		got, err = readAppend(bytes.NewReader(half), nil, n, n)
		require.ErrorIs(t, err, io.ErrUnexpectedEOF)
		require.Equal(t, half, got)
		require.LessOrEqual(t, cap(got), max(2*len(half), bodyChunk), "room beyond the bytes received")
	}
}

// Slabs hold message bytes only: an honest batch of small messages shares
// one, a lying batch's last slab shrinks to what arrived, a big body gets
// its own.
func TestSlabAllocatorHoldsOnlyMessageBytes(t *testing.T) {
	var a slabAllocator
	batch := make([]Message, 0, 200)
	a.reset()
	for i := 0; i < 200; i++ {
		batch = append(batch, Message{Body: a.alloc(i, 200, (200-i)*200)})
	}
	a.shrink(batch)
	first := uintptr(unsafe.Pointer(unsafe.SliceData(batch[0].Body)))
	last := uintptr(unsafe.Pointer(unsafe.SliceData(batch[199].Body)))
	require.Equal(t, uintptr(199*200), last-first, "one contiguous slab of exactly the bodies")

	// A batch that declares 5 MB and brings one byte.
	lying := []Message{{}}
	a.reset()
	lying[0].Body = a.alloc(0, 1, 5<<20)
	a.shrink(lying)
	require.Equal(t, 1, cap(lying[0].Body), "the unused room is given back")

	// Bodies copied out of a request buffer.
	buf := []byte("one\n\n\n\ntwo\n" + string(bytes.Repeat([]byte("z"), slabMaxBody+1)))
	msgs := []Message{{Body: buf[0:3]}, {Body: buf[7:10]}, {Body: buf[11:]}}
	repackBodies(msgs)
	require.Equal(t, "one", string(msgs[0].Body))
	require.Equal(t, "two", string(msgs[1].Body))
	require.Equal(t, slabMaxBody+1, cap(msgs[2].Body))
	require.Equal(t, 3, cap(msgs[0].Body))
	buf[0] = 'X'
	require.Equal(t, "one", string(msgs[0].Body), "no longer aliases the request")
}

// sameMemory reports whether a and b start at the same address.
func sameMemory(a, b []byte) bool {
	return unsafe.SliceData(a) == unsafe.SliceData(b)
}

// readBatch reads bodies as MPUB does, into batch.
func readBatch(t *testing.T, a *slabAllocator, bodies ...[]byte) []Message {
	t.Helper()
	remaining := 0
	for _, b := range bodies {
		remaining += len(b)
	}
	a.reset()
	batch := make([]Message, len(bodies))
	for i, b := range bodies {
		body, err := a.readBody(bytes.NewReader(b), i, len(b), remaining)
		require.NoError(t, err)
		require.Equal(t, b, body)
		remaining -= len(b)
		batch[i].Body = body
	}
	a.shrink(batch)
	return batch
}

// bases are the addresses of the memory a batch was read into.
func bases(a *slabAllocator) map[*byte]bool {
	m := map[*byte]bool{}
	for _, b := range a.used {
		m[unsafe.SliceData(b[:1])] = true
	}
	return m
}

// A recycled batch's slabs and big bodies are what the next batch is read
// into, without allocating; a forgotten one's never are, and its bodies
// stay as they were.
func TestSlabAllocatorReusesOnlyRecycledBatches(t *testing.T) {
	var bodies [][]byte
	for i := range 200 {
		bodies = append(bodies, bytes.Repeat([]byte{'a' + byte(i%26)}, 200))
		if i%80 == 0 {
			bodies = append(bodies, bytes.Repeat([]byte{'A' + byte(i%26)}, 64<<10))
		}
	}
	var reused atomic.Uint64
	a := slabAllocator{reusedBytes: &reused}
	readBatch(t, &a, bodies...)
	firstMemory := bases(&a)
	a.recycle()
	second := readBatch(t, &a, bodies...)
	require.Equal(t, firstMemory, bases(&a), "the second batch is read into the first one's memory")
	require.NotZero(t, reused.Load())
	a.recycle()

	// Steady state: reading and recycling a batch allocates nothing.
	batch := make([]Message, len(bodies))
	readers := make([]bytes.Reader, len(bodies))
	allocs := testing.AllocsPerRun(10, func() {
		remaining := 40000
		a.reset()
		for i, b := range bodies {
			readers[i].Reset(b)
			body, err := a.readBody(&readers[i], i, len(b), remaining)
			if err != nil {
				panic(err)
			}
			if len(b) <= slabMaxBody {
				remaining -= len(b)
			}
			batch[i].Body = body
		}
		a.shrink(batch)
		clear(batch)
		a.recycle()
	})
	require.Zero(t, allocs)

	// Kept: nothing of it is handed out again.
	second = readBatch(t, &a, bodies...)
	keptMemory := bases(&a)
	a.forget()
	want := make([][]byte, len(second))
	for i := range second {
		want[i] = bytes.Clone(second[i].Body)
	}
	other := [][]byte{bytes.Repeat([]byte("o"), 200), bytes.Repeat([]byte("o"), 200), bytes.Repeat([]byte("O"), 64<<10)}
	for range 3 {
		readBatch(t, &a, other...)
		for base := range bases(&a) {
			require.False(t, keptMemory[base], "a kept body's memory handed out again")
		}
		a.recycle()
	}
	for i := range second {
		require.Equal(t, want[i], second[i].Body, "a kept body changed")
	}
}

// Spares never make a body hold more than fresh memory would: a big body
// takes a spare at most an eighth bigger, a slab one at most twice what it
// wants, and an underused last slab is still copied out (its slab becomes
// a spare). The spares are bounded, and dropped on request.
func TestSlabAllocatorSparesFitAndAreBounded(t *testing.T) {
	var a slabAllocator
	big := readBatch(t, &a, bytes.Repeat([]byte("B"), 64<<10))
	a.recycle()
	smaller := readBatch(t, &a, bytes.Repeat([]byte("b"), 40<<10))
	require.False(t, sameMemory(big[0].Body, smaller[0].Body), "a 40 KB body took a 64 KB spare")
	require.Equal(t, 40<<10, cap(smaller[0].Body))
	a.forget()
	near := readBatch(t, &a, bytes.Repeat([]byte("c"), 60<<10))
	require.True(t, sameMemory(big[0].Body, near[0].Body), "a 60 KB body takes the 64 KB spare")
	a.recycle()

	// A slab spare bigger than twice the slab wanted is left for later;
	// one within twice is taken.
	a.dropSpares()
	full := readBatch(t, &a, bytes.Repeat([]byte("f"), 30<<10), bytes.Repeat([]byte("g"), 8<<10))
	a.recycle()
	tiny := readBatch(t, &a, []byte("tiny"))
	require.False(t, sameMemory(full[1].Body, tiny[0].Body))
	require.Equal(t, 4, cap(tiny[0].Body))
	a.recycle()
	half := readBatch(t, &a, bytes.Repeat([]byte("h"), 5000))
	require.True(t, sameMemory(full[1].Body, half[0].Body), "a 5000-byte slab takes the 8 KB spare")
	a.recycle()

	// Bounded in count and bytes.
	a.dropSpares()
	many := make([][]byte, 2*maxSpareBuffers)
	for i := range many {
		many[i] = bytes.Repeat([]byte("m"), slabMaxBody+1+i)
	}
	readBatch(t, &a, many...)
	a.recycle()
	require.LessOrEqual(t, len(a.spare), maxSpareBuffers)
	require.LessOrEqual(t, a.spareBytes, maxSpareBytes)
	huge := make([][]byte, 10)
	for i := range huge {
		huge[i] = bytes.Repeat([]byte("h"), 1<<20)
	}
	a.dropSpares()
	readBatch(t, &a, huge...)
	a.recycle()
	require.LessOrEqual(t, a.spareBytes, maxSpareBytes)
	require.NotZero(t, a.spareBytes)
	a.dropSpares()
	require.Empty(t, a.spare)
	require.Zero(t, a.spareBytes)
}

// The shrink of a batch that declared more than it sent leaves its slab a
// spare: no body refers to it any more, so even a kept batch's slab is
// reused.
func TestSlabAllocatorShrunkSlabIsSpare(t *testing.T) {
	var a slabAllocator
	a.reset()
	batch := []Message{{}}
	batch[0].Body = a.alloc(0, 10, 60<<10) // declares 60 KB, sends 10 bytes
	copy(batch[0].Body, "0123456789")
	slab := a.slab
	a.shrink(batch)
	require.Equal(t, "0123456789", string(batch[0].Body))
	require.False(t, sameMemory(slab, batch[0].Body))
	a.forget() // the batch is kept; its exact copy is its own
	require.Len(t, a.spare, 1)
	require.True(t, sameMemory(slab[:1], a.spare[0][:1]))
}

// A kept batch's last slab is filled by the next batches (forget): batches
// of 200 bodies of 200 bytes kept one after another use nearly all of each
// slab the allocator hands out, the kept bodies never change,
// and a slab that a kept batch holds never becomes a spare, even when the
// batch that filled its rest is recycled.
func TestSlabAllocatorKeptBatchesRoomIsFilledNext(t *testing.T) {
	var a slabAllocator
	bodies := make([][]byte, 200)
	for i := range bodies {
		bodies[i] = bytes.Repeat([]byte{'a' + byte(i%26)}, 200)
	}
	slabs := map[*byte]int{} // base -> capacity
	var kept []Message
	for range 50 {
		batch := readBatch(t, &a, bodies...)
		for _, b := range a.used {
			slabs[unsafe.SliceData(b[:1])] = cap(b)
		}
		kept = append(kept, batch...)
		a.forget()
	}
	total := 0
	for _, c := range slabs {
		total += c
	}
	bodyBytes := 50 * 200 * 200
	// Without the carry each batch left 960 of its slab's 40,960 bytes
	// empty: 1.024 bytes a body byte.
	require.LessOrEqual(t, total*100, bodyBytes*101, "slab bytes %d for %d of bodies", total, bodyBytes)
	t.Logf("%d slabs, %.3f bytes of slab a body byte", len(slabs), float64(total)/float64(bodyBytes))

	// The next batch starts in the last kept slab's room; recycled, that
	// slab is no spare, and nothing kept changed.
	carried := a.carry
	require.Less(t, len(carried), cap(carried))
	next := readBatch(t, &a, []byte("next"))
	require.True(t, sameMemory(next[0].Body, carried[len(carried):len(carried)+1]), "the next body goes in the kept slab's room")
	a.recycle()
	for _, s := range a.spare {
		require.False(t, sameMemory(s[:1], carried[:1]), "a kept slab became a spare")
	}
	require.Nil(t, a.carry)
	for i, m := range kept {
		require.Equal(t, bodies[i%200], m.Body, "kept body %d changed", i)
	}
}
