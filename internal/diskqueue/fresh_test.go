package diskqueue

import (
	"testing"
	"unsafe"

	"github.com/stretchr/testify/require"
)

// Every new read slab is shown to Options.FreshReadMemory before a record
// is copied into it, and only new ones: a slab reused after Done is not
// shown again.
func TestFreshReadMemorySeesEveryNewSlab(t *testing.T) {
	o, _ := testOptions(t, t.TempDir())
	o.MaxBytesPerFile = 8 << 20
	o.MaxMsgSize = maxReused
	o.ReuseReads = true
	fresh := map[*byte]int{} // slab -> its capacity when shown
	o.FreshReadMemory = func(b []byte) {
		require.Zero(t, len(b), "a slab shown after something was written to it")
		base := unsafe.SliceData(b[:1])
		_, again := fresh[base]
		require.False(t, again, "a reused slab shown as fresh again")
		fresh[base] = cap(b)
	}
	q := mustOpen(t, o)
	defer q.Close()
	sizes := []int{100, 3000, 64<<10 + 26, 200, 9000}
	const rounds = 6
	for i := range rounds * len(sizes) {
		_, err := q.Put([][]byte{payload(i, sizes[i%len(sizes)])})
		require.NoError(t, err)
	}
	inFresh := func(r Record) bool {
		for base, size := range fresh {
			start := uintptr(unsafe.Pointer(base))
			at := uintptr(unsafe.Pointer(unsafe.SliceData(r.Data)))
			if at >= start && at < start+uintptr(size) {
				return true
			}
		}
		return false
	}
	for range rounds {
		recs, err := q.Read(len(sizes))
		require.NoError(t, err)
		require.Len(t, recs, len(sizes))
		for _, r := range recs {
			require.True(t, inFresh(r), "a record in a slab never shown as fresh")
			q.Done(r.Seq)
		}
	}
	// The free slabs are kept (nothing trims them here), so a slab shown
	// twice would be one reused; most reads reuse.
	require.Less(t, len(fresh), rounds*3, "reads after Done reuse their slabs")
}
