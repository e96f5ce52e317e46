package nsqd

import (
	"io"

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

// slabAllocator hands out message bodies for one batch from shared slabs.
type slabAllocator struct {
	fresh *hugepage.Advisor // shown each new slab; nil: none
	slab  []byte
	// members are the bodies cut from slab so far, as batch indexes, so
	// that an underused last slab can be given back (shrink).
	members []int
}

// reset starts a batch.
func (a *slabAllocator) reset() {
	a.slab = nil
	a.members = a.members[:0]
}

// alloc returns a zeroed body of n <= slabMaxBody bytes for the message at
// index i of the batch. remaining is how many body bytes the batch still
// declares (including these n); a new slab is sized by it, capped at
// bodyChunk.
func (a *slabAllocator) alloc(i, n, remaining int) []byte {
	if cap(a.slab)-len(a.slab) < n {
		a.slab = make([]byte, 0, min(max(remaining, n), bodyChunk))
		hugepage.Fresh(a.fresh, a.slab)
		a.members = a.members[:0]
	}
	start := len(a.slab)
	a.slab = a.slab[:start+n]
	a.members = append(a.members, i)
	return a.slab[start : start+n : start+n]
}

// shrink copies the bodies of the last slab into one of their exact size
// when they fill less than half of it (the batch declared more than it
// sent), so they do not keep the unused room alive. It ends the batch.
func (a *slabAllocator) shrink(batch []Message) {
	used := len(a.slab)
	if used > 0 && used < cap(a.slab)/2 {
		exact := make([]byte, 0, used)
		for _, i := range a.members {
			body := batch[i].Body
			start := len(exact)
			exact = append(exact, body...)
			batch[i].Body = exact[start:len(exact):len(exact)]
		}
	}
	a.reset()
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
