package nsqd

import (
	"encoding/binary"
	"errors"
	"math/bits"
	"sync"
	"sync/atomic"
	"unsafe"

	"github.com/nsqgo/nsq/internal/protocol"
	"github.com/nsqgo/nsq/nsqd/queue"
)

var (
	errNotInFlight = errors.New("ID not in flight")
	errNotOwner    = errors.New("client does not own message")
)

// inFlightSlot is a delivered message waiting for FIN, REQ or its timeout:
// the message's fields, packed into one 64-byte cache line, so that finding
// a FIN's message and freeing its slot touch one line. A Message and the
// slot's own fields took 96 bytes, two lines for most slots, and at a
// consumer's RDY the slots and the bodies between a delivery and its FIN
// do not stay cached: loading each slot's second line was most of a FIN's
// cost (README, "Consume path: one cache line per in-flight slot"). The
// times that only deliveries, TOUCHes and timeouts use live apart, in
// slotTimes.
//
// The body is kept as its first byte and length (unsafe.SliceData), which
// keeps the same memory alive; unpack gives it back with a capacity equal
// to its length, so an append to it copies rather than writing past it.
// The receipt travels as queue.Receipt, opaque.
type inFlightSlot struct {
	id        protocol.MessageID
	body      *byte
	bodyLen   int
	timestamp int64
	deliverAt int64
	receipt   queue.Receipt
	// gen changes whenever the slot is freed, so a deadline entry naming
	// the slot can tell whether it still refers to the same delivery.
	gen      uint32
	attempts uint16
	live     bool
}

// slotTimes is the part of a slot that only deliveries, TOUCHes and
// timeouts use: a FIN never reads it.
type slotTimes struct {
	deadline    int64 // on the clock's Nanotime (timeouts.go)
	deliveredAt int64 // on Nanotime; caps TOUCH at deliveredAt + --max-msg-timeout
}

// set packs m into s as a live message.
func (s *inFlightSlot) set(m *Message) {
	s.id = m.ID
	s.body = unsafe.SliceData(m.Body)
	s.bodyLen = len(m.Body)
	s.timestamp = m.Timestamp
	s.deliverAt = m.DeliverAt
	s.receipt = m.Receipt()
	s.attempts = m.Attempts
	s.live = true
}

// unpack writes the message set packed into every field of m; a nil body
// comes back nil, an empty one empty. It writes into place rather than
// returning a Message: returned, the 72 bytes were copied three times
// between the slot and a FIN's scratch array.
func (s *inFlightSlot) unpack(m *Message) {
	m.ID = s.id
	m.Body = unsafe.Slice(s.body, s.bodyLen)
	m.Timestamp = s.timestamp
	m.DeliverAt = s.deliverAt
	m.Attempts = s.attempts
	m.SetReceipt(s.receipt)
}

// message is the message set packed, as unpack.
func (s *inFlightSlot) message() Message {
	var m Message
	s.unpack(&m)
	return m
}

// deadlineEntry orders timeouts. Deliveries happen in time order with one
// timeout per client, so appending keeps the FIFO sorted by deadline; an
// entry whose slot was freed (FIN'd) or whose deadline no longer matches
// the slot's (TOUCHed) is stale and skipped, which spares a heap and its
// per-message bookkeeping. Checking staleness reads the slot directly, with
// no ID lookup.
type deadlineEntry struct {
	slot     uint32
	gen      uint32
	deadline int64
}

// inFlight tracks the messages one client holds. Only that client's
// goroutines touch it, so a FIN never contends with other consumers.
//
// Messages live in slots (slotTable, reused through a free list) and are found
// by ID through index, an open-addressed table of slot numbers: delivering
// and finishing a message cost one probe each and no allocation once the
// table has grown to the client's RDY, where a Go map of whole entries cost
// most of the consume path's CPU (hashing, and moving 90-byte values).
type inFlight struct {
	mu        sync.Mutex
	slots     slotTable
	free      []uint32 // slots not in use, reused last-freed first
	index     idIndex
	deadlines deadlineFIFO
	latest    int64 // the largest deadline pushed on deadlines
	// capped holds the deadlines that a TOUCH capped at --max-msg-timeout
	// below the FIFO's tail: they would break its order, and expire would
	// not see them until everything queued before them had expired. Rare,
	// and at most one per in-flight message, so a scanned slice serves.
	capped []deadlineEntry
	count  atomic.Int64
}

