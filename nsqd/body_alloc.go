package nsqd

import (
	"io"
	"slices"
	"sync/atomic"

	"github.com/nsqgo/nsq/internal/hugepage"
	"github.com/nsqgo/nsq/internal/protocol"
)

// Memory a publisher controls is allocated as its bytes arrive and is held
// only by message bodies (README, "Memory a client controls").
//
//   - A body a client declares is read in steps: room is added only as bytes
//     arrive, at most bodyChunk (or as much as already arrived) at a time, so
//     a request that declares 5 MB and sends one byte costs one chunk.
//   - The messages of a batch (TCP MPUB, HTTP /mpub) share slabs of at most
//     bodyChunk bytes that hold message bodies and nothing else: never the
//     batch's framing, empty lines, trailing bytes or the room a lying size
//     field asked for. A body over slabMaxBody gets an allocation of its own.
//     A held message therefore keeps alive at most its own body or one slab,
//     whatever batch it came in, while an honest batch of small messages
//     still costs one allocation per 64 KiB rather than one per message.
//   - Fresh body memory is shown to the daemon's huge page advisor
//     (internal/hugepage) before the first byte is written into it, so that
//     a heap that grows by holding messages is faulted in 2 MB at a time.

// bodyChunk is the most a body read allocates ahead of the bytes received,
// and the size of a batch's shared slabs.
const bodyChunk = protocol.DeclaredChunk

// slabMaxBody is the largest body that shares a slab; bigger ones cost an
// allocation each, which is small next to copying them.
const slabMaxBody = 8 << 10

// readAppend appends n bytes read from r to dst, growing as they arrive
// (protocol.ReadDeclared).
func readAppend(r io.Reader, dst []byte, n, sizeHint int) ([]byte, error) {
	return protocol.ReadDeclared(nil, r, dst, n, sizeHint)
}

// readAppendFresh is readAppend showing each allocation to fresh before
// writing into it; a nil fresh advises nothing.
func readAppendFresh(fresh *hugepage.Advisor, r io.Reader, dst []byte, n, sizeHint int) ([]byte, error) {
	if fresh == nil {
		return protocol.ReadDeclared(nil, r, dst, n, sizeHint)
	}
	return protocol.ReadDeclared(func(b []byte) { hugepage.Fresh(fresh, b) }, r, dst, n, sizeHint)
}

// slabAllocator hands out message bodies for one batch at a time from
// shared slabs, and reuses the memory of a batch that no queue kept.
//
// Reuse. Once a batch is published and the topic reports that no queue
// kept any of its messages in memory (Topic.publish: every message went to
// disk alone, as with --mem-queue-size=0), nothing in the daemon refers to
// its bodies any more, and recycle makes the batch's slabs and big bodies
// spares that the connection's next batch is read into instead of fresh
// memory. A batch that may be kept (memory queues, deferred messages,
// bounds, errors) is forgotten: its memory belongs to its messages. So in
// disk mode publishing allocates next to nothing instead of its whole
// throughput (README, "Disk path memory reuse"), while a spare is only
// ever memory that no queue, consumer or disk write can still read.
//
// Spares are taken only where they do not make a kept body hold more than
// fresh memory would: a slab from a spare of at most bodyChunk and at most
// twice the slab wanted (shrink still copies an underused last slab out),
// a big body from one at most an eighth bigger than it. At most
// maxSpareBuffers and maxSpareBytes are kept, and dropSpares lets them go
// when the connection idles (a heartbeat's NOP).
type slabAllocator struct {
	fresh *hugepage.Advisor // shown each new slab; nil: none
	slab  []byte
	// members are the bodies cut from slab so far, as batch indexes, so
	// that an underused last slab can be given back (shrink).
	members []int
	// used is the memory the batch's bodies are in (its slabs and big
	// bodies, each at full capacity), for recycle; slabAt is where slab is
	// in it.
	used   [][]byte
	slabAt int // -1: slab is carry's, not the batch's own
	// tail is the batch's last slab once shrink ended it, and carry the
	// one the next batch fills first: see forget.
	tail, carry []byte
	// spare is memory of earlier batches that nothing refers to any more.
	spare      [][]byte
	spareBytes int
	// reusedBytes, when set, counts the body bytes read into spares.
	reusedBytes *atomic.Uint64
}

