package queue

import "errors"

// Emptying a queue. The memory part (ring, heap, counters) changes under
// the caller's lock; the files (the backlog and the store) are emptied
// with it released, so consumers, publishers and readers of the caller's
// state do not wait for file removal and a metadata write.
//
// What runs meanwhile is either emptied or kept, never split:
//
//   - Begin takes emptyMu exclusively, so Commits under way finish their
//     writes first and later ones wait for the files to be emptied.
//   - DropMemory (caller's lock held) clears memory and starts a new
//     epoch. A Pending begun before it is emptied whole: if it was
//     written, the disk part removes its records; if not, Commit skips
//     it; either way Settle queues none of it (settleEmptied).
//   - DropDisk empties the files and releases emptyMu. A Pending begun
//     after DropMemory is written after the files were emptied, and kept.
//
// A caller that reads the backlog with its lock released (ReadBacklog)
// compares Epoch before and after the read: a change means what it read
// was emptied meanwhile.

// Emptying is an Empty in progress, from Begin to DropDisk.
type Emptying struct{ q *Queue }

// BeginEmpty starts emptying the queue. Call it without the caller's lock:
// it waits for Commits writing now. Then call DropMemory under the
// caller's lock, and DropDisk without it.
func (q *Queue) BeginEmpty() *Emptying {
	q.emptyMu.Lock()
	return &Emptying{q: q}
}

// DropMemory drops every ready and deferred message in memory and every
// Pending not yet settled. Call it under the caller's lock.
func (e *Emptying) DropMemory() {
	q := e.q
	q.epoch.Add(1)
	q.ready.Clear()
	q.deferred = nil
	q.bound.readyBytes, q.bound.backlogCounted = 0, true
	q.bound.backlogBytes.Store(0)
	q.storeWrites, q.storeWritten, q.storeWritesDue = 0, 0, 0
}

// DropDisk empties the backlog and the store and ends the Empty. Call it
// without the caller's lock, once, after DropMemory.
func (e *Emptying) DropDisk() error {
	q := e.q
	defer q.emptyMu.Unlock()
	var err error
	if q.backlog != nil {
		err = q.backlog.Empty()
	}
	if s := q.store.Load(); s != nil {
		err = errors.Join(err, s.Empty())
	}
	return err
}

// Empty drops every ready and deferred message, on disk too, in one call:
// for a caller that holds no lock of its own around the queue, or does
// not mind holding it across the file removal.
func (q *Queue) Empty() error {
	e := q.BeginEmpty()
	e.DropMemory()
	return e.DropDisk()
}

// Epoch changes whenever the queue is emptied. It needs no lock of the
// caller's.
func (q *Queue) Epoch() uint64 { return q.epoch.Load() }

// settleEmptied ends a Pending begun before an Empty: none of its messages
// is queued. Records it wrote were removed by the Empty's disk part, and
// the records its messages held before are gone with the files too
// (acknowledging them is a no-op); a refused write is no error, for the
// messages are emptied either way.
func (q *Queue) settleEmptied(p *Pending) {
	q.releaseAll(p.backlog)
	q.releaseAll(p.store)
	q.releaseAll(p.ready)
	q.recycle(p)
}
