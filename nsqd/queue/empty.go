package queue

import (
	"errors"
	"sync"
	"sync/atomic"
)

// Emptying a queue. The memory part (ring, heap, counters) changes under
// the caller's lock; the files (the backlog and the store) are emptied
// with it released, so consumers, publishers and readers of the caller's
// state do not wait for file removal and a metadata write.
//
// What runs meanwhile is either emptied or kept, never split:
//
//   - BeginEmpty takes the gate (emptyGate.mu) exclusively, so Commits under way finish their
//     writes first and later ones wait for the files to be emptied.
//   - DropMemory (caller's lock held) clears memory and starts a new
//     epoch. A Pending begun before it is emptied whole: if it was
//     written, the disk part removes its records; if not, Commit skips
//     it; either way Settle queues none of it (settleEmptied).
//   - DropDisk empties the files and releases the gate. A Pending begun
//     after DropMemory is written after the files were emptied, and kept.
//
// A caller that reads the backlog with its lock released (ReadBacklog)
// compares Epoch before and after the read: a change means what it read
// was emptied meanwhile.

// emptyGate is the part of emptying that the channel's queue and the
// topic's held messages (held.go) share. mu's read lock is held by a
// Commit's writes, its write lock by an Empty from before its memory part
// until its files are emptied; epoch counts the Empties (changed under the
// write lock).
type emptyGate struct {
	mu    sync.RWMutex
	epoch atomic.Uint64
}

// enter starts a Commit's writes: false when p was begun before an Empty
// (it is then not written; Settle empties it), otherwise leave must follow.
func (g *emptyGate) enter(p *Pending) bool {
	g.mu.RLock()
	if p.epoch != g.epoch.Load() {
		g.mu.RUnlock()
		return false
	}
	return true
}

func (g *emptyGate) leave() { g.mu.RUnlock() }

// emptied reports whether p was begun before an Empty.
func (g *emptyGate) emptied(p *Pending) bool { return p.epoch != g.epoch.Load() }

// Emptying is an Empty in progress, from Begin to DropDisk.
type Emptying struct{ q *Queue }

// BeginEmpty starts emptying the queue. Call it without the caller's lock:
// it waits for Commits writing now. Then call DropMemory under the
// caller's lock, and DropDisk without it.
func (q *Queue) BeginEmpty() *Emptying {
	q.empties.mu.Lock()
	return &Emptying{q: q}
}

// DropMemory drops every ready and deferred message in memory and every
// Pending not yet settled. Call it under the caller's lock.
func (e *Emptying) DropMemory() {
	q := e.q
	q.empties.epoch.Add(1)
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
	defer q.empties.mu.Unlock()
	var err error
	if q.backlog != nil {
		err = q.backlog.Empty()
	}
	if s := q.store.Load(); s != nil {
		err = errors.Join(err, s.Empty())
	}
	if c := q.cursor.c; c != nil {
		err = errors.Join(err, c.Empty())
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
func (q *Queue) Epoch() uint64 { return q.empties.epoch.Load() }

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