// add tracks msgs as delivered now. A message whose ID this client already
// holds is a second copy (a crash replays a record that was requeued or
// deferred since, so both copies can come back): it is not tracked, since
// its entry would replace the first one's and that copy could never be
// answered. add moves such copies to the end of msgs and returns how many
// it tracked, in front of them; the caller keeps the others.
func (f *inFlight) add(msgs []Message, now, timeout int64) int {
	f.mu.Lock()
	f.dropStaleLocked()
	f.index.reserve(int(f.count.Load()) + len(msgs))
	deadline := now + timeout
	tracked := 0
	for i := range msgs {
		h := hashID(&msgs[i].ID)
		pos, found := f.index.findHashed(&msgs[i].ID, h, &f.slots)
		if found {
			continue
		}
		slot := f.allocSlotLocked()
		s := f.slots.at(slot)
		s.set(&msgs[i])
		*f.slots.timesAt(slot) = slotTimes{deadline: deadline, deliveredAt: now}
		f.index.shiftIn(pos, indexEntry{hash: h, slot: slot + 1})
		f.deadlines.push(deadlineEntry{slot: slot, gen: s.gen, deadline: deadline})
		if tracked != i {
			msgs[tracked], msgs[i] = msgs[i], msgs[tracked]
		}
		tracked++
	}
	f.latest = max(f.latest, deadline)
	f.count.Add(int64(tracked))
	f.mu.Unlock()
	return tracked
}

func (f *inFlight) allocSlotLocked() uint32 {
	if n := len(f.free); n > 0 {
		slot := f.free[n-1]
		f.free = f.free[:n-1]
		return slot
	}
	return f.slots.grow()
}

// releaseLocked frees a slot whose message has left: its body is no longer
// referenced from here, and every deadline entry naming it becomes stale.
func (f *inFlight) releaseLocked(slot uint32) Message {
	var msg Message
	f.freeSlotLocked(slot, &msg)
	f.count.Add(-1)
	return msg
}

// freeSlotLocked is releaseLocked without the count, which the caller
// updates: removeEach makes one atomic update of it per burst of FINs
// instead of one per FIN (the pump reads count from another core for its
// credit, so each update moves the cache line).
// It writes the slot's message into dst.
func (f *inFlight) freeSlotLocked(slot uint32, dst *Message) {
	s := f.slots.at(slot)
	s.unpack(dst)
	*s = inFlightSlot{gen: s.gen + 1} // drops the body; the times are left as they are
	f.free = append(f.free, slot)
}

// dropStaleLocked forgets deadline entries of messages already FIN'd or
// TOUCHed. FINs mostly arrive in delivery order, so popping stale heads keeps
// the FIFO near the in-flight count; when one slow message pins the head,
// a full compaction bounds the FIFO (and the capped list) at twice the
// in-flight count plus 1024 entries.
func (f *inFlight) dropStaleLocked() {
	for f.deadlines.Len() > 0 && f.isStaleLocked(f.deadlines.front()) {
		f.deadlines.dropFront()
	}
	held := int(f.count.Load())
	if f.deadlines.Len() > 2*held+1024 {
		f.deadlines.filter(func(d *deadlineEntry) bool { return !f.isStaleLocked(d) })
	}
	if len(f.capped) > 2*held+1024 {
		kept := f.capped[:0]
		for _, d := range f.capped {
			if !f.isStaleLocked(&d) {
				kept = append(kept, d)
			}
		}
		clear(f.capped[len(kept):])
		f.capped = kept
	}
}

func (f *inFlight) isStaleLocked(d *deadlineEntry) bool {
	s := f.slots.at(d.slot)
	return !s.live || s.gen != d.gen || f.slots.timesAt(d.slot).deadline != d.deadline
}

// remove ends tracking of id and returns its message.
func (f *inFlight) remove(id protocol.MessageID) (Message, bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	pos, found := f.index.find(&id, &f.slots)
	if !found {
		return Message{}, false
	}
	slot := f.index.deleteAt(pos)
	return f.releaseLocked(slot), true
}

