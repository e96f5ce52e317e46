package queue

import (
	"sync"
	"sync/atomic"
	"unsafe"

	"github.com/nsqgo/nsq/internal/hugepage"
)

// Records keeps copies of messages at stable addresses, so that queues can
// hold runs of them (readyRing, ready.go) instead of a 72-byte copy each.
// A topic copies every published batch into its SharedRecords once (packed,
// packed.go, when it has the shape a topic publishes) and each of its
// channels queues runs of the same copies: fanning a message out to n
// channels costs one record, not n. A record is never written again while
// anything refers to it.
//
// Copies are carved from blocks sized for several batches of the size
// being copied, so a batch costs no allocation of its own (a PUB of one
// message neither) and the unused tail of a block abandoned for a batch
// that did not fit is under an eighth of it. A block is kept by any one of
// its records, so a queue holding one batch of each block keeps at most
// eight times the records it holds (queues copy the parts of batches they
// keep only in part, queue.go's enqueueFrom).
//
// A block counts its holders (recordBlock.refs): the Records while the
// block is the one being carved, a SharedRecords caller between Copy and
// Release, and each run of a ring's entries that point into it (ready.go's
// spans). The count is atomic, for the rings of a topic's channels are
// under different locks. When it reaches zero nothing can read the block
// any more: it is cleared (so it keeps no bodies alive) and kept on a small
// free list for the next block this Records carves, so a queue whose
// messages leave as fast as they come reuses the same few blocks instead
// of leaving one to the collector every eight batches. A holder that goes
// away without releasing (a deleted channel's ring) only means that block
// is left to the collector, as it would be without the count.
//
// Not safe for concurrent use, except that blocks may be released from any
// goroutine; SharedRecords is.
type Records struct {
	free  []Message    // the current block's unused part
	cur   *recordBlock // the block free is part of; nil before the first
	fresh *hugepage.Advisor
	spare blockSpares[recordBlock] // released blocks, for reuse
}

// blockSpares holds released blocks of a Records or packRecords for reuse.
// Released from any goroutine (a compare-and-swap into an empty slot,
// offer), taken only by the carver (a swap out, take), so no lock is
// needed and a block is never in two slots.
type blockSpares[B any] [maxSpareRecordBlocks]atomic.Pointer[B]

// take returns a spare for which fits holds, or nil. Every spare it looks
// at and finds unfit is dropped, so that the spares follow the traffic.
func (s *blockSpares[B]) take(fits func(*B) bool) *B {
	for i := range s {
		if b := s[i].Swap(nil); b != nil && fits(b) {
			return b
		}
	}
	return nil
}

// offer keeps b, a released block, in an empty slot; with none, b is left
// to the collector.
func (s *blockSpares[B]) offer(b *B) {
	for i := range s {
		if s[i].CompareAndSwap(nil, b) {
			return
		}
	}
}

// spareFits reports whether a spare block of n entries will do for a
// block of about want and at least need: within a factor of four or eight
// of want (publishers' batch sizes vary).
func spareFits(n, want, need int) bool { return n >= need && n >= want/4 && n <= 8*want }

// recordBlock is a block of records and the count of its holders.
type recordBlock struct {
	msgs []Message
	refs atomic.Int64
	home *Records // whose spare list it goes back to
}

const (
	// recordBlockMinBytes and recordBlockMaxBytes bound a block: at least
	// a ring block's worth, at most what eight batches need up to 1 MB.
	recordBlockMinBytes = 16 << 10
	recordBlockMaxBytes = 1 << 20
	recordBlockBatches  = 8
	recordBytes         = int(unsafe.Sizeof(Message{}))
	// maxSpareRecordBlocks bounds the released blocks a Records keeps: with
	// the current block, enough for a queue drained as fast as it is
	// filled, and at most 2 MB kept by an idle topic.
	maxSpareRecordBlocks = 2
)

// AdviseFresh makes new blocks be shown to a before they are written
// (internal/hugepage).
func (r *Records) AdviseFresh(a *hugepage.Advisor) { r.fresh = a }

// copy returns copies of msgs, in order and contiguous, and the block they
// are in. They stay unchanged while the block has a holder; the caller
// must add its hold (recordBlock.hold) before anything else is copied,
// since the Records' own hold ends when it moves to another block, and a
// block of its own (a batch bigger than a block) has no holder at all.
func (r *Records) copy(msgs []Message) ([]Message, *recordBlock) {
	n := len(msgs)
	if n == 0 {
		return nil, nil
	}
	if n > len(r.free) {
		blockLen := max(recordBlockMinBytes/recordBytes, min(recordBlockBatches*n, recordBlockMaxBytes/recordBytes))
		if n > blockLen {
			// A batch bigger than a block gets a block of its own.
			b := r.block(n, n)
			copy(b.msgs, msgs)
			return b.msgs[:n:n], b
		}
		if r.cur != nil {
			r.cur.release()
		}
		r.cur = r.block(blockLen, n)
		r.cur.refs.Add(1) // the Records' hold while it carves the block
		r.free = r.cur.msgs
	}
	out := r.free[:n:n]
	copy(out, msgs)
	r.free = r.free[n:]
	return out, r.cur
}

