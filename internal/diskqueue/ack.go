package diskqueue

import (
	"cmp"
	"errors"
	"io/fs"
	"math"
	"os"
	"slices"
)

// Acknowledgements. Read hands out records; a record is finished only when
// the caller acknowledges its Seq. The metadata's read position is the start
// of the oldest record read and not acknowledged (the "frontier"), so that a
// crash or a Close with records still in flight delivers them again (see
// FORMAT.md, "Acknowledgements").
//
// The tracker below remembers where each outstanding record starts. Seqs are
// handed out consecutively, so a ring indexed by seq-base finds a record in
// O(1). A record that stays unacknowledged while many later ones are
// acknowledged (a message deferred for an hour, say) would otherwise pin
// every later slot: when the ring is full and at least half of it is
// acknowledged, its older half is evicted, the unacknowledged records of
// that half moving to a sorted side list ("stragglers"). Memory is thus
// proportional to the records outstanding, not to the span between the
// oldest outstanding record and the newest one read.

// minRing is the ring's smallest size; a power of two.
const minRing = 64

// ackEntry is one record returned by Read and possibly not yet finished.
type ackEntry struct {
	file, pos int64 // where the record starts: where reading resumes to deliver it again
	// slab holds the record's Data with Options.ReuseReads (readmem.go);
	// 0 for none. It sits in what would otherwise be padding.
	slab  uint32
	acked bool
	// afterGap: the reader skipped something (damage, a finished record
	// being replayed) between the previous record and this one, so the two
	// must not share a span in the metadata (progress.go).
	afterGap bool
}

// ringEntry is an ackEntry as the ring holds it, in 16 bytes instead of 24:
// a ring sized for thousands of records in flight (16,384 entries for
// nsqd's two consumers of RDY 2500 in the disk benchmark) is then 256 KB,
// not 384 KB, of the memory a departing consumer's requeue finds live
// (README, "Peak RSS").
type ringEntry struct {
	pos int64
	// file is the record's segment number less tracker.fileBase.
	file uint32
	// bits holds the slab id (below maxSlabID, readmem.go) and the flags.
	bits uint32
}

const (
	entryAcked    = 1 << 31
	entryAfterGap = 1 << 30
	// maxSlabID bounds the slab ids an entry can hold: the bits left by the
	// flags.
	maxSlabID = entryAfterGap - 1
)

func (r *ringEntry) acked() bool  { return r.bits&entryAcked != 0 }
func (r *ringEntry) slab() uint32 { return r.bits & maxSlabID }

// straggler is an outstanding record evicted from the ring.
type straggler struct {
	seq uint64
	ackEntry
}

// tracker holds the records returned by Read and not yet acknowledged.
// Guarded by Queue.amu.
//
// Invariants: seqs [base, base+n) live in the ring, the one equal to base at
// ring[head]; ring[head] is unacknowledged when n > 0, as is
// old[oldHead] when oldHead < len(old); old is sorted by seq and every seq
// in it is below base. A seq below base that is not in old[oldHead:] was
// acknowledged (or dropped by Empty).
type tracker struct {
	ring []ringEntry // len is 0 or a power of two
	// fileBase is what the ring's file numbers are relative to: no larger
	// than the file of any entry in it.
	fileBase  int64
	head      int
	n         int
	base      uint64 // seq of ring[head]; base+n is the next seq handed out
	ringAcked int    // acknowledged entries in the ring (never ring[head])

	old      []straggler
	oldHead  int // old[:oldHead] are acknowledged and dropped
	oldAcked int // acknowledged entries in old[oldHead:]

	unacked int64
	// peak is the most entries the ring held since the last shrink: a ring
	// that a steady reader fills again between periodic syncs is kept, not
	// shrunk to what happens to be outstanding at the sync and regrown by
	// doubling (each doubling garbage for the collector) right after.
	peak int
}

// firstSeq is the first seq of an open queue: zero is never a valid seq, so
// the zero value of a caller's field acknowledges nothing.
const firstSeq = 1

// push registers a record and returns its seq.
func (t *tracker) push(e ackEntry) uint64 {
	if t.n == len(t.ring) {
		t.makeRoom()
	}
	if t.n == 0 {
		t.fileBase = e.file
	}
	file := uint64(e.file - t.fileBase)
	if file > math.MaxUint32 {
		// Beyond what an entry holds (four billion segments past the
		// oldest record in the ring, or a reader moved back): every
		// entry moves to the stragglers, which hold whole numbers.
		t.evict(t.n)
		t.fileBase, file = e.file, 0
	}
	bits := e.slab
	if e.afterGap {
		bits |= entryAfterGap
	}
	r := &t.ring[(t.head+t.n)&(len(t.ring)-1)]
	r.pos, r.file, r.bits = e.pos, uint32(file), bits
	t.n++
	t.peak = max(t.peak, t.n)
	t.unacked++
	return t.base + uint64(t.n) - 1
}