// removeEach is remove for each of ids in order, under one lock: found[i]
// says whether ids[i] was held, and the messages of those that were are
// appended to msgs in the same order. A burst of FINs costs one lock
// instead of one each, which the pump's deliveries also take.
func (f *inFlight) removeEach(ids []protocol.MessageID, found []bool, msgs []Message) []Message {
	f.mu.Lock()
	removed := 0
	for i := range ids {
		pos, ok := f.index.find(&ids[i], &f.slots)
		found[i] = ok
		if ok {
			// Unpacked in place: every field of the message is written.
			if len(msgs) < cap(msgs) {
				msgs = msgs[:len(msgs)+1]
			} else {
				msgs = append(msgs, Message{})
			}
			f.freeSlotLocked(f.index.deleteAt(pos), &msgs[len(msgs)-1])
			removed++
		}
	}
	if removed > 0 {
		f.count.Add(-int64(removed))
	}
	f.mu.Unlock()
	return msgs
}

func (f *inFlight) has(id protocol.MessageID) bool {
	f.mu.Lock()
	_, found := f.index.find(&id, &f.slots)
	f.mu.Unlock()
	return found
}

// touch extends id's deadline to now+timeout, capped at its delivery time
// plus maxTimeout.
func (f *inFlight) touch(id protocol.MessageID, now, timeout, maxTimeout int64) bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	pos, found := f.index.find(&id, &f.slots)
	if !found {
		return false
	}
	slot := f.index.slotAt(pos)
	times := f.slots.timesAt(slot)
	deadline := now + timeout
	if limit := times.deliveredAt + maxTimeout; deadline > limit {
		deadline = limit
	}
	if deadline == times.deadline {
		return true // capped again: already queued with this deadline
	}
	times.deadline = deadline
	entry := deadlineEntry{slot: slot, gen: f.slots.at(slot).gen, deadline: deadline}
	if f.deadlines.Len() > 0 && deadline < f.latest {
		f.capped = append(f.capped, entry)
	} else {
		f.deadlines.push(entry)
		f.latest = deadline
	}
	// Each TOUCH leaves its message's previous entry stale; dropping them
	// here, not only at the next delivery or timeout, keeps what TOUCHes
	// cost bounded by the messages held (a consumer that holds RDY
	// messages and only TOUCHes them never reaches either).
	f.dropStaleLocked()
	return true
}

// expire moves every message whose deadline has passed into dst and returns
// the next deadline to wake for (0 when nothing is in flight).
func (f *inFlight) expire(now int64, dst []Message) ([]Message, int64) {
	f.mu.Lock()
	defer f.mu.Unlock()
	var next int64
	for f.deadlines.Len() > 0 {
		head := f.deadlines.front()
		if f.isStaleLocked(head) {
			f.deadlines.dropFront()
			continue
		}
		if head.deadline > now {
			next = head.deadline
			break
		}
		dst = append(dst, f.takeLocked(head.slot))
		f.deadlines.dropFront()
	}
	kept := f.capped[:0]
	for _, d := range f.capped {
		switch {
		case f.isStaleLocked(&d):
		case d.deadline <= now:
			dst = append(dst, f.takeLocked(d.slot))
		default:
			kept = append(kept, d)
			if next == 0 || d.deadline < next {
				next = d.deadline
			}
		}
	}
	clear(f.capped[len(kept):])
	f.capped = kept
	return dst, next
}

// takeLocked ends tracking of the live message in slot.
func (f *inFlight) takeLocked(slot uint32) Message {
	pos, found := f.index.find(&f.slots.at(slot).id, &f.slots)
	if !found || f.index.slotAt(pos) != slot {
		panic("nsqd: in-flight index lost a live message") // an invariant of this file, not of input
	}
	f.index.deleteAt(pos)
	return f.releaseLocked(slot)
}

