package nsqd

import (
	"bytes"
	"io"
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
