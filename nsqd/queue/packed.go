package queue

import (
	"encoding/binary"
	"math"
	"slices"
	"sync/atomic"
	"unsafe"

	"github.com/nsqgo/nsq/internal/hugepage"
	"github.com/nsqgo/nsq/internal/protocol"
)

// Packed records: what a published batch costs in memory besides its
// bodies, 8 bytes a message instead of a 72-byte record.
//
// A batch as a topic publishes it (nsqd/topic.go's putMessagesAt) has one
// clock reading for every message, consecutive IDs, no attempts, no
// deferral of its own beyond one DeliverAt for all, and no disk receipt:
// only the bodies differ. So SharedRecords.Copy keeps such a batch as a
// body pointer per message, in a packBlock, and the fields the messages
// share once per run of a ring (readyRun, ready.go): its first ID,
// Timestamp and DeliverAt. A ring hands out a message by rebuilding it
// from those (readyRun.unpack); what it rebuilds is equal, field for
// field, to what was copied, the body being the same bytes (its capacity
// is its length). A batch that is not of that shape (tests, requeues, held
// memory handed over) or is smaller than packMinBatch is copied into whole
// records, as before (records.go).
//
// A body's length is mostly not stored: the bodies of a batch read from a
// socket lie one after another in their slabs (nsqd/body_alloc.go), so an
// entry's length is where the next entry's body starts less where its own
// does. Only an entry whose next body does not start where its own ends (a
// slab's last body, a big body of its own, each batch's last entry, whose
// next entry is not written yet) has its length in the block's ends, in
// entry order; a ring run keeps the index of the first end at or after its
// start (readyRun.end0). Every entry keeps a real pointer to its own body's
// first byte, so the collector keeps each body's memory alive exactly as a
// []byte would: an offset from a slab's start would not, since two slabs
// may lie next to each other and nothing here knows where one ends.
//
// A packBlock counts its holders and is reused like a recordBlock: the
// packRecords while it carves the block, a SharedRecords caller between
// Copy and Release, and each ring run that points into it.
type packBlock struct {
	bodies []*byte // a body's first byte; cleared once the block is free
	// ends are the lengths that do not follow from the next body (see
	// above), in entry order. Fixed once made: entries and ends are
	// written by the carver while rings read earlier ones.
	ends []packEnd
	refs atomic.Int64
	home *packRecords
}

// packEnd is the length n of entry at.
type packEnd struct{ at, n uint32 }

// packRecords carves packBlocks; not safe for concurrent use, except that
// blocks may be released from any goroutine (the spare slots, as Records').
type packRecords struct {
	cur     *packBlock
	free    int // the first unused entry of cur
	freeEnd int // the first unused end of cur
	fresh   *hugepage.Advisor
	spare   blockSpares[packBlock]
}

const (
	// packBlockMin and packBlockMax bound a block's entries: at least 8 KB
	// of them (an idle topic keeps its current block, as its records'),
	// at most about 672 KB; between them eight batches' worth, as
	// recordBlock, rounded up (packBlockLen) so that a block's entries are
	// exactly a size the allocator hands out (a size class, or whole 8 KB
	// pages) rather than up to a twentieth more.
	packEntryBytes = int(unsafe.Sizeof((*byte)(nil)))
	packBlockMin   = 1024
	packBlockMax   = 84 * 1024
	// packEndsPer is entries per end a block has room for at least: two
	// ends for a batch of 200 read into two slabs, 64 for 8 such batches.
	packEndsPer = 32
)

// packBlockLen is the entries of a block for batches of n: 1,024 entries
// (8 KB) at a time up to 8,192 (64 KB), then 2,048 (16 KB: whole pages).
func packBlockLen(n int) int {
	want := min(recordBlockBatches*n, packBlockMax)
	if want <= 8192 {
		return max(packBlockMin, roundUp(want, 1024))
	}
	return roundUp(want, 2048)
}

// packEndsLen is the ends of a block of entries entries for batches of
// needing ends each: packEndsPer's share, or eight batches' worth (at most
// one per entry) when the batches need more.
func packEndsLen(entries, needing int) int {
	return min(entries, max(entries/packEndsPer, recordBlockBatches*needing))
}

// packMinBatch is the smallest batch packed. A ring run (56 bytes) per
// batch and channel is what packing adds: for a PUB's one message in n
// channels that is 8 + 56n bytes against a whole record's 72 (whose runs
// extend over consecutive records of a block), so small batches are
// copied whole; from eight messages on, packing costs at most 8 + 7n.
const packMinBatch = 8

// packable reports whether msgs may be packed (see above), the value of
// the first one's ID, how many ends its entries need and the sum of its
// bodies' lengths. It reads every message once, comparing each ID with the
// text FormatID would write for it, a half at a time (protocol.HexDigits).
func packable(msgs []Message) (first uint64, ends int, bytes int64, ok bool) {
	if len(msgs) < packMinBatch {
		return 0, 0, 0, false
	}
	first, ok = protocol.ParseID(&msgs[0].ID)
	if !ok {
		return 0, 0, 0, false
	}
	ends, bytes, ok = packShape(msgs, first, true)
	return first, ends, bytes, ok
}

