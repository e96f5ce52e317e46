package queue

import (
	"errors"
	"fmt"
	"sync/atomic"

	"github.com/nsqgo/nsq/internal/protocol"
)

// Bounded queues (issue 12): a Put consults the queue's Bound and either
// refuses the whole batch (reject-new) or names the oldest ready messages
// that must leave for it to fit (drop-oldest). The queue keeps the counts
// the bound is judged on, so the check is a comparison, not a scan:
//
//   - depth: ready messages, in memory and in the disk backlog (the depth
//     /stats shows), plus those of Puts whose disk writes are still under
//     way and those reserved by Reserve. Deferred and in-flight messages do
//     not count: a deferred one counts once it is due. A batch being put
//     counts whole, deferred messages included, so a full queue refuses a
//     DPUB too.
//   - bytes: the bodies of the same messages.
//
// Messages that already belong to the channel (Requeue: REQ, timeouts, a
// topic's backlog handed over; PromoteDue) are never refused or dropped by
// the bound: a queue can briefly hold more than its bound, and then refuses
// new messages (or drops old ones) until it is back under it.

// Bound is a queue's limit and what a full queue does.
type Bound struct {
	MaxDepth int64 // 0: no depth limit
	MaxBytes int64 // 0: no byte limit
	Overflow Overflow
}

// Bound is the policy's limit.
func (p Policy) Bound() Bound {
	return Bound{MaxDepth: p.MaxDepth, MaxBytes: p.MaxBytes, Overflow: p.Overflow}
}

// On reports whether there is a limit.
func (b Bound) On() bool { return b.MaxDepth > 0 || b.MaxBytes > 0 }

// ErrFull is what a reject-new queue refuses a batch with (errors.Is).
var ErrFull = errors.New("queue is full")

// FullError is a refusal: what the queue held and the limit it met.
type FullError struct {
	Depth, Bytes           int64 // held, in messages and body bytes
	BatchDepth, BatchBytes int64 // the refused batch's
	Bound                  Bound
}

func (e *FullError) Error() string {
	if e.ByDepth() {
		return fmt.Sprintf("queue is full (depth %d + %d > max_depth %d)", e.Depth, e.BatchDepth, e.Bound.MaxDepth)
	}
	return fmt.Sprintf("queue is full (bytes %d + %d > max_bytes %d)", e.Bytes, e.BatchBytes, e.Bound.MaxBytes)
}

// ByDepth reports whether the depth limit refused the batch (else the
// byte limit did).
func (e *FullError) ByDepth() bool {
	return e.Bound.MaxDepth > 0 && e.Depth+e.BatchDepth > e.Bound.MaxDepth
}

func (e *FullError) Is(target error) bool { return target == ErrFull }

// boundState is the queue's bookkeeping for the bound; guarded by the
// caller's lock like the ring.
type boundState struct {
	readyBytes int64 // bodies in the ring
	// backlogBytes: bodies in the backlog (exact once backlogCounted). An
	// atomic, as ReadBacklog subtracts without the caller's lock; a read
	// racing a write may see it briefly low or below zero (clamped).
	backlogBytes atomic.Int64
	// backlogCounted: backlogBytes includes what an earlier run left in the
	// backlog, counted by one scan the first time a byte limit is checked
	// (counting at Open would read every backlog at every start, bounded
	// or not).
	backlogCounted bool
	// Puts whose disk writes are under way (their messages are in no part
	// of the queue until Settle) and reservations (Reserve).
	pendingDepth, pendingBytes   int64
	reservedDepth, reservedBytes int64
	// keepOrder: a drop-oldest Put is in progress. New messages then follow
	// a non-empty backlog to disk instead of entering memory ahead of it, so
	// that memory always holds the oldest ready messages and dropping from
	// its front drops the oldest.
	keepOrder bool
	// toDisk: a PutToDisk is in progress; every ready message goes to the
	// backlog (redrive.go).
	toDisk bool
}

// BodyBytes is the sum of the bodies' lengths: what a byte bound counts.
func BodyBytes(msgs []Message) int64 {
	var n int64
	for i := range msgs {
		n += int64(len(msgs[i].Body))
	}
	return n
}

// pushReady appends to the ring, counting the bodies.
func (q *Queue) pushReady(msgs []Message) {
	q.ready.Push(msgs...)
	q.bound.readyBytes += BodyBytes(msgs)
}

