package queue

import (
	"fmt"
	"slices"
	"sync"
	"sync/atomic"

	"github.com/nsqgo/nsq/internal/diskqueue"
)

// Held is where a topic keeps what it cannot hand to a channel yet (it has
// no channel, is paused, or is starting): the channel queue's memory ring
// up to MemSize and its disk backlog past it, with the same ring, record
// encoding, grouped write (Pending.write), Pending/Commit/Settle steps and
// Empty ordering (emptyGate) as Queue, and none of what only a channel
// needs: no deferral (DeliverAt travels in the record and is the
// channel's business), no in-flight messages, no dead set, no receipts.
// Without a disk (an ephemeral topic) what does not fit is dropped.
//
// Concurrency. Unlike Queue, Held serialises its memory itself with mu, a
// leaf held only for short sections: a topic's publishers hold the topic's
// lock only for reading. Disk I/O never runs under mu. A batch that does
// not fit in memory is put in steps, so that the caller holds no lock of
// its own across the write: Put reserves its memory room and returns a
// *Pending; Commit writes the rest (many Commits may run at once and share
// the disk queue's group commit); Settle fills the reserved room only if
// the write succeeded, so either the whole batch is kept or none of it.
// ReadBacklog and Ack need no lock: the caller has one reader at a time,
// and the disk queue takes its own locks.
type Held struct {
	cfg     Config
	backlog Disk // nil: memory only
	empties emptyGate

	mu       sync.Mutex
	memory   heldMemory // records, handed over by pointer (held_memory.go)
	promised int        // memory room reserved by Pendings not yet settled
	free     []*Pending
	// count, when set (CountBodyBytes), is changed under mu with what is
	// held; nil counts nothing.
	count *atomic.Int64
}

// CountBodyBytes makes h keep *count as the body bytes it holds (a topic's
// byte bound): added when a batch is put (a Pending's whole batch at once,
// taken back if its write fails), taken off when memory is handed out or
// dropped, and zeroed with the memory part by Empty, each under mu with
// the change it counts, so that no put is counted on the wrong side of an
// Empty. What is read from the backlog the caller takes off itself
// (ReadBacklog is not serialised with puts). Call it once, before h is
// used.
func (h *Held) CountBodyBytes(count *atomic.Int64) { h.count = count }

// addBytes changes the count (mu held).
func (h *Held) addBytes(n int64) {
	if h.count != nil && n != 0 {
		h.count.Add(n)
	}
}

// OpenHeld opens the held messages' backlog (named cfg.Name, as upstream
// names a topic's queue); only Name, MemSize, Disk, OpenDisk, Logf and
// Wrote of cfg are used (ReuseReads is always on: ReleaseRecords).
func OpenHeld(cfg Config) (*Held, error) {
	h := &Held{cfg: cfg}
	h.cfg.MemSize = max(cfg.MemSize, 0)
	if cfg.Logf == nil {
		h.cfg.Logf = func(string, ...any) {}
	}
	if cfg.Disk == nil {
		return h, nil
	}
	// The backlog may reuse the memory of records moved to the channels
	// as they were read (ReleaseRecords); every other release is an Ack,
	// which never lets it (nsqd/queue/reuse.go).
	h.cfg.ReuseReads = true
	var err error
	if h.backlog, err = h.cfg.openDisk(cfg.Name, false); err != nil {
		return nil, err
	}
	return h, nil
}

// Put holds a batch. When it all fits in memory it is held at once (nil
// Pending). Without a disk, what fits is held and the rest is dropped
// (reported). Otherwise nothing is held yet: the memory room is reserved,
// and the returned Pending must be committed and settled.
//
// inMemory reports whether any of the batch is held in memory, now or once
// p is settled. When it is false the whole batch went to the backlog (or
// was dropped): once p is committed and settled, h holds no reference to
// any of its bodies (a publisher may then reuse their memory,
// nsqd/body_alloc.go).
func (h *Held) Put(msgs []Message) (p *Pending, dropped int, inMemory bool) {
	h.mu.Lock()
	defer h.mu.Unlock()
	room := max(h.cfg.MemSize-h.memory.Len()-h.promised, 0)
	if room >= len(msgs) {
		h.memory.Push(msgs)
		h.addBytes(BodyBytes(msgs))
		return nil, 0, len(msgs) > 0
	}
	if h.backlog == nil {
		h.memory.Push(msgs[:room])
		h.addBytes(BodyBytes(msgs[:room]))
		return nil, len(msgs) - room, room > 0
	}
	h.addBytes(BodyBytes(msgs))
	h.promised += room
	p = h.pendingLocked()
	p.ready = append(p.ready, msgs[:room]...)
	p.backlog = append(p.backlog, msgs[room:]...)
	return p, 0, room > 0
}