const (
	// maxSpareBuffers and maxSpareBytes bound the spares of one
	// connection: enough for a batch of 50 bodies of 64 KB.
	maxSpareBuffers = 64
	maxSpareBytes   = 4 << 20
)

// reset starts a batch.
func (a *slabAllocator) reset() {
	a.slab, a.tail = nil, nil
	a.members = a.members[:0]
	clear(a.used)
	a.used = a.used[:0]
}

// alloc returns a body of n <= slabMaxBody bytes for the message at index
// i of the batch, for the caller to fill entirely (a reused slab is not
// zeroed). remaining is how many body bytes the batch still declares
// (including these n); a new slab is sized by it, capped at bodyChunk.
func (a *slabAllocator) alloc(i, n, remaining int) []byte {
	if cap(a.slab)-len(a.slab) < n {
		a.members = a.members[:0]
		if carry := a.carry; cap(carry)-len(carry) >= n {
			// The rest of a kept batch's last slab (forget): not this
			// batch's to give back (shrink) or reuse (recycle).
			a.slab, a.carry, a.slabAt = carry, nil, -1
		} else {
			a.carry = nil
			want := min(max(remaining, n), bodyChunk)
			a.slab = a.takeSpare(n, want, min(2*want, bodyChunk))
			if a.slab != nil {
				a.countReused(cap(a.slab))
			} else {
				// As much room as the allocator hands out for want
				// anyway (its size class, or whole pages): what the
				// batch leaves of it, the next one fills (forget).
				a.slab = slices.Grow([]byte(nil), want)
				hugepage.Fresh(a.fresh, a.slab)
			}
			a.slabAt = len(a.used)
			a.used = append(a.used, a.slab[:0])
		}
	}
	start := len(a.slab)
	a.slab = a.slab[:start+n]
	a.members = append(a.members, i)
	return a.slab[start : start+n : start+n]
}

// readBody reads the n-byte body of message i of the batch from r: into a
// shared slab (n <= slabMaxBody), a spare, or fresh memory grown as the
// bytes arrive. remaining is as for alloc.
func (a *slabAllocator) readBody(r io.Reader, i, n, remaining int) ([]byte, error) {
	if n <= slabMaxBody {
		body := a.alloc(i, n, remaining)
		_, err := io.ReadFull(r, body)
		return body, err
	}
	if body := a.spareBody(n); body != nil {
		_, err := io.ReadFull(r, body)
		return body, err
	}
	body, err := readAppendFresh(a.fresh, r, nil, n, n)
	if err == nil {
		a.bigBody(body)
	}
	return body, err
}

// spareBody returns a spare of n > slabMaxBody bytes for a big body, for
// the caller to fill entirely, or nil when none fits: then the body is read
// into fresh memory as its bytes arrive (readAppendFresh) and handed to
// bigBody.
func (a *slabAllocator) spareBody(n int) []byte {
	b := a.takeSpare(n, n, n+n/8)
	if b == nil {
		return nil
	}
	a.used = append(a.used, b)
	a.countReused(n)
	return b[:n:n]
}

// countReused adds n bytes to the reuse count, when there is one.
func (a *slabAllocator) countReused(n int) {
	if a.reusedBytes != nil {
		a.reusedBytes.Add(uint64(n))
	}
}

// bigBody records a big body read into fresh memory as part of the batch.
func (a *slabAllocator) bigBody(b []byte) { a.used = append(a.used, b[:0]) }