// drainEach removes everything in flight and hands it to fn in runs of at
// most drainRun messages, in slot order, and returns how many it handed
// over. fn runs without the lock (it may take the channel's) and must not
// keep the slice: the runs share one buffer. A departing consumer's
// messages go back to its channel this way (tcp.go) instead of through a
// copy of all of them: at RDY 2500 that copy was 180 KB of fresh heap per
// consumer at the moment a disk-mode daemon peaks (README, "Peak RSS").
func (f *inFlight) drainEach(fn func([]Message)) int {
	f.mu.Lock()
	slots := f.slots
	held := int(f.count.Load())
	f.slots = slotTable{}
	f.free = nil
	f.index = idIndex{}
	f.deadlines = deadlineFIFO{}
	f.latest = 0 // else a long TOUCH before the drain sends later ones to capped
	f.capped = nil
	f.count.Store(0)
	f.mu.Unlock()
	if held == 0 {
		return 0
	}
	// The detached table is this call's alone now: no FIN, timeout or
	// delivery can reach it.
	run := make([]Message, 0, min(held, drainRun))
	handed := 0
	flush := func() {
		fn(run)
		handed += len(run)
		clear(run) // keeps no bodies alive
		run = run[:0]
	}
	slots.eachLive(func(s *inFlightSlot, _ *slotTimes) {
		run = append(run, s.message())
		if len(run) == cap(run) {
			flush()
		}
	})
	if len(run) > 0 {
		flush()
	}
	return handed
}

// drainRun is how many messages drainEach hands over at once: the
// channel's requeue step (channel.go's requeueChunk).
const drainRun = 256

// idIndex finds a slot by message ID: linear probing over a power-of-two
// table of (hash, slot+1) pairs, at most half full, kept in Robin Hood
// order (within a run of occupied positions, entries sit in the order of
// their home positions), with backward-shift deletion so that no
// tombstones build up under a steady deliver/FIN churn. The order lets a
// search stop at the first entry whose home lies after the ID's, and a
// deletion stop at the first entry already at its home: runs of
// consecutive IDs (hashID) fill runs of positions, each at its home, and
// FINning them in order moves nothing, where plain linear probing scanned
// to the end of the run on every deletion. IDs are compared in the slots,
// and only when the stored hash matches; growing and deleting need only
// the stored hashes.
type idIndex struct {
	table []indexEntry
	mask  uint64
}

type indexEntry struct {
	hash uint32 // the ID's hash, low bits: its home position and a tag
	slot uint32 // slot + 1; 0 = empty
}

// hashID places IDs that differ only in their last hex digit side by side:
// its low idGroupBits are that digit's value, the bits above a mix of the
// rest of the ID. Our IDs are hex counters and a consumer is handed them in
// runs of consecutive values (a take of up to maxDeliveryBatch), which it
// mostly answers in order, so sixteen deliveries or FINs in a row probe the
// same two cache lines of the table rather than sixteen random ones: at a
// consumer's RDY 2500 the table is larger than what stays cached between a
// delivery and its FIN, and a miss on every probe cost most of the FIN's
// time. Runs from different groups land in random places, so IDs with a
// stride (many consumers taking a few each) spread as with a plain hash.
// IDs read back from disk may come from another generator (upstream's);
// they are hex too, and anything else still hashes, only less evenly.
func hashID(id *protocol.MessageID) uint32 {
	// The rest of the ID, big-endian so that the digits that change
	// fastest land in the low bits, which the multiplication carries into
	// every higher one; folding the high half down spreads them.
	h := binary.BigEndian.Uint64(id[8:])>>8 ^ bits.RotateLeft64(binary.BigEndian.Uint64(id[:8]), 31)
	h *= 0x9e3779b97f4a7c15
	return uint32(h^h>>32)<<idGroupBits | hexDigitValue(id[protocol.MsgIDLength-1])
}

// idGroupBits is log2 of the IDs that hashID keeps together: one hex digit.
const idGroupBits = 4

// hexDigitValue is c's value as a hex digit ('0'-'9', 'a'-'f', 'A'-'F'),
// and for any other byte some value below 16.
func hexDigitValue(c byte) uint32 {
	return (uint32(c&0xf) + 9*uint32(c>>6&1)) & 0xf
}

// reserve grows the table so that n entries keep it at most half full.
func (x *idIndex) reserve(n int) {
	if uint64(2*n) <= uint64(len(x.table)) {
		return
	}
	size := 64
	for size < 2*n {
		size *= 2
	}
	old := x.table
	x.table = make([]indexEntry, size)
	x.mask = uint64(size - 1)
	for _, e := range old {
		if e.slot != 0 {
			x.place(e)
		}
	}
}

func (x *idIndex) home(hash uint32) uint64 { return uint64(hash) & x.mask }