// block returns a block of about want records, and at least need, with no
// holder: a spare one that fits (spareFits), else a new one of want.
func (r *Records) block(want, need int) *recordBlock {
	if b := r.spare.take(func(b *recordBlock) bool { return spareFits(len(b.msgs), want, need) }); b != nil {
		return b
	}
	b := &recordBlock{msgs: make([]Message, want), home: r}
	hugepage.Fresh(r.fresh, b.msgs)
	prefault(b.msgs) // one fault per page, not two (prefault.go)
	return b
}

// hold adds a holder.
func (b *recordBlock) hold() { b.refs.Add(1) }

// release ends a hold; the last one hands the block back to its Records.
// Every read of the block by this holder must be done before.
func (b *recordBlock) release() {
	if b.refs.Add(-1) != 0 {
		return
	}
	clear(b.msgs) // keep no bodies alive while spare
	b.home.spare.offer(b)
}

// SharedRecords is Records for concurrent callers (a topic's publishers,
// which fan out under the topic's read lock). A batch of the shape a topic
// publishes is packed (packed.go: 8 bytes a message); any other is copied
// into whole records.
type SharedRecords struct {
	mu      sync.Mutex
	records Records
	packs   packRecords
}

// Shared is a batch's records in a SharedRecords, held unchanged until
// Release: queue them with Queue.PutShared in between.
//
// Msgs are the messages: whole records (block), or, for a packed batch
// (pack), the slice given to Copy itself, which the caller must leave
// unchanged until Release; a ring that queues them points at the packed
// entries from at on, whose first ID has the value first.
type Shared struct {
	Msgs  []Message
	block *recordBlock
	pack  *packBlock
	at    int
	end0  int // the index of the first of pack's ends for Msgs (packed.go)
	first uint64
	bytes int64 // BodyBytes(Msgs), once for every queue the batch goes to
}

// Release ends the hold Copy gave; Msgs must not be used after.
func (s Shared) Release() {
	if s.block != nil {
		s.block.release()
	}
	if s.pack != nil {
		s.pack.release()
	}
}

// AdviseFresh is Records.AdviseFresh; call it before any Copy.
func (s *SharedRecords) AdviseFresh(a *hugepage.Advisor) {
	s.records.AdviseFresh(a)
	s.packs.fresh = a
}

// Copy copies msgs into records, in order, held for the caller until it
// calls Release. A packed batch's Msgs are msgs: the caller leaves them
// unchanged until then (Shared).
func (s *SharedRecords) Copy(msgs []Message) Shared {
	if first, ends, bytes, ok := packable(msgs); ok {
		return s.pack(msgs, first, ends, bytes)
	}
	return s.copyWhole(msgs)
}

// CopyPublished is Copy for a batch whose IDs the caller wrote as
// protocol.FormatID(first+i) (a topic's publish, nsqd/topic.go's
// putMessagesAt): only the first and last are read back, where Copy
// compares every one. A batch whose IDs are otherwise would come out of a
// ring with the IDs first+i all the same.
func (s *SharedRecords) CopyPublished(msgs []Message, first uint64) Shared {
	if ends, bytes, ok := packShape(msgs, first, false); ok {
		return s.pack(msgs, first, ends, bytes)
	}
	return s.copyWhole(msgs)
}

// pack is Copy of a batch packShape took.
func (s *SharedRecords) pack(msgs []Message, first uint64, ends int, bytes int64) Shared {
	s.mu.Lock()
	b, at, end0 := s.packs.copy(msgs, ends)
	b.hold()
	s.mu.Unlock()
	return Shared{Msgs: msgs[:len(msgs):len(msgs)], pack: b, at: at, end0: end0, first: first, bytes: bytes}
}

// copyWhole is Copy into whole records.
func (s *SharedRecords) copyWhole(msgs []Message) Shared {
	bytes := BodyBytes(msgs)
	s.mu.Lock()
	out, b := s.records.copy(msgs)
	if b != nil {
		b.hold()
	}
	s.mu.Unlock()
	return Shared{Msgs: out, block: b, bytes: bytes}
}

// copyIndexed is copy for a caller that keeps the copies as a range of
// their block (heldMemory): the block and the index of the first copy in
// block.msgs. The same hold rule as copy's applies.
func (r *Records) copyIndexed(msgs []Message) (block *recordBlock, start int) {
	_, block = r.copy(msgs)
	if block == nil || block != r.cur {
		return block, 0 // none, or a block of the batch's own
	}
	return block, len(block.msgs) - len(r.free) - len(msgs)
}

// dropCurrent ends the Records' hold on the block it carves, so the next
// copy starts another: for a user whose every record has moved on to
// other holders (a topic's held memory handed over to its channels,
// held_memory.go), so that the block goes once they are done with it,
// instead of staying held, with the bodies its records point at, until
// the next copy that needs a new block.
func (r *Records) dropCurrent() {
	if r.cur != nil {
		r.cur.release()
	}
	r.cur, r.free = nil, nil
}
