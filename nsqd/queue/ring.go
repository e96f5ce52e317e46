package queue

import (
	"unsafe"

	"github.com/nsqgo/nsq/internal/hugepage"
)

// Ring is a FIFO of values kept in fixed-size blocks. It is not safe for
// concurrent use: its owner guards it with its own mutex. Storing values
// rather than pointers keeps a queued message free of per-message garbage.
//
// Blocks rather than one doubling buffer: growing never copies what is
// queued (a million queued messages would be copied, and their memory
// touched again, at every doubling, while the owner's lock is held), a
// queue holds at most one partly used block more than it needs, and a
// drained block is kept for the next pushes instead of becoming garbage.
type Ring[T any] struct {
	blocks   [][]T // blocks[0][head:] is the front; every block has blockLen items
	head     int   // index of the first item in blocks[0]
	size     int
	blockLen int   // set with the first block
	spare    [][]T // emptied blocks kept for reuse, at most maxSpareBlocks
	// fresh is shown every newly allocated block before it is written, so
	// that a ring growing into fresh heap gets huge pages (internal/hugepage);
	// nil: none.
	fresh *hugepage.Advisor
}

// AdviseFresh makes the ring show its new blocks to a (kept by Clear).
func (r *Ring[T]) AdviseFresh(a *hugepage.Advisor) { r.fresh = a }

const (
	// ringBlockBytes sizes a block: big enough that block bookkeeping is
	// rare, small enough that an idle queue costs little.
	ringBlockBytes = 16 << 10
	maxSpareBlocks = 2
)

func (r *Ring[T]) Len() int { return r.size }

// Push appends items.
func (r *Ring[T]) Push(items ...T) {
	for len(items) > 0 {
		n := copy(r.tailSpace(), items)
		items = items[n:]
		r.size += n
	}
}

// tailSpace returns the free slots after the last item in its block (a new
// block when that one is full): the caller writes a prefix of them and adds
// its length to size.
func (r *Ring[T]) tailSpace() []T {
	end := r.head + r.size
	if r.blocks == nil || end == len(r.blocks)*r.blockLen {
		r.blocks = append(r.blocks, r.newBlock())
	}
	return r.blocks[end/r.blockLen][end%r.blockLen:]
}

func (r *Ring[T]) newBlock() []T {
	if n := len(r.spare); n > 0 {
		b := r.spare[n-1]
		r.spare[n-1] = nil
		r.spare = r.spare[:n-1]
		return b
	}
	if r.blockLen == 0 {
		var zero T
		r.blockLen = max(16, ringBlockBytes/max(int(unsafe.Sizeof(zero)), 1))
	}
	b := make([]T, r.blockLen)
	hugepage.Fresh(r.fresh, b)
	prefault(b) // one fault per page, not two (prefault.go)
	return b
}

// Front returns the first item; the ring must not be empty.
func (r *Ring[T]) Front() *T { return &r.blocks[0][r.head] }

// PopInto moves up to max items from the front into dst.
func (r *Ring[T]) PopInto(dst []T, max int) []T {
	for max > 0 && r.size > 0 {
		front := r.blocks[0]
		end := min(r.head+r.size, r.blockLen, r.head+max)
		dst = append(dst, front[r.head:end]...)
		clear(front[r.head:end]) // drop references for the GC
		n := end - r.head
		max -= n
		r.size -= n
		r.head = end
		r.frontConsumed()
	}
	return dst
}

// DropFront removes the first item; the ring must not be empty.
func (r *Ring[T]) DropFront() {
	var zero T
	r.blocks[0][r.head] = zero
	r.head++
	r.size--
	r.frontConsumed()
}

// frontConsumed retires the front block once its last item is gone, and
// rewinds an empty ring to the start of its one block.
func (r *Ring[T]) frontConsumed() {
	if r.size == 0 {
		r.head = 0
		r.trimBlocks()
		return
	}
	if r.head == r.blockLen {
		r.retire(r.blocks[0])
		r.blocks[0] = nil
		r.blocks = r.blocks[1:]
		r.head = 0
	}
}

// trimBlocks retires the blocks past the last item (all already cleared).
func (r *Ring[T]) trimBlocks() {
	if len(r.blocks) == 0 {
		return
	}
	used := (r.head + r.size + r.blockLen - 1) / r.blockLen
	if r.size == 0 {
		used = 1 // keep one block for the next push
	}
	for i := used; i < len(r.blocks); i++ {
		r.retire(r.blocks[i])
		r.blocks[i] = nil
	}
	r.blocks = r.blocks[:used]
}

func (r *Ring[T]) retire(b []T) {
	if len(r.spare) < maxSpareBlocks {
		r.spare = append(r.spare, b)
	}
}

// at returns the i-th item from the front.
func (r *Ring[T]) at(i int) *T {
	i += r.head
	return &r.blocks[i/r.blockLen][i%r.blockLen]
}

// Filter keeps, in order, only the items for which keep returns true.
func (r *Ring[T]) Filter(keep func(*T) bool) {
	var zero T
	kept := 0
	for i := 0; i < r.size; i++ {
		item := *r.at(i)
		if keep(&item) {
			*r.at(kept) = item
			kept++
		}
	}
	for i := kept; i < r.size; i++ {
		*r.at(i) = zero
	}
	r.size = kept
	if kept == 0 {
		r.head = 0
	}
	r.trimBlocks()
}

// Clear drops everything and releases the blocks.
func (r *Ring[T]) Clear() { *r = Ring[T]{fresh: r.fresh} }

// Each calls fn for every item in order.
func (r *Ring[T]) Each(fn func(*T)) {
	for i := 0; i < r.size; i++ {
		fn(r.at(i))
	}
}
