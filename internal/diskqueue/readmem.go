package diskqueue

import "math/bits"

// Read memory reuse (Options.ReuseReads). Every Read copies its records out
// of the segment read buffer into memory of their own, one slab per run of
// records. Without reuse each slab is a fresh allocation the garbage
// collector reclaims once nothing points into it; a queue read as fast as
// nsqd's disk path reads allocates its whole throughput that way, and the
// heap the collector lets grow between cycles is what peak RSS measures.
//
// With reuse, a slab goes back to a free list once every record in it is
// finished with Done, and a later Read copies into it. That is safe
// only under the caller's promise that Done means "nothing reads this
// record's Data any more". Acknowledging with Ack, or calling Keep, makes
// no such promise: the slab is never reused (the collector reclaims it as
// before), so a caller that keeps a body past its acknowledgement (a
// message that moves to memory, or to another queue) stays correct without
// copying. nsqd/queue/reuse.go is the caller, and says when it uses which.
//
// Everything here is guarded by Queue.amu, as the tracker is: an entry
// names its record's slab by a small id kept in what was ackEntry's
// padding, so tracking slabs costs the tracker no memory.

// maxReadBytes is how much record Data one Read returns at most (at least
// one record, however big). What a Read returns is held until the caller
// acknowledges it: nsqd reads a consumer's whole credit batch (up to 256
// messages) before writing any of it, so with 64 KB messages an unbounded
// Read held 16 MB per consumer on top of what its socket buffers hold, and
// a daemon consuming big records from disk peaked at twice the memory it
// needed. A batch of small records (256 nsqd messages of 200 bytes are
// 58 KB) never reaches the bound; big ones come a few per Read, and a
// caller with credit left simply reads again, so the consume rate is
// unchanged (README, "Peak RSS").
const maxReadBytes = 256 << 10

// slab is memory that records of one Read were copied into. A slab holds
// the records of one Read only: a slow consumer's message must not keep a
// fast one's memory from reuse.
type slab struct {
	buf   []byte // len is what the Read used of it; cap is its class's size
	id    uint32 // index+1 in readMemory.live; 0 once the slab is done with
	class uint8  // the free list it goes back to
	refs  int    // records handed out and not yet acknowledged
	// kept: a record was acknowledged with Ack, or passed to Keep, so its
	// bytes may still be in use: the slab is never reused.
	kept bool
}

// Small slab sizes are powers of two from minSlab to maxSlab. A Read fills
// maxSlab slabs one after the other, a record that does not fit the rest
// of one starting the next, and puts what remains once it is less than
// maxSlab in one slab of the smallest size that holds it: every slab but a
// Read's last is nearly full, and its last is at least half full (or
// minSlab).
//
// A record larger than maxSlab gets a big slab of its own, of the smallest
// big class that holds it: bigSteps classes per doubling above maxSlab, so
// at most an eighth of a big slab is unused (a 64 KB nsqd body, 65,562
// bytes with its header, takes a 72 KB slab, the size the Go allocator
// would round a fresh copy of it to). Reusing them matters more than the
// small ones: each is a large allocation of its own, whose first touch of
// fresh pages and whose share of the collector's heap goal cost far more
// than the copy. A record larger than maxReused (beyond nsqd's default
// --max-msg-size) gets memory of its own, never reused.
const (
	minSlabShift = 8
	maxSlabShift = 13
	minSlab      = 1 << minSlabShift
	maxSlab      = 1 << maxSlabShift
	smallClasses = maxSlabShift - minSlabShift + 1

	bigStepShift = 3
	bigSteps     = 1 << bigStepShift
	maxReused    = 4 << 20
)

// slabClass is the class of the smallest slab of at least n bytes
// (n <= maxReused).
func slabClass(n int) int {
	if n <= minSlab {
		return 0
	}
	bitLen := bits.Len(uint(n - 1)) // n is in (1<<(bitLen-1), 1<<bitLen]
	if n <= maxSlab {
		return bitLen - minSlabShift
	}
	// The doubling (1<<(bitLen-1), 1<<bitLen] is cut in bigSteps steps of
	// 1<<stepShift; n rounds up to a whole step, steps+1 .. 2*steps of them.
	stepShift := bitLen - 1 - bigStepShift
	steps := (n + 1<<stepShift - 1) >> stepShift
	return smallClasses + (bitLen-1-maxSlabShift)*bigSteps + steps - bigSteps - 1
}

// slabSize is the capacity of the slabs of class c.
func slabSize(c int) int {
	if c < smallClasses {
		return minSlab << c
	}
	big := c - smallClasses
	doubling, step := big/bigSteps, big%bigSteps
	return (bigSteps + step + 1) << (maxSlabShift - bigStepShift + doubling)
}

// freeList is the free slabs of one class, a stack, and the fewest it held
// since the last trim: that many at its bottom were not needed.
type freeList struct {
	slabs   []*slab
	minFree int
}

// readMemory tracks the slabs with records outstanding and keeps the free
// ones for reuse, by size.
//
// The free lists are not bounded by a size: a reader keeps what its busiest
// moment since the last periodic sync needed, since that memory was
// allocated anyway and dropping it would only make the next burst allocate
// again. trim, from the periodic sync, bounds them over time: an idle reader
// gives every free slab back, a busy one those it did not need since the
// sync before (the low-water mark of each free list).
type readMemory struct {
	live    []*slab  // by id-1; nil where the id is free
	freeIDs []uint32 // ids of nil entries of live
	// free is indexed by class, as long as the largest class freed: a
	// queue of small records never has a big class's list.
	free []freeList
	// fresh is shown each new slab (Options.FreshReadMemory); may be nil.
	fresh func([]byte)
}