// takeSpare removes and returns the spare whose capacity is nearest to
// want among those of at least n and at most most, emptied; nil when there
// is none.
func (a *slabAllocator) takeSpare(n, want, most int) []byte {
	best, bestOff := -1, 0
	for j, b := range a.spare {
		c := cap(b)
		if c < n || c > most {
			continue
		}
		off := c - want
		if off < 0 {
			off = -off
		}
		if best < 0 || off < bestOff {
			best, bestOff = j, off
		}
	}
	if best < 0 {
		return nil
	}
	b := a.spare[best]
	last := len(a.spare) - 1
	a.spare[best] = a.spare[last]
	a.spare[last] = nil
	a.spare = a.spare[:last]
	a.spareBytes -= cap(b)
	return b[:0]
}

// shrink copies the bodies of the last slab into one of their exact size
// when they fill less than half of it (the batch declared more than it
// sent), so they do not keep the unused room alive; the slab itself is then
// referred to by no body, and kept as a spare. It ends the batch's
// allocations.
func (a *slabAllocator) shrink(batch []Message) {
	used := len(a.slab)
	a.tail = a.slab
	if a.slabAt >= 0 && used > 0 && used < cap(a.slab)/2 {
		exact := make([]byte, 0, used)
		for _, i := range a.members {
			body := batch[i].Body
			start := len(exact)
			exact = append(exact, body...)
			batch[i].Body = exact[start:len(exact):len(exact)]
		}
		a.addSpare(a.used[a.slabAt])
		a.used[a.slabAt] = exact[:0]
		a.tail = nil
	}
	a.slab = nil
	a.members = a.members[:0]
}

// recycle ends a batch that nothing refers to any more (the topic said no
// queue kept any of it, and the batch slice was cleared): its memory
// becomes spares, up to the bounds.
func (a *slabAllocator) recycle() {
	for _, b := range a.used {
		a.addSpare(b)
	}
	a.carry = nil // the batch's last slab is a spare now, or a kept batch's
	a.reset()
}

// forget ends a batch whose bodies may be kept: its memory is theirs. The
// room left in its last slab (shrink's tail) is where the next batch's
// first bodies go, instead of fresh memory: a slab's last bytes are not
// left empty for as long as its messages are queued (a batch of 200
// bodies of 200 bytes left 960 of the 40,960 bytes the allocator gives for
// 40,000, 2.4%). A body read into that room is referred to by its own
// message only, and keeps alive the slab an earlier message already does:
// a message still keeps at most its body or one slab.
func (a *slabAllocator) forget() {
	a.carry = a.tail
	a.reset()
}

// addSpare keeps b for reuse, unless the spares are at their bounds.
func (a *slabAllocator) addSpare(b []byte) {
	if len(a.spare) >= maxSpareBuffers || a.spareBytes+cap(b) > maxSpareBytes {
		return
	}
	a.spare = append(a.spare, b[:0])
	a.spareBytes += cap(b)
}

// dropSpares lets the collector have the spares (an idle connection).
func (a *slabAllocator) dropSpares() {
	a.carry = nil // its slab is the kept messages' only
	clear(a.spare)
	a.spare = a.spare[:0]
	a.spareBytes = 0
}

// repackBodies copies the bodies of msgs, which alias a request buffer,
// into slabs holding only message bytes, so that the buffer (framing,
// empty lines, trailing bytes) is not kept alive by the messages.
func repackBodies(msgs []Message) {
	remaining := 0
	for i := range msgs {
		if n := len(msgs[i].Body); n <= slabMaxBody {
			remaining += n
		}
	}
	var a slabAllocator
	for i := range msgs {
		n := len(msgs[i].Body)
		var body []byte
		if n <= slabMaxBody {
			body = a.alloc(i, n, remaining)
			remaining -= n
		} else {
			body = make([]byte, n)
		}
		copy(body, msgs[i].Body)
		msgs[i].Body = body
	}
}