// PutToDisk holds a whole batch on disk, behind what the backlog holds
// (a bound that keeps memory's front the oldest). Nil without a disk.
func (h *Held) PutToDisk(msgs []Message) *Pending {
	if h.backlog == nil || len(msgs) == 0 {
		return nil
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	h.addBytes(BodyBytes(msgs))
	p := h.pendingLocked()
	p.backlog = append(p.backlog, msgs...)
	return p
}

func (h *Held) pendingLocked() *Pending {
	var p *Pending
	if n := len(h.free); n > 0 {
		p = h.free[n-1]
		h.free[n-1] = nil
		h.free = h.free[:n-1]
	} else {
		p = &Pending{}
	}
	p.epoch = h.empties.epoch.Load()
	return p
}

// Commit writes a Pending's disk part: one grouped write, durable by the
// disk queue's sync policy once it succeeded. It needs no lock of the
// caller's.
func (h *Held) Commit(p *Pending) {
	if len(p.backlog) == 0 || !h.empties.enter(p) {
		return
	}
	defer h.empties.leave()
	_, p.backlogErr = p.write(h.backlog, p.backlog, h.cfg.Wrote)
}

// Settle ends a committed Pending: its reserved room is given back and,
// when its disk part was written, filled with its memory part. A Pending
// begun before an Empty is emptied whole (its records went with the
// files, or were never written). p must not be used afterwards. It needs
// no lock of the caller's.
func (h *Held) Settle(p *Pending) error {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.promised -= len(p.ready)
	var err error
	switch {
	case h.empties.emptied(p):
	case p.backlogErr != nil:
		err = fmt.Errorf("write to disk: %w", p.backlogErr)
		h.addBytes(-BodyBytes(p.ready) - BodyBytes(p.backlog))
	default:
		h.memory.Push(p.ready)
	}
	p.reset()
	if len(h.free) < maxKeptPending {
		h.free = append(h.free, p)
	}
	return err
}

// TakeMemory moves the memory part, oldest first, into dst.
func (h *Held) TakeMemory(dst []Message) []Message {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.addBytes(-h.memory.bytes)
	// Grown once to its size: a million held messages would otherwise be
	// copied at every doubling.
	dst = slices.Grow(dst, h.memory.Len())
	return h.memory.PopInto(dst, h.memory.Len())
}

// HandOverMemory moves the memory part out of h and calls fn with it,
// oldest first, in runs of records (held_memory.go) that fn may queue with
// Queue.RequeueShared, pointing at them rather than copying them, in as
// many queues as it likes; the runs' holds end once fn has seen every
// run. fn is called with mu released (it may take other locks and write to
// disk) and must not call back into h. It reports how many messages it
// handed over. Nothing of the size of the memory part is allocated.
func (h *Held) HandOverMemory(fn func(Shared)) int {
	h.mu.Lock()
	n := h.memory.Len()
	h.addBytes(-h.memory.bytes)
	runs := h.memory.takeRuns()
	h.mu.Unlock()
	runs.each(fn)
	runs.release()
	return n
}

// ReadBacklog moves up to n messages from the backlog into dst, and their
// records' Seqs into seqs: the records stay on disk until passed to Ack,
// so a crash before the messages are stored elsewhere delivers them
// again. The messages hold no receipt (a channel that queues them keeps
// records of its own). One reader at a time; no lock of the caller's.
func (h *Held) ReadBacklog(dst []Message, seqs []uint64, n int) ([]Message, []uint64, error) {
	if h.backlog == nil {
		return dst, seqs, nil
	}
	err := readRecords(h.backlog, n, &h.cfg, func(m Message, seq uint64) {
		dst = append(dst, m)
		seqs = append(seqs, seq)
	})
	return dst, seqs, err
}

// Ack releases the records of messages read from the backlog that are
// stored elsewhere now.
func (h *Held) Ack(seqs []uint64) {
	if h.backlog != nil && len(seqs) > 0 {
		h.backlog.Ack(seqs...)
	}
}

// MemoryLen is the number of messages held in memory.
func (h *Held) MemoryLen() int64 {
	h.mu.Lock()
	defer h.mu.Unlock()
	return int64(h.memory.Len())
}

// BacklogDepth is the number of messages on disk not yet read.
func (h *Held) BacklogDepth() int64 {
	if h.backlog == nil {
		return 0
	}
	return h.backlog.Depth()
}

// Depth is everything held: memory and backlog.
func (h *Held) Depth() int64 { return h.MemoryLen() + h.BacklogDepth() }

// Durable reports whether there is a disk.
func (h *Held) Durable() bool { return h.backlog != nil }

// EachInMemory calls fn with each message held in memory, oldest first,
// under mu: fn must not call back into h.
func (h *Held) EachInMemory(fn func(m *Message)) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.memory.Each(fn)
}