// take returns an empty slab for n more bytes of a Read (n <= maxReused),
// registered as live with no records yet: a free one of n's class when
// there is one; else, for a small class, the largest free smaller slab that
// holds the Read's next record (atLeast bytes), which the Read fills and
// follows with another; else a new one of n's class.
//
// Without that second choice each small class kept its own free slabs:
// measured in nsqd's disk benchmark (two consumers of RDY 2500), bursts of
// reads of a record or two left some 350 KB of 256 B to 4 KB slabs free for
// whole seconds while the 8 KB class allocated new ones (README, "Peak
// RSS").
func (m *readMemory) take(n, atLeast int) *slab {
	c := slabClass(n)
	var s *slab
	if c < len(m.free) && len(m.free[c].slabs) > 0 {
		s = m.free[c].pop()
	} else if d := m.smallerFree(min(c, len(m.free))-1, atLeast); d >= 0 {
		s = m.free[d].pop()
	}
	if s != nil {
		s.buf = s.buf[:0]
	} else {
		s = &slab{buf: make([]byte, 0, slabSize(c)), class: uint8(c)}
		if m.fresh != nil {
			m.fresh(s.buf)
		}
	}
	if k := len(m.freeIDs); k > 0 {
		s.id = m.freeIDs[k-1]
		m.freeIDs = m.freeIDs[:k-1]
	} else if len(m.live) < maxSlabID {
		m.live = append(m.live, nil)
		s.id = uint32(len(m.live))
	} else {
		// More slabs outstanding than a tracker entry can name (ack.go):
		// this one is not tracked, so it is never reused (id 0, as for
		// memory of a record's own).
		return s
	}
	m.live[s.id-1] = s
	return s
}

// pop takes the slab on top of f.
func (f *freeList) pop() *slab {
	k := len(f.slabs) - 1
	s := f.slabs[k]
	f.slabs[k] = nil
	f.slabs = f.slabs[:k]
	f.minFree = min(f.minFree, k)
	return s
}

// smallerFree is the largest small class from c down whose free list has a
// slab and whose slabs hold atLeast bytes; -1 when there is none.
func (m *readMemory) smallerFree(c, atLeast int) int {
	for ; c >= 0 && c < smallClasses && slabSize(c) >= atLeast; c-- {
		if len(m.free[c].slabs) > 0 {
			return c
		}
	}
	return -1
}

// ref counts one more record handed out from slab id.
func (m *readMemory) ref(id uint32) {
	if id != 0 {
		m.live[id-1].refs++
	}
}

// done accounts for one record of slab id acknowledged; keep says its bytes
// may still be in use. The slab goes to the free list once its last record
// is acknowledged, unless one of them may still be in use.
func (m *readMemory) done(id uint32, keep bool) {
	if id == 0 || int(id) > len(m.live) {
		return
	}
	s := m.live[id-1]
	if s == nil {
		return
	}
	s.kept = s.kept || keep
	s.refs--
	if s.refs > 0 {
		return
	}
	m.retire(s)
	if s.kept {
		return // the collector reclaims it once nothing points into it
	}
	m.putFree(s)
}

// untake gives back a slab take returned that holds no record (a read into
// it failed): it is free again at once.
func (m *readMemory) untake(s *slab) {
	if s.id != 0 {
		m.retire(s)
	}
	s.buf = s.buf[:0]
	m.putFree(s)
}

// retire frees slab s's id: no record refers to s any more.
func (m *readMemory) retire(s *slab) {
	m.live[s.id-1] = nil
	m.freeIDs = append(m.freeIDs, s.id)
	s.id = 0
}

// putFree puts s on its size class's free list, for take to reuse.
func (m *readMemory) putFree(s *slab) {
	c := int(s.class)
	for len(m.free) <= c {
		m.free = append(m.free, freeList{})
	}
	m.free[c].slabs = append(m.free[c].slabs, s)
}

// keep marks slab id as never to be reused.
func (m *readMemory) keep(id uint32) {
	if id != 0 && int(id) <= len(m.live) {
		if s := m.live[id-1]; s != nil {
			s.kept = true
		}
	}
}

// forget drops every slab: those with records outstanding (after Empty, whose
// records can no longer be acknowledged) are left to the collector, and so
// are the free ones.
func (m *readMemory) forget() {
	*m = readMemory{fresh: m.fresh}
}

// trim gives back the free slabs an idle reader holds, or those a busy
// one did not need since the last trim.
func (m *readMemory) trim(idle bool) {
	empty := true
	for c := range m.free {
		f := &m.free[c]
		drop := f.minFree
		if idle {
			drop = len(f.slabs)
		}
		// Each free list is a stack: its bottom minFree slabs were not
		// taken since the last trim. Those go.
		n := copy(f.slabs, f.slabs[drop:])
		clear(f.slabs[n:])
		f.slabs = f.slabs[:n]
		if n == 0 {
			f.slabs = nil
		} else {
			empty = false
		}
		f.minFree = n
	}
	if empty {
		m.free = nil
	}
	if len(m.freeIDs) == len(m.live) {
		m.live, m.freeIDs = nil, nil
	}
}