// makeRoom frees a ring slot: by evicting the older half when at least half
// of the ring is acknowledged (those entries only wait for an older one),
// else by doubling the ring. A ring therefore grows only while more than
// half of it is outstanding, which bounds it by 4x the records outstanding.
func (t *tracker) makeRoom() {
	switch {
	case len(t.ring) == 0:
		t.ring, t.head = make([]ringEntry, minRing), 0
	case t.ringAcked*2 >= t.n:
		t.evict(t.n / 2)
	default:
		t.resize(2 * len(t.ring))
	}
}

// evict moves the k oldest ring entries out: outstanding ones to old,
// acknowledged ones are dropped.
func (t *tracker) evict(k int) {
	mask := len(t.ring) - 1
	for i := range k {
		e := &t.ring[(t.head+i)&mask]
		if e.acked() {
			t.ringAcked--
		} else {
			t.old = append(t.old, straggler{seq: t.base + uint64(i), ackEntry: t.wide(e)})
		}
		*e = ringEntry{}
	}
	t.head = (t.head + k) & mask
	t.base += uint64(k)
	t.n -= k
	if t.n > 0 && t.ring[t.head].acked() {
		t.ringAcked--
		t.popRing()
	}
}

// wide is ring entry r as an ackEntry.
func (t *tracker) wide(r *ringEntry) ackEntry {
	return ackEntry{
		file: t.fileBase + int64(r.file), pos: r.pos, slab: r.slab(),
		acked: r.acked(), afterGap: r.bits&entryAfterGap != 0,
	}
}

// at is the ring's i-th entry from its head, i < n.
func (t *tracker) at(i int) ackEntry {
	return t.wide(&t.ring[(t.head+i)&(len(t.ring)-1)])
}

// resize moves the ring's entries, in order, to a ring of size entries.
func (t *tracker) resize(size int) {
	r := make([]ringEntry, size)
	mask := len(t.ring) - 1
	for i := range t.n {
		r[i] = t.ring[(t.head+i)&mask]
	}
	t.ring, t.head = r, 0
}

// popRing drops the acknowledged ring[head] and every acknowledged entry
// right after it, so that the frontier moves past them.
func (t *tracker) popRing() {
	mask := len(t.ring) - 1
	for {
		t.ring[t.head] = ringEntry{}
		t.head = (t.head + 1) & mask
		t.base++
		t.n--
		if t.n == 0 || !t.ring[t.head].acked() {
			return
		}
		t.ringAcked--
	}
}

// ack marks seq finished and returns its entry's slab; unknown and already
// acknowledged seqs are ignored (slab 0).
func (t *tracker) ack(seq uint64) (slab uint32) {
	if seq < t.base {
		return t.ackOld(seq)
	}
	d := seq - t.base
	if d >= uint64(t.n) {
		return 0
	}
	e := &t.ring[(t.head+int(d))&(len(t.ring)-1)]
	if e.acked() {
		return 0
	}
	e.bits |= entryAcked
	t.unacked--
	slab = e.slab()
	if d != 0 {
		t.ringAcked++
		return slab
	}
	t.popRing()
	return slab
}

// outstandingSlab returns the slab of seq's record when seq is
// outstanding; ok is false when it is not.
func (t *tracker) outstandingSlab(seq uint64) (slab uint32, ok bool) {
	if seq < t.base {
		live := t.old[t.oldHead:]
		i, found := slices.BinarySearchFunc(live, seq, cmpStraggler)
		if !found || live[i].acked {
			return 0, false
		}
		return live[i].slab, true
	}
	d := seq - t.base
	if d >= uint64(t.n) {
		return 0, false
	}
	e := &t.ring[(t.head+int(d))&(len(t.ring)-1)]
	if e.acked() {
		return 0, false
	}
	return e.slab(), true
}

func cmpStraggler(s straggler, seq uint64) int { return cmp.Compare(s.seq, seq) }

// ackOld acknowledges a straggler: O(log stragglers), and stragglers are
// the rare records outstanding for longer than a ring's worth of reads.
func (t *tracker) ackOld(seq uint64) (slab uint32) {
	live := t.old[t.oldHead:]
	i, found := slices.BinarySearchFunc(live, seq, cmpStraggler)
	if !found || live[i].acked {
		return 0
	}
	live[i].acked = true
	t.unacked--
	slab = live[i].slab
	if i != 0 {
		t.oldAcked++
	} else {
		t.oldHead++
		for t.oldHead < len(t.old) && t.old[t.oldHead].acked {
			t.oldHead++
			t.oldAcked--
		}
	}
	if t.oldHead == len(t.old) {
		t.old, t.oldHead, t.oldAcked = t.old[:0], 0, 0
		return slab
	}
	// Compact in place once most of old is dead: O(len) for at least len/2
	// acks, so O(1) amortized, and no allocation.
	if dead := t.oldHead + t.oldAcked; len(t.old) >= 32 && dead*2 > len(t.old) {
		t.compactOld()
	}
	return slab
}

