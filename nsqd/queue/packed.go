package queue

import (
	"encoding/binary"
	"math"
	"sync/atomic"
	"unsafe"

	"github.com/nsqgo/nsq/internal/hugepage"
	"github.com/nsqgo/nsq/internal/protocol"
)

// Packed records: what a published batch costs in memory besides its
// bodies, 12 bytes a message instead of a 72-byte record.
//
// A batch as a topic publishes it (nsqd/topic.go's putMessagesAt) has one
// clock reading for every message, consecutive IDs, no attempts, no
// deferral of its own beyond one DeliverAt for all, and no disk receipt:
// only the bodies differ. So SharedRecords.Copy keeps such a batch as a
// body pointer and a length per message, in a packBlock, and the fields
// the messages share once per run of a ring (readyRun, ready.go): its
// first ID, Timestamp and DeliverAt. A ring hands out a message by
// rebuilding it from those (readyRun.unpack); what it rebuilds is equal,
// field for field, to what was copied, the body being the same bytes (its
// capacity is its length). A batch that is not of that shape (tests,
// requeues, held memory handed over) or is smaller than packMinBatch is
// copied into whole records, as before (records.go).
//
// A packBlock counts its holders and is reused like a recordBlock: the
// packRecords while it carves the block, a SharedRecords caller between
// Copy and Release, and each ring run that points into it.
type packBlock struct {
	bodies []*byte // a body's first byte; cleared once the block is free
	lens   []uint32
	refs   atomic.Int64
	home   *packRecords
}

// packRecords carves packBlocks; not safe for concurrent use, except that
// blocks may be released from any goroutine (the spare slots, as Records').
type packRecords struct {
	cur   *packBlock
	free  int // the first unused entry of cur
	fresh *hugepage.Advisor
	spare [maxSpareRecordBlocks]atomic.Pointer[packBlock]
}

const (
	// packBlockMin and packBlockMax bound a block's entries: at least 12 KB
	// of them (an idle topic keeps its current block, as its records'),
	// at most about 1 MB; between them eight batches' worth, as
	// recordBlock, rounded up (packBlockLen) so that both of a block's
	// slices are exactly a size the allocator hands out (a size class, or
	// whole 8 KB pages) rather than up to a twentieth more.
	packEntryBytes = int(unsafe.Sizeof((*byte)(nil))) + 4
	packBlockMin   = 1024
	packBlockMax   = 84 * 1024
)

// packBlockLen is the entries of a block for batches of n: 1,024 entries
// (8 and 4 KB) at a time up to 8,192 (64 and 32 KB), then 2,048 (16 and
// 8 KB: whole pages).
func packBlockLen(n int) int {
	want := min(recordBlockBatches*n, packBlockMax)
	if want <= 8192 {
		return max(packBlockMin, roundUp(want, 1024))
	}
	return roundUp(want, 2048)
}

// packMinBatch is the smallest batch packed. A ring run (48 bytes) per
// batch and channel is what packing adds: for a PUB's one message in n
// channels that is 12 + 48n bytes against a whole record's 72 (whose runs
// extend over consecutive records of a block), so small batches are
// copied whole; from eight messages on, packing costs at most 12 + 6n.
const packMinBatch = 8

// packable reports whether msgs may be packed (see above), and the value
// of the first one's ID. It reads every message once, comparing each ID
// with the text FormatID would write for it, a half at a time
// (protocol.HexDigits).
func packable(msgs []Message) (first uint64, ok bool) {
	if len(msgs) < packMinBatch {
		return 0, false
	}
	m0 := &msgs[0]
	first, ok = protocol.ParseID(&m0.ID)
	if !ok {
		return 0, false
	}
	hi := protocol.HexDigits(uint32(first >> 32)) // the first 8 digits: new only when the last 8 wrap
	for i := range msgs {
		m := &msgs[i]
		v := first + uint64(i)
		if uint32(v) == 0 {
			hi = protocol.HexDigits(uint32(v >> 32))
		}
		if binary.BigEndian.Uint64(m.ID[:8]) != hi || binary.BigEndian.Uint64(m.ID[8:]) != protocol.HexDigits(uint32(v)) ||
			m.Timestamp != m0.Timestamp || m.DeliverAt != m0.DeliverAt || m.Attempts != 0 ||
			m.receipt != 0 || uint64(len(m.Body)) > math.MaxUint32 {
			return 0, false
		}
	}
	return first, true
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

// copy packs msgs (packable) into a block and returns it and the index of
// the first entry. The same hold rule as Records.copy's applies.
func (r *packRecords) copy(msgs []Message) (*packBlock, int) {
	n := len(msgs)
	if r.cur == nil || n > len(r.cur.lens)-r.free {
		blockLen := packBlockLen(n)
		if n > blockLen {
			b := r.block(n, n) // a batch bigger than a block: its own
			b.fill(0, msgs)
			return b, 0
		}
		if r.cur != nil {
			r.cur.release()
		}
		r.cur = r.block(blockLen, n)
		r.cur.refs.Add(1) // the packRecords' hold while it carves the block
		r.free = 0
	}
	at := r.free
	r.cur.fill(at, msgs)
	r.free += n
	return r.cur, at
}

// fill writes the entries of msgs from at on.
func (b *packBlock) fill(at int, msgs []Message) {
	bodies := b.bodies[at : at+len(msgs)]
	lens := b.lens[at : at+len(msgs)]
	for i := range msgs {
		bodies[i] = unsafe.SliceData(msgs[i].Body)
		lens[i] = uint32(len(msgs[i].Body))
	}
}

// block returns a block of about want entries, and at least need, with no
// holder: a spare one within the bounds Records.block uses, else a new one.
func (r *packRecords) block(want, need int) *packBlock {
	for i := range r.spare {
		b := r.spare[i].Swap(nil)
		if b == nil {
			continue
		}
		if n := len(b.lens); n >= need && n >= want/4 && n <= 8*want {
			return b
		}
	}
	b := &packBlock{bodies: make([]*byte, want), lens: make([]uint32, want), home: r}
	hugepage.Fresh(r.fresh, b.bodies)
	hugepage.Fresh(r.fresh, b.lens)
	prefault(b.bodies) // pointers: one fault per page, not two (prefault.go); lens holds none
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
	for i := range b.home.spare {
		if b.home.spare[i].CompareAndSwap(nil, b) {
			return
		}
	}
}

// body is entry i's body.
func (b *packBlock) body(i int) []byte { return unsafe.Slice(b.bodies[i], b.lens[i]) }

// roundUp is n rounded up to a multiple of m.
func roundUp(n, m int) int { return (n + m - 1) / m * m }