// dist is how far the entry at pos sits past its home.
func (x *idIndex) dist(pos uint64, e indexEntry) uint64 {
	return (pos - x.home(e.hash)) & x.mask
}

// find returns the position of id, or the position where it would be
// inserted: the first empty one, or the first whose entry's home lies after
// id's (add shifts that entry on with shiftIn; reserve must have made
// room first).
func (x *idIndex) find(id *protocol.MessageID, slots *slotTable) (uint64, bool) {
	if len(x.table) == 0 {
		return 0, false
	}
	return x.findHashed(id, hashID(id), slots)
}

// findHashed is find for an id whose hashID is h, on a table that is not
// empty: add computes the hash once for the search and the insertion.
func (x *idIndex) findHashed(id *protocol.MessageID, h uint32, slots *slotTable) (uint64, bool) {
	pos := x.home(h)
	for d := uint64(0); ; d++ {
		e := x.table[pos]
		if e.slot == 0 || x.dist(pos, e) < d {
			return pos, false
		}
		if e.hash == h && slots.at(e.slot-1).id == *id {
			return pos, true
		}
		pos = (pos + 1) & x.mask
	}
}

// place inserts e where find would put it (growing rehashes with it).
func (x *idIndex) place(e indexEntry) {
	pos := x.home(e.hash)
	for d := uint64(0); ; d++ {
		cur := x.table[pos]
		if cur.slot == 0 || x.dist(pos, cur) < d {
			x.shiftIn(pos, e)
			return
		}
		pos = (pos + 1) & x.mask
	}
}

// shiftIn stores e at pos and moves the entries from pos up to the next
// empty position on by one, which keeps the run in home order: each of them
// has its home after e's, so it may sit further from it.
func (x *idIndex) shiftIn(pos uint64, e indexEntry) {
	for e.slot != 0 {
		x.table[pos], e = e, x.table[pos]
		pos = (pos + 1) & x.mask
	}
}

func (x *idIndex) slotAt(pos uint64) uint32 { return x.table[pos].slot - 1 }

// deleteAt empties pos and moves back the entries after it that sit past
// their home, up to the first empty position or entry at its home; it
// returns the slot pos held.
func (x *idIndex) deleteAt(pos uint64) uint32 {
	slot := x.table[pos].slot - 1
	hole := pos
	for {
		next := (hole + 1) & x.mask
		e := x.table[next]
		if e.slot == 0 || x.dist(next, e) == 0 {
			break
		}
		x.table[hole] = e
		hole = next
	}
	x.table[hole] = indexEntry{}
	return slot
}

// slotTable holds the slots in fixed-size chunks: growing to a client's RDY
// adds chunks and never copies the slots already held (a doubling slice
// allocated about twice, and with append's smaller steps for large slices
// up to five times, what it ended up holding, while the client's lock was
// held for each copy).
//
// A chunk of slots is 512 bytes, eight slots: the largest object the Go
// allocator places at a multiple of its size with no header in front (a
// bigger object that holds pointers starts 8 bytes past its size class's
// alignment, behind its type header), so every slot starts a cache line
// (TestInFlightSlotIsOneCacheLine). The times hold no pointers and need no
// alignment: they come in chunks of 128, 2 KB.
type slotTable struct {
	chunks []*[slotChunkLen]inFlightSlot
	times  []*[timesChunkLen]slotTimes
	n      uint32 // slots handed out: chunks hold [0, n)
}

const (
	slotChunkShift  = 3
	slotChunkLen    = 1 << slotChunkShift
	timesChunkShift = 7
	timesChunkLen   = 1 << timesChunkShift
)

func (t *slotTable) at(slot uint32) *inFlightSlot {
	return &t.chunks[slot>>slotChunkShift][slot&(slotChunkLen-1)]
}

func (t *slotTable) timesAt(slot uint32) *slotTimes {
	return &t.times[slot>>timesChunkShift][slot&(timesChunkLen-1)]
}

// grow hands out a new slot, zeroed.
func (t *slotTable) grow() uint32 {
	if t.n == uint32(len(t.chunks))*slotChunkLen {
		t.chunks = append(t.chunks, new([slotChunkLen]inFlightSlot))
	}
	if t.n == uint32(len(t.times))*timesChunkLen {
		t.times = append(t.times, new([timesChunkLen]slotTimes))
	}
	t.n++
	return t.n - 1
}