func (t *tracker) compactOld() {
	j := 0
	for _, s := range t.old[t.oldHead:] {
		if !s.acked {
			t.old[j] = s
			j++
		}
	}
	t.old, t.oldHead, t.oldAcked = t.old[:j], 0, 0
}

// frontier returns the oldest outstanding record; ok is false when nothing
// is outstanding.
func (t *tracker) frontier() (seq uint64, e ackEntry, ok bool) {
	if t.oldHead < len(t.old) {
		s := t.old[t.oldHead]
		return s.seq, s.ackEntry, true
	}
	if t.n > 0 {
		return t.base, t.wide(&t.ring[t.head]), true
	}
	return 0, ackEntry{}, false
}

// next is the seq the next pushed record gets.
func (t *tracker) next() uint64 { return t.base + uint64(t.n) }

// reset forgets every outstanding record. Seqs keep increasing, so acks of
// the forgotten records stay no-ops instead of hitting later records.
func (t *tracker) reset() {
	t.base = t.next()
	clear(t.ring)
	t.head, t.n, t.ringAcked = 0, 0, 0
	t.old, t.oldHead, t.oldAcked = nil, 0, 0
	t.unacked = 0
}

// shrink gives back memory a burst of outstanding records left behind: a
// ring that held at most an eighth of its size since the last shrink. It
// allocates, so it runs from the periodic sync, never from ack.
func (t *tracker) shrink() {
	if len(t.ring) > minRing && t.peak*8 <= len(t.ring) {
		size := minRing
		for size < 2*t.peak {
			size *= 2
		}
		t.resize(size)
	}
	t.peak = t.n
	if live := len(t.old) - t.oldHead; cap(t.old) > 64 && live*4 <= cap(t.old) {
		s := make([]straggler, 0, max(2*live, 16))
		for _, x := range t.old[t.oldHead:] {
			if !x.acked {
				s = append(s, x)
			}
		}
		t.old, t.oldHead, t.oldAcked = s, 0, 0
	}
}

// Ack marks records returned by Read, identified by their Record.Seq, as
// finished: the persisted read position may then move past them, and a
// segment whose records are all acknowledged is removed at the next Read or
// sync. Unknown and already acknowledged seqs are ignored, acks may come in
// any order, and Ack is safe to call concurrently with every other method,
// including after Close (where it does nothing useful).
//
// Ack takes one short lock and makes no system call and no allocation; its
// cost is O(1) amortized (O(log s) for a record that stayed outstanding
// while a whole ring of later records went by, s being how many did).
//
// With Options.ReuseReads, the memory of a record acknowledged with Ack is
// never reused: the caller may go on using its Data. Done is the
// acknowledgement that lets it be reused.
func (q *Queue) Ack(seqs ...uint64) { q.ack(seqs) }

// Done acknowledges seq as Ack does, and with Options.ReuseReads also says
// that nothing reads the record's Data (nor anything sliced from it) any
// more: once every record that shares its memory is done, a later Read may
// overwrite that memory (readmem.go). It takes a single seq so that a call
// through an interface allocates nothing.
func (q *Queue) Done(seq uint64) { q.done(seq) }

// Keep says that the Data of these outstanding records will be used past
// their acknowledgement, however they are acknowledged: with
// Options.ReuseReads, their memory is then never reused. Unknown and
// acknowledged seqs are ignored. Without ReuseReads it does nothing.
func (q *Queue) Keep(seqs ...uint64) { q.keep(seqs) }

// Unacked is the number of records returned by Read and not yet
// acknowledged. They are not part of Depth, and they are delivered again
// after a restart.
func (q *Queue) Unacked() int64 { return q.unacked() }

// removeAcked removes the segments the reader has left whose records are
// all acknowledged: those below the frontier's segment (the reader's, when
// nothing is outstanding). Removing one before the metadata moves past it is
// safe: Open moves a read position whose segment is gone to the next one, and
// every record of the removed segment was acknowledged.
func (q *Queue) removeAcked() {
	if q.opts.Log {
		q.removeForCursors()
		return
	}
	q.unlinkSegments(q.claimRemovals())
}

// claimRemovals claims the segments below the frontier that no earlier
// claim took, [from, limit), for its caller to unlink.
func (q *Queue) claimRemovals() (from, limit int64) {
	q.mu.Lock()
	defer q.mu.Unlock()
	q.amu.Lock()
	limit = q.frontierLocked().file
	q.amu.Unlock()
	from = q.removeFrom
	// Claimed under mu, so that concurrent callers (Read and the periodic
	// sync) never remove the same range twice.
	q.removeFrom = max(from, limit)
	return from, limit
}

// unlinkSegments removes the claimed segments [from, limit).
func (q *Queue) unlinkSegments(from, limit int64) {
	for n := from; n < limit; n++ {
		path := segmentPath(q.opts.Dir, q.opts.Name, n)
		if err := os.Remove(path); err != nil && !errors.Is(err, fs.ErrNotExist) {
			// Harmless: Open removes segments below the read position.
			q.logf("cannot remove read segment %s: %s", path, err)
		}
	}
}