// DropOldestInMemory removes the oldest message held in memory, if any.
func (h *Held) DropOldestInMemory() (Message, bool) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.memory.Len() == 0 {
		return Message{}, false
	}
	m := h.memory.DropFront()
	h.addBytes(-int64(len(m.Body)))
	return m, true
}

// ScanBacklog calls fn with each record of the backlog, oldest first,
// without consuming anything, until fn returns false (peek, and a bound's
// first byte count). data is the scanner's buffer. Without a disk, or for
// a backlog that cannot scan, it does nothing.
func (h *Held) ScanBacklog(fn func(data []byte, legacy bool) bool) error {
	sc, ok := h.backlog.(scanner)
	if !ok || h.backlog.Depth() == 0 {
		return nil
	}
	return sc.Scan(fn)
}

// Empty drops everything held, on disk too. A Put settled after it is
// emptied whole if it was begun before; the files are emptied with no
// lock of the caller's and mu released.
func (h *Held) Empty() error {
	h.empties.mu.Lock()
	defer h.empties.mu.Unlock()
	h.mu.Lock()
	h.empties.epoch.Add(1)
	h.memory.Clear()
	// Every put counted before is emptied (memory, backlog, or a Pending
	// of the old epoch); every one counted after is kept.
	if h.count != nil {
		h.count.Store(0)
	}
	h.mu.Unlock()
	if h.backlog == nil {
		return nil
	}
	return h.backlog.Empty()
}

// Flush writes the memory part to the backlog (at a graceful stop, once
// nothing else puts, reads or settles) and reports how many messages it
// wrote. Without a disk the memory part stays as it is.
func (h *Held) Flush() (int, error) {
	if h.backlog == nil {
		return 0, nil
	}
	held := h.TakeMemory(nil)
	if len(held) == 0 {
		return 0, nil
	}
	p := h.PutToDisk(held)
	h.Commit(p)
	return len(held), h.Settle(p)
}

// DiskStats reads the backlog's counters (zero without a disk).
func (h *Held) DiskStats() diskqueue.Stats {
	if h.backlog == nil {
		return diskqueue.Stats{}
	}
	return h.backlog.Stats()
}

// Close releases the backlog, keeping what it holds.
func (h *Held) Close() error {
	if h.backlog == nil {
		return nil
	}
	return h.backlog.Close()
}

// Delete releases the backlog and removes what it holds.
func (h *Held) Delete() error {
	if h.backlog == nil {
		return nil
	}
	return h.backlog.Delete()
}

// ReplaceBacklog wraps the backlog, for tests that make the disk slow or
// fail. Call it with nothing else using h.
func (h *Held) ReplaceBacklog(wrap func(Disk) Disk) {
	if h.backlog != nil {
		h.backlog = wrap(h.backlog)
	}
}