// eachLive calls fn for every slot holding a message, with its times, in
// slot order.
func (t *slotTable) eachLive(fn func(*inFlightSlot, *slotTimes)) {
	for i := uint32(0); i < t.n; i++ {
		if s := t.at(i); s.live {
			fn(s, t.timesAt(i))
		}
	}
}

// deadlineFIFO is the queue of deadline entries, in fixed-size blocks as
// nsqd/queue/ring.go's Ring (growing copies nothing, emptied blocks are
// reused), with a block length known at compile time so that finding an
// entry is a shift and a mask: pushing and popping an entry per delivery
// through the generic ring's divisions cost a fifth of the table's time
// (BenchmarkInFlightDeliverThenFinish).
type deadlineFIFO struct {
	blocks []*[deadlineBlockLen]deadlineEntry // blocks[0][head] is the front
	head   int
	size   int
	// spare holds emptied blocks for the next pushes, at most
	// maxSpareDeadlineBlocks: the FIFO's length wanders by a batch or two
	// around the in-flight count, so its head and tail cross block
	// boundaries in bursts, and with one spare a burst of retirements
	// dropped blocks that the next burst of pushes allocated again.
	spare []*[deadlineBlockLen]deadlineEntry
}

// 1024 entries of 16 bytes: 16 KB blocks, as the generic ring's.
const (
	deadlineBlockShift     = 10
	deadlineBlockLen       = 1 << deadlineBlockShift
	maxSpareDeadlineBlocks = 4
)

func (q *deadlineFIFO) Len() int { return q.size }

func (q *deadlineFIFO) at(i int) *deadlineEntry {
	i += q.head
	return &q.blocks[i>>deadlineBlockShift][i&(deadlineBlockLen-1)]
}

func (q *deadlineFIFO) push(e deadlineEntry) {
	if q.head+q.size == len(q.blocks)*deadlineBlockLen {
		var b *[deadlineBlockLen]deadlineEntry
		if n := len(q.spare); n > 0 {
			b = q.spare[n-1]
			q.spare[n-1] = nil
			q.spare = q.spare[:n-1]
		} else {
			b = new([deadlineBlockLen]deadlineEntry)
		}
		q.blocks = append(q.blocks, b)
	}
	*q.at(q.size) = e
	q.size++
}

// front is the first entry; the FIFO must not be empty.
func (q *deadlineFIFO) front() *deadlineEntry { return &q.blocks[0][q.head] }

// dropFront removes the first entry; the FIFO must not be empty.
func (q *deadlineFIFO) dropFront() {
	q.head++
	q.size--
	if q.size == 0 {
		q.head = 0
		q.trim()
		return
	}
	if q.head == deadlineBlockLen {
		q.retire(q.blocks[0])
		// Shift the few block pointers down rather than reslicing, so that
		// the slice's spare capacity stays at its end for the next append.
		n := copy(q.blocks, q.blocks[1:])
		q.blocks[n] = nil
		q.blocks = q.blocks[:n]
		q.head = 0
	}
}

// trim retires the blocks past the last entry, keeping one. Entries hold
// no pointers, so what is left in a block needs no clearing.
func (q *deadlineFIFO) trim() {
	used := max((q.head+q.size+deadlineBlockLen-1)>>deadlineBlockShift, 1)
	for i := used; i < len(q.blocks); i++ {
		q.retire(q.blocks[i])
		q.blocks[i] = nil
	}
	q.blocks = q.blocks[:min(used, len(q.blocks))]
}

func (q *deadlineFIFO) retire(b *[deadlineBlockLen]deadlineEntry) {
	if len(q.spare) < maxSpareDeadlineBlocks {
		q.spare = append(q.spare, b)
	}
}

// filter keeps, in order, only the entries for which keep returns true.
func (q *deadlineFIFO) filter(keep func(*deadlineEntry) bool) {
	kept := 0
	for i := 0; i < q.size; i++ {
		if e := *q.at(i); keep(&e) {
			*q.at(kept) = e
			kept++
		}
	}
	q.size = kept
	if kept == 0 {
		q.head = 0
	}
	q.trim()
}
