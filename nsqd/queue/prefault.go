package queue

import "unsafe"

// prefaultStride is the distance between the writes of prefault: a 4 KB
// page, the smallest the kernel maps (a bigger page is written more than
// once, which costs nothing more than a cached store).
const prefaultStride = 4 << 10

// prefault writes a zero word into each page of s, a block just made by
// make (so all zero, and seen by no one else yet) that holds pointers: a
// record block (records.go), a ring block (ring.go) or a packed block's
// body pointers (packed.go).
//
// Why. Such a block is filled a batch at a time, and while the collector
// marks, two things read its pages before they are written: the write
// barrier of each typed copy into it (it reads the pointers it overwrites)
// and the collector's scan of the block. On Linux a read of a page never
// touched maps the shared zero page, and the write that follows takes a
// second fault that replaces it and flushes the TLB of every CPU the
// process runs on (an interprocessor interrupt, which a VM pays in exits).
// In the 100-topics shape of bench/compare.sh the collector marks for about
// a third of the publish phase, and these copy-on-write faults were 11% of
// the daemon's CPU (README, "100 topics: where the publish time goes").
// Written first, each page takes one ordinary fault, here, instead.
//
// Writing zero words without a write barrier is sound only because the
// block is fresh: each word is a nil pointer or non-pointer zero both
// before and after, so the barrier would have shaded nothing.
func prefault[T any](s []T) {
	var zero T
	size := uintptr(cap(s)) * unsafe.Sizeof(zero)
	if size < unsafe.Sizeof(uintptr(0)) {
		return
	}
	base := unsafe.Pointer(unsafe.SliceData(s))
	word := unsafe.Sizeof(uintptr(0))
	for off := uintptr(0); off+word <= size; off += prefaultStride {
		*(*uintptr)(unsafe.Add(base, off)) = 0
	}
	// The last page, which the stride may have stepped over.
	*(*uintptr)(unsafe.Add(base, (size-word)&^(word-1))) = 0
}