// popRing moves up to max messages from the ring's front into dst.
func (q *Queue) popRing(dst []Message, max int) []Message {
	start := len(dst)
	dst = q.ready.PopInto(dst, max)
	q.bound.readyBytes -= BodyBytes(dst[start:])
	return dst
}

// backlogRead counts a message read out of the backlog.
func (q *Queue) backlogRead(m *Message) {
	q.bound.backlogBytes.Add(-int64(len(m.Body)))
}

// HeldDepth and HeldBytes are what the bound is judged on (see above).
func (q *Queue) HeldDepth() int64 {
	return q.Depth() + q.bound.pendingDepth + q.bound.reservedDepth
}

func (q *Queue) HeldBytes() int64 {
	q.countBacklogBytes()
	return q.bound.readyBytes + max(q.bound.backlogBytes.Load(), 0) + q.bound.pendingBytes + q.bound.reservedBytes
}

// countBacklogBytes counts, once, the bodies an earlier run left in the
// backlog, with a non-consuming scan under the caller's lock (nsqd/LOCKS.md,
// "Known exceptions": once per channel, and only for a byte limit).
func (q *Queue) countBacklogBytes() {
	if q.bound.backlogCounted {
		return
	}
	q.bound.backlogCounted = true
	if q.backlog == nil || q.backlog.Depth() == 0 {
		q.bound.backlogBytes.Store(0)
		return
	}
	peeker, ok := q.backlog.(interface {
		Scan(fn func(data []byte, legacy bool) bool) error
	})
	if !ok {
		return
	}
	var total int64
	err := peeker.Scan(func(data []byte, legacy bool) bool {
		size := int64(len(data)) - protocol.MessageHeaderLength
		if !legacy {
			size -= RecordHeader
		}
		total += max(size, 0)
		return true
	})
	if err != nil {
		q.cfg.Logf("CHANNEL(%s): counting the disk backlog's bytes: %s", q.cfg.Name, err)
	}
	q.bound.backlogBytes.Store(total)
}

// over reports how far a batch of depth messages and bytes would take the
// queue past b (0, 0: it fits).
func (q *Queue) over(depth, bytes int64, b Bound) (overDepth, overBytes int64) {
	if b.MaxDepth > 0 {
		overDepth = max(q.HeldDepth()+depth-b.MaxDepth, 0)
	}
	if b.MaxBytes > 0 {
		overBytes = max(q.HeldBytes()+bytes-b.MaxBytes, 0)
	}
	return overDepth, overBytes
}

// Reserve admits a batch under a reject-new bound before it is put, so that
// a batch for several queues (a topic's channels) is refused by all of them
// or none: each Reserves, and only when all did does each PutBounded with
// reserved set (or Unreserve when another refused). reserved is false when
// there is nothing to reserve (no limit, or drop-oldest, which never
// refuses).
func (q *Queue) Reserve(msgs []Message, b Bound) (reserved bool, err error) {
	if !b.On() || b.Overflow != OverflowRejectNew {
		return false, nil
	}
	depth, bytes := int64(len(msgs)), BodyBytes(msgs)
	if d, by := q.over(depth, bytes, b); d > 0 || by > 0 {
		return false, q.full(depth, bytes, b)
	}
	q.bound.reservedDepth += depth
	q.bound.reservedBytes += bytes
	return true, nil
}

// Unreserve gives back a reservation that will not be used.
func (q *Queue) Unreserve(msgs []Message) {
	q.bound.reservedDepth -= int64(len(msgs))
	q.bound.reservedBytes -= BodyBytes(msgs)
}

func (q *Queue) full(depth, bytes int64, b Bound) error {
	e := &FullError{Depth: q.HeldDepth(), BatchDepth: depth, BatchBytes: bytes, Bound: b}
	if b.MaxBytes > 0 {
		// Only then: counting bytes may scan the backlog once.
		e.Bytes = q.HeldBytes()
	}
	return e
}