// packShape is packable for msgs whose first ID has the value first. With
// allIDs false the caller vouches for the IDs between the first and the
// last (it wrote them, SharedRecords.CopyPublished), and only those two
// are compared.
func packShape(msgs []Message, first uint64, allIDs bool) (ends int, bytes int64, ok bool) {
	if len(msgs) < packMinBatch {
		return 0, 0, false
	}
	last := uint64(len(msgs) - 1)
	if !allIDs && (!isID(&msgs[0], first) || !isID(&msgs[last], first+last)) {
		return 0, 0, false
	}
	m0 := &msgs[0]
	hi := protocol.HexDigits(uint32(first >> 32)) // the first 8 digits: new only when the last 8 wrap
	ends = 1                                      // the last entry's
	at := uintptr(unsafe.Pointer(unsafe.SliceData(m0.Body)))
	for i := range msgs {
		m := &msgs[i]
		if allIDs {
			v := first + uint64(i)
			if uint32(v) == 0 {
				hi = protocol.HexDigits(uint32(v >> 32))
			}
			if binary.BigEndian.Uint64(m.ID[:8]) != hi || binary.BigEndian.Uint64(m.ID[8:]) != protocol.HexDigits(uint32(v)) {
				return 0, 0, false
			}
		}
		if m.Timestamp != m0.Timestamp || m.DeliverAt != m0.DeliverAt || m.Attempts != 0 ||
			m.receipt != 0 || uint64(len(m.Body)) > math.MaxUint32 {
			return 0, 0, false
		}
		// at is where the previous body ended: an end for it unless
		// this one starts there.
		p := uintptr(unsafe.Pointer(unsafe.SliceData(m.Body)))
		if i > 0 && p != at {
			ends++
		}
		at = p + uintptr(len(m.Body))
		bytes += int64(len(m.Body))
	}
	return ends, bytes, true
}

// isID reports whether m's ID is the text FormatID writes for v.
func isID(m *Message, v uint64) bool {
	return binary.BigEndian.Uint64(m.ID[:8]) == protocol.HexDigits(uint32(v>>32)) &&
		binary.BigEndian.Uint64(m.ID[8:]) == protocol.HexDigits(uint32(v))
}

// putIDs writes FormatID(first+i) into the ID of every message of out,
// the first eight digits formatted again only when the last eight wrap.
func putIDs(out []Message, first uint64) {
	hi := protocol.HexDigits(uint32(first >> 32))
	for i := range out {
		v := first + uint64(i)
		if uint32(v) == 0 {
			hi = protocol.HexDigits(uint32(v >> 32))
		}
		binary.BigEndian.PutUint64(out[i].ID[:8], hi)
		binary.BigEndian.PutUint64(out[i].ID[8:], protocol.HexDigits(uint32(v)))
	}
}

// copy packs msgs (packable, needing ends ends) into a block and returns
// it, the index of the first entry and that of its first end. The same
// hold rule as Records.copy's applies.
func (r *packRecords) copy(msgs []Message, ends int) (b *packBlock, at, end0 int) {
	n := len(msgs)
	if r.cur == nil || n > len(r.cur.bodies)-r.free || ends > len(r.cur.ends)-r.freeEnd {
		blockLen := packBlockLen(n)
		if n > blockLen {
			b := r.block(n, n, ends, ends) // a batch bigger than a block: its own
			b.fill(0, 0, msgs)
			return b, 0, 0
		}
		if r.cur != nil {
			r.cur.release()
		}
		r.cur = r.block(blockLen, n, packEndsLen(blockLen, ends), ends)
		r.cur.refs.Add(1) // the packRecords' hold while it carves the block
		r.free, r.freeEnd = 0, 0
	}
	at, end0 = r.free, r.freeEnd
	r.freeEnd = r.cur.fill(at, end0, msgs)
	r.free += n
	return r.cur, at, end0
}

// fill writes the entries of msgs from at on, and their ends from end0 on;
// it returns the index after the last end written.
func (b *packBlock) fill(at, end0 int, msgs []Message) int {
	bodies := b.bodies[at : at+len(msgs)]
	ends := b.ends[end0:]
	k := 0
	for i := range msgs {
		p := unsafe.SliceData(msgs[i].Body)
		bodies[i] = p
		// The previous entry needs an end unless this body starts where
		// the previous one ended (packable counted them the same way).
		if i > 0 {
			prev := msgs[i-1].Body
			if uintptr(unsafe.Pointer(unsafe.SliceData(prev)))+uintptr(len(prev)) != uintptr(unsafe.Pointer(p)) {
				ends[k] = packEnd{at: uint32(at + i - 1), n: uint32(len(prev))}
				k++
			}
		}
	}
	last := len(msgs) - 1
	ends[k] = packEnd{at: uint32(at + last), n: uint32(len(msgs[last].Body))}
	return end0 + k + 1
}

// block returns a block of about want entries and wantEnds ends, and at
// least need and needEnds, with no holder: a spare one that fits as
// Records.block's do, else a new one.
func (r *packRecords) block(want, need, wantEnds, needEnds int) *packBlock {
	if b := r.spare.take(func(b *packBlock) bool {
		return spareFits(len(b.bodies), want, need) && len(b.ends) >= needEnds
	}); b != nil {
		return b
	}
	// The ends as many as the allocator's size for wantEnds holds anyway.
	ends := slices.Grow([]packEnd(nil), wantEnds)
	b := &packBlock{bodies: make([]*byte, want), ends: ends[:cap(ends)], home: r}
	hugepage.Fresh(r.fresh, b.bodies)
	prefault(b.bodies) // pointers: one fault per page, not two (prefault.go); ends hold none
	return b
}

// hold adds a holder.
func (b *packBlock) hold() { b.refs.Add(1) }

// release ends a hold; the last one clears the block (it keeps no body
// alive) and hands it back to its packRecords.
func (b *packBlock) release() {
	if b.refs.Add(-1) != 0 {
		return
	}
	clear(b.bodies)
	b.home.spare.offer(b)
}

// endFrom is the index of the first end at or after entry i, from e, the
// index of one at or before it.
func (b *packBlock) endFrom(e, i int) int {
	for int(b.ends[e].at) < i {
		e++
	}
	return e
}

// roundUp is n rounded up to a multiple of m.
func roundUp(n, m int) int { return (n + m - 1) / m * m }
