package queue

import "github.com/nsqgo/nsq/internal/diskqueue"

// Reuse of the backlog's read memory (Config.ReuseReads). The backlog copies
// what it reads into slabs shared by the messages of one read; with reuse
// on, a slab is reused by a later read once all of its messages were
// finished with Done (internal/diskqueue/readmem.go), instead of becoming
// garbage. In disk mode every consumed message passes through such a slab,
// so without reuse the consume path allocates its whole throughput and the
// heap grows to the collector's goal between cycles.
//
// That is safe only while nothing reads a body after its record was done
// with. The rule kept here:
//
//   - Finish (a FIN from the consumer the message was written to, or a
//     sampling drop before any write) is the only release that lets the
//     memory be reused: it uses Done. Every other release (a message
//     written again to the backlog or the store, or handed to Kill) uses
//     Ack, after which diskqueue never reuses the memory.
//   - A message that comes back through Requeue (REQ, timeout, a departing
//     consumer) was written to a consumer, and that write may still be in
//     progress (a timeout fires while the socket is blocked): its record is
//     kept (Keep), so even a later Finish by another consumer does not let
//     the memory go.
//   - A message handed to Kill, or read by the bound's drop-oldest for the
//     dead path, is kept the same way: a dead-letter topic may hold its body
//     in memory after Finish.
//   - Peek copies the bodies it returns; the deferred store gives a body
//     read from the backlog a copy of its own, so that a long delay does not
//     pin the slab.
//
// A consumer that FINs a message before the frame carrying it was written
// (it would have to guess the ID) may therefore receive that frame with a
// body overwritten by later messages of the same channel; no other
// consumer's data changes.

// reuser is a backlog that reuses read memory (*diskqueue.Queue). A backlog
// without these methods (a test's wrapper) reuses nothing: Finish then
// acknowledges with Ack, and reads go through Read.
type reuser interface {
	Done(seq uint64)
	Keep(seqs ...uint64)
	ReadAppend(dst []diskqueue.Record, max int) ([]diskqueue.Record, error)
}

// readBacklog reads up to n records from the backlog into *box: a record
// slice of an earlier read when the backlog can append (so that a steady
// consumer reads without allocating). Hand box back to recycleRecords once
// the records are decoded.
func (q *Queue) readBacklog(n int) (box *[]diskqueue.Record, err error) {
	box = q.spareRecords.Swap(nil)
	if box == nil {
		box, _ = q.records.Get().(*[]diskqueue.Record)
	}
	if box == nil {
		box = new([]diskqueue.Record)
	}
	if d, ok := q.backlog.(reuser); ok {
		*box, err = d.ReadAppend((*box)[:0], n)
	} else {
		*box, err = q.backlog.Read(n)
	}
	return box, err
}

// recycleRecords keeps a record slice for the next readBacklog. Concurrent
// readers each get their own (ReadBacklog runs without the caller's lock):
// one spare slot serves the usual single reader, and a sync.Pool the others.
// The slot comes first because a sync.Pool may drop what it is given (at
// every second collection, and a quarter of all Puts under -race), and a
// steady consumer should not allocate because of that.
func (q *Queue) recycleRecords(box *[]diskqueue.Record) {
	if cap(*box) > maxKeptRecords {
		return
	}
	clear(*box) // keeps no Data alive
	*box = (*box)[:0]
	if q.spareRecords.CompareAndSwap(nil, box) {
		return
	}
	q.records.Put(box)
}

// maxKeptRecords bounds the record slices kept for reuse.
const maxKeptRecords = 4096

// finish acknowledges a finished message's record, letting the backlog
// reuse its memory. Through reuser.Done it allocates nothing (a variadic Ack
// through an interface allocates its argument).
func (q *Queue) finish(r receipt) {
	switch {
	case r == 0:
	case r.inStore():
		if store := q.store.Load(); store != nil {
			if d, ok := store.Disk.(reuser); ok {
				d.Done(r.seq()) // the store reuses nothing: Done is Ack
			} else {
				store.Ack(r.seq())
			}
		}
	case r.inCursor():
		q.cursor.c.Done(r.seq())
	case q.backlog != nil:
		if d, ok := q.backlog.(reuser); ok {
			d.Done(r.seq())
		} else {
			q.backlog.Ack(r.seq())
		}
	}
}

// keepBody keeps the backlog from reusing the memory of r's message.
func (q *Queue) keepBody(r receipt) {
	if !q.cfg.ReuseReads || r == 0 || r.inStore() {
		return
	}
	if r.inCursor() {
		q.cursor.c.Keep(r.seq())
		return
	}
	if d, ok := q.backlog.(reuser); ok {
		d.Keep(r.seq())
	}
}

// keepBodies is keepBody for every message of msgs, with one call to the
// backlog.
func (q *Queue) keepBodies(msgs []Message) {
	if !q.cfg.ReuseReads {
		return
	}
	d, ok := q.backlog.(reuser)
	if !ok {
		return
	}
	seqs := q.keepScratch[:0]
	for i := range msgs {
		if r := msgs[i].receipt; r.inCursor() {
			q.cursor.c.Keep(r.seq())
		} else if r != 0 && !r.inStore() {
			seqs = append(seqs, r.seq())
		}
	}
	if len(seqs) > 0 {
		d.Keep(seqs...)
	}
	q.keepScratch = seqs[:0]
}