// PutBounded is Put under b. With room for the batch it is Put. When the
// batch does not fit:
//
//   - reject-new: nothing is queued and the error is a *FullError (ErrFull);
//   - drop-oldest: the oldest ready messages leave the queue, appended to
//     dropped, until the batch fits (when even an empty queue cannot hold
//     it, the batch's own first messages are dropped too: the newest are
//     kept). The dropped messages still hold their disk records: the caller
//     stores them elsewhere (the dead set) and then calls Finish on each, so
//     that a crash in between keeps them (at least once). An error here is
//     a failed backlog read: the batch is not queued, and what was dropped
//     before it is still returned.
//
// reserved says the batch was admitted by Reserve; it is then queued
// whatever the queue holds now.
func (q *Queue) PutBounded(msgs []Message, now int64, b Bound, reserved bool, dropped []Message) (*Pending, []Message, error) {
	depth, bytes := int64(len(msgs)), BodyBytes(msgs)
	if reserved {
		q.bound.reservedDepth -= depth
		q.bound.reservedBytes -= bytes
	} else if b.On() {
		overDepth, overBytes := q.over(depth, bytes, b)
		if overDepth > 0 || overBytes > 0 {
			if b.Overflow == OverflowRejectNew {
				return nil, dropped, q.full(depth, bytes, b)
			}
			var err error
			if dropped, err = q.dropOldest(dropped, depth, bytes, b, now); err != nil {
				return nil, dropped, err
			}
			msgs, dropped = q.dropFromBatch(msgs, dropped, b)
		}
	}
	q.bound.keepOrder = b.On() && b.Overflow == OverflowDropOldest
	p := q.Put(msgs, now)
	q.bound.keepOrder = false
	if p != nil {
		p.boundDepth = int64(len(p.ready) + len(p.backlog))
		p.boundBytes = BodyBytes(p.ready) + BodyBytes(p.backlog)
		q.bound.pendingDepth += p.boundDepth
		q.bound.pendingBytes += p.boundBytes
	}
	return p, dropped, nil
}

// dropOldest moves ready messages out, oldest first (memory's front, then
// the backlog's: keepOrder keeps memory the older part), until a batch of
// depth messages and bytes fits or nothing ready is left.
func (q *Queue) dropOldest(dropped []Message, depth, bytes int64, b Bound, now int64) ([]Message, error) {
	for {
		overDepth, overBytes := q.over(depth, bytes, b)
		if overDepth == 0 && overBytes == 0 {
			return dropped, nil
		}
		if q.ready.Len() > 0 {
			dropped = q.popRing(dropped, int(max(overDepth, 1)))
			continue
		}
		if q.backlog == nil || q.backlog.Depth() == 0 {
			return dropped, nil
		}
		records, err := q.backlog.Read(int(min(max(overDepth, 1), 256)))
		if err != nil {
			return dropped, fmt.Errorf("drop oldest: read from disk: %w", err)
		}
		if len(records) == 0 {
			return dropped, nil
		}
		for _, r := range records {
			m, decodeErr := DecodeRecord(r.Data, r.Legacy)
			if decodeErr != nil {
				q.cfg.Logf("DISKQUEUE(%s): failed to decode message - %s", q.cfg.Name, decodeErr)
				q.backlog.Ack(r.Seq)
				continue
			}
			m.receipt = backlogReceipt(r.Seq)
			// Bound for the dead path (or the heap), which may keep the
			// body after Finish releases the record (reuse.go).
			q.keepBody(m.receipt)
			q.backlogRead(&m)
			if m.DeliverAt > now {
				// Not ready: not the bound's. It waits in the heap holding
				// its backlog record (as after a refused store write).
				q.deferred.Push(m)
				continue
			}
			dropped = append(dropped, m)
		}
	}
}

// dropFromBatch drops the batch's first messages while the rest does not
// fit an empty queue.
func (q *Queue) dropFromBatch(msgs, dropped []Message, b Bound) ([]Message, []Message) {
	heldDepth, heldBytes := q.HeldDepth(), q.HeldBytes()
	depth, bytes := int64(len(msgs)), BodyBytes(msgs)
	for len(msgs) > 0 && ((b.MaxDepth > 0 && heldDepth+depth > b.MaxDepth) || (b.MaxBytes > 0 && heldBytes+bytes > b.MaxBytes)) {
		dropped = append(dropped, msgs[0])
		depth--
		bytes -= int64(len(msgs[0].Body))
		msgs = msgs[1:]
	}
	return msgs, dropped
}
