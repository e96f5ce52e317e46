package nsqd

import (
	"fmt"
	"sync"
)

// heldMessages keeps what a topic cannot hand to a channel yet (it has no
// channel, is paused, or is starting): a memory ring up to a bound, then
// the topic's backend. An ephemeral topic has no backend: what does not
// fit is dropped, as upstream does.
//
// It has locks of its own so that the topic's lock is never held across
// the backend's I/O:
//
//   - mu guards the ring and the room promised to puts in progress; it is
//     held only for short sections and nothing is locked under it.
//   - writeMu serialises writes to the backend (diskBackend reuses its
//     encode buffers across calls) and is held across them; the caller
//     holds no topic lock then.
//
// Reads and acknowledgements of the backend need no lock here: the topic's
// one drain goroutine is its only reader, and the disk queue takes its own
// locks.
//
// A batch that does not fit in memory is put in three steps, so that the
// caller can let go of its own lock while the disk part is written:
// reserve decides and promises the memory room; writeOverflow writes the
// rest to the backend; settle then fills the promised room only if the
// write succeeded, so either the whole batch is kept or none of it is.
type heldMessages struct {
	bound   int          // memory bound (--mem-queue-size)
	backend BackendQueue // nil: ephemeral; set at creation, never replaced

	mu       sync.Mutex
	memory   ring[Message]
	promised int // memory room reserved by puts whose disk part is being written

	writeMu sync.Mutex
}

func newHeldMessages(bound int, backend BackendQueue) *heldMessages {
	return &heldMessages{bound: max(bound, 0), backend: backend}
}

// reserve keeps msgs in memory when they all fit. When they do not and
// there is no backend, it keeps what fits and reports how many it dropped.
// Otherwise it keeps nothing yet and returns overflow: the caller must pass
// msgs[room:] to writeOverflow and then call settle(msgs[:room], ...).
func (h *heldMessages) reserve(msgs []Message) (room int, overflow bool, dropped int) {
	h.mu.Lock()
	defer h.mu.Unlock()
	room = max(h.bound-h.memory.Len()-h.promised, 0)
	if room >= len(msgs) {
		h.memory.Push(msgs...)
		return len(msgs), false, 0
	}
	if h.backend == nil {
		h.memory.Push(msgs[:room]...)
		return room, false, len(msgs) - room
	}
	h.promised += room
	return room, true, 0
}

// writeOverflow writes the part of a reserved batch beyond memory to the
// backend: one grouped write, durable by the backend's sync policy when it
// returns nil.
func (h *heldMessages) writeOverflow(msgs []Message) error {
	h.writeMu.Lock()
	defer h.writeMu.Unlock()
	if err := h.backend.Put(msgs); err != nil {
		return fmt.Errorf("write to disk: %w", err)
	}
	return nil
}

// settle ends a reserved put: the promised room is given back, and filled
// with kept when the disk part was written.
func (h *heldMessages) settle(kept []Message, written bool) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.promised -= len(kept)
	if written {
		h.memory.Push(kept...)
	}
}

// put holds a whole batch or none of it, in one call: for callers that
// may wait for the disk write where they are.
func (h *heldMessages) put(msgs []Message) (dropped int, err error) {
	room, overflow, dropped := h.reserve(msgs)
	if !overflow {
		return dropped, nil
	}
	err = h.writeOverflow(msgs[room:])
	h.settle(msgs[:room], err == nil)
	return 0, err
}

// takeMemory moves the memory part, oldest first, into dst.
func (h *heldMessages) takeMemory(dst []Message) []Message {
	h.mu.Lock()
	defer h.mu.Unlock()
	dst = h.memory.PopInto(dst, h.memory.Len())
	h.memory.Clear()
	return dst
}

// clearMemory drops the memory part.
func (h *heldMessages) clearMemory() {
	h.mu.Lock()
	h.memory.Clear()
	h.mu.Unlock()
}

// readDisk moves up to max messages from the backend into dst, and their
// records' sequence numbers into seqs: the records stay on disk until
// passed to ack. The messages carry no disk bookkeeping of the topic's (a
// channel that stores them keeps records of its own). One reader at a time.
func (h *heldMessages) readDisk(dst []Message, seqs []uint64, max int) ([]Message, []uint64, error) {
	if h.backend == nil {
		return dst, seqs, nil
	}
	return h.backend.ReadInto(dst, seqs, max)
}

// ack releases the records of messages read from disk that every channel
// has stored.
func (h *heldMessages) ack(seqs []uint64) {
	if h.backend != nil && len(seqs) > 0 {
		h.backend.Ack(seqs...)
	}
}

// memoryLen is the number of messages held in memory.
func (h *heldMessages) memoryLen() int64 {
	h.mu.Lock()
	defer h.mu.Unlock()
	return int64(h.memory.Len())
}

// diskDepth is the number of messages on disk not yet read.
func (h *heldMessages) diskDepth() int64 {
	if h.backend == nil {
		return 0
	}
	return h.backend.Depth()
}

// depth is everything held: memory and disk.
func (h *heldMessages) depth() int64 { return h.memoryLen() + h.diskDepth() }

// emptyDisk drops the disk part.
func (h *heldMessages) emptyDisk() error {
	if h.backend == nil {
		return nil
	}
	return h.backend.Empty()
}

// flushMemory writes the memory part to the backend (at shutdown, so a
// restart finds it) and reports how many messages it wrote. Without a
// backend the memory part is left as it is.
func (h *heldMessages) flushMemory() (int, error) {
	if h.backend == nil {
		return 0, nil
	}
	held := h.takeMemory(nil)
	if len(held) == 0 {
		return 0, nil
	}
	return len(held), h.writeOverflow(held)
}

// close releases the backend, keeping (or, deleted, removing) what it holds.
func (h *heldMessages) close(deleted bool) error {
	if h.backend == nil {
		return nil
	}
	if deleted {
		return h.backend.Delete()
	}
	return h.backend.Close()
}
