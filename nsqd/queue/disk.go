package queue

import (
	"fmt"
	"slices"
	"unsafe"

	"github.com/nsqgo/nsq/internal/diskqueue"
)

// Pending is the disk work a call under the caller's lock left to do: the
// caller releases its lock, calls Commit, takes the lock again and calls
// Settle. Until Settle, the messages it carries are in no part of the
// queue (nor counted by Depth); they are the Pending's alone. This keeps
// disk writes, fsync included, out of the caller's lock: publishers and
// consumers of a channel never wait on another's write.
//
// Ordering: the ring and the heap are changed only under the caller's
// lock, and a Pending's messages enter them in Settle. Two Pendings
// committed concurrently may reach the backlog in either order; messages
// of one Pending keep theirs.
type Pending struct {
	keep bool // the messages already belong to the channel (Requeue)
	// epoch is the queue's Empty count when the Pending was begun: one
	// begun before an Empty is emptied with the rest (empty.go).
	epoch uint64
	flush bool // a graceful stop's Flush
	// ready is Put's memory part, queued only once the backlog took the
	// rest of the batch.
	ready   []Message
	backlog []Message // to append to the backlog
	store   []Message // to write to the deferred store
	// dead are messages the policy sends away: Commit hands them to
	// Config.Kill, and Settle releases their records, or keeps them when
	// Kill failed (dying.go).
	dead    []Dying
	deadErr error
	now     int64 // when they died

	backlogErr, storeErr error
	storeFirst           uint64 // Seq of the first record written to the store

	// boundDepth and boundBytes: what a PutBounded counted as pending for
	// this Pending (bound.go), given back at Settle.
	boundDepth, boundBytes int64

	batch messageBatch // what PutBatch encodes, during a write only
	// frames, when set, is the fan-out's batch framed once for every
	// channel (frames.go): writes of a run of it copy its records.
	frames  *Frames
	encoded []byte // encode's buffer, for a Disk without PutBatch
	records [][]byte
}

// maxKeptPending bounds the Pendings kept for reuse.
const maxKeptPending = 4

// maxKeptBytes bounds each slice a kept Pending holds on to.
const maxKeptBytes = 256 << 10

// pending returns p, or a clean Pending when p is nil.
func (q *Queue) pending(p *Pending, keep bool) *Pending {
	if p != nil {
		return p
	}
	if n := len(q.free); n > 0 {
		p = q.free[n-1]
		q.free[n-1] = nil
		q.free = q.free[:n-1]
	} else {
		p = &Pending{}
	}
	p.keep = keep
	p.epoch = q.empties.epoch.Load()
	return p
}

func (q *Queue) recycle(p *Pending) {
	p.reset()
	if len(q.free) < maxKeptPending {
		q.free = append(q.free, p)
	}
}

// reset clears p for reuse, keeping its buffers.
func (p *Pending) reset() {
	clear(p.ready)
	clear(p.backlog)
	clear(p.store)
	clear(p.dead)
	clear(p.records)
	*p = Pending{
		ready: keepSmall(p.ready), backlog: keepSmall(p.backlog), store: keepSmall(p.store),
		dead: keepSmall(p.dead), records: keepSmall(p.records), encoded: keepSmall(p.encoded),
	}
}

// keepSmall returns s emptied for reuse, or nil when it is large: a kept
// Pending holds on to what one ordinary batch needs, not what a rare large
// one (a departing consumer's thousands of in-flight messages) grew it to.
func keepSmall[T any](s []T) []T {
	if cap(s)*int(unsafe.Sizeof(*new(T))) > maxKeptBytes {
		return nil
	}
	return s[:0]
}

// Commit does a Pending's disk writes. It runs without the caller's lock
// and touches only the Pending and the disk queues, which have their own
// (internal/diskqueue/doc.go).
func (q *Queue) Commit(p *Pending) {
	if len(p.dead) > 0 && q.cfg.Kill != nil {
		p.deadErr = q.cfg.Kill(p.dead, p.now)
	}
	if len(p.store)+len(p.backlog) == 0 {
		return
	}
	// Not inside an Empty's disk part: each write lands wholly before it
	// (and is emptied) or after it (and is kept, unless the Pending was
	// begun before the Empty: then it is not written at all).
	if !q.empties.enter(p) {
		return
	}
	defer q.empties.leave()
	if len(p.store) > 0 {
		store, err := q.openStore()
		switch {
		case err == nil:
			p.storeFirst, p.storeErr = q.write(store, p.store, p)
		case p.flush:
			// The backlog keeps DeliverAt too: a restart defers them again.
			q.cfg.Logf("CHANNEL(%s): open deferred store: %s; flushing deferred messages to the queue", q.cfg.Name, err)
			p.backlog = append(p.backlog, p.store...)
			clear(p.store)
			p.store = p.store[:0]
		default:
			p.storeErr = err
		}
	}
	if len(p.backlog) > 0 {
		_, p.backlogErr = q.write(q.backlog, p.backlog, p)
	}
}

// write encodes msgs into p's buffer and puts them with one grouped write.
func (q *Queue) write(d Disk, msgs []Message, p *Pending) (uint64, error) {
	return p.write(d, msgs, q.cfg.Wrote)
}

// write puts msgs into d with one grouped write, telling wrote (when set)
// the outcome: the one disk write of both the channel's queue and the
// topic's held messages (held.go). A diskqueue encodes the messages straight
// into its writer's buffer (PutBatch), so a large batch (a departing
// consumer's thousands of in-flight messages) is not copied whole first;
// another Disk (a test's wrapper) gets them encoded into p's buffer. A run
// of a fan-out's batch that was framed once for every channel (UseFrames)
// is copied as framed instead (PutFramed).
func (p *Pending) write(d Disk, msgs []Message, wrote func(error)) (uint64, error) {
	first, framed, err := p.putFramed(d, msgs)
	switch b, ok := d.(batchPutter); {
	case framed:
	case ok:
		p.batch.msgs = msgs
		first, err = b.PutBatch(&p.batch)
		p.batch.msgs = nil
	default:
		first, err = d.Put(p.encode(msgs))
		clear(p.records)
	}
	if wrote != nil {
		wrote(err)
	}
	return first, err
}

// batchPutter is a Disk that encodes a batch itself (*diskqueue.Queue).
type batchPutter interface {
	PutBatch(b diskqueue.Batch) (first uint64, err error)
}

// messageBatch gives messages to diskqueue.PutBatch as records.
type messageBatch struct{ msgs []Message }

func (b *messageBatch) Len() int                        { return len(b.msgs) }
func (b *messageBatch) Size(i int) int                  { return RecordSize(&b.msgs[i]) }
func (b *messageBatch) Append(dst []byte, i int) []byte { return AppendRecord(dst, &b.msgs[i]) }

// encode encodes msgs into p's buffer and returns their records, slices of
// it.
func (p *Pending) encode(msgs []Message) [][]byte {
	size := 0
	for i := range msgs {
		size += RecordSize(&msgs[i])
	}
	// Grown once to its size: a large batch would otherwise leave a trail
	// of doubled buffers.
	p.encoded = slices.Grow(p.encoded[:0], size)
	for i := range msgs {
		p.encoded = AppendRecord(p.encoded, &msgs[i])
	}
	// Sliced only now: appending may have moved the buffer.
	p.records = p.records[:0]
	start := 0
	for i := range msgs {
		end := start + RecordSize(&msgs[i])
		p.records = append(p.records, p.encoded[start:end:end])
		start = end
	}
	return p.records
}

// Settle applies the outcome of a committed Pending under the caller's
// lock: stored messages release the records they had, store records join
// the heap; what could not be stored is kept in memory when it already
// belonged to the channel, and refused otherwise (the error says so). p
// must not be used afterwards. The returned Pending, when not nil, is more
// work the same way: a compaction of the store that this write made due.
func (q *Queue) Settle(p *Pending) (*Pending, error) {
	q.bound.pendingDepth -= p.boundDepth
	q.bound.pendingBytes -= p.boundBytes
	q.settleDead(p)
	if q.empties.emptied(p) {
		q.settleEmptied(p)
		return nil, nil
	}
	var err error
	if len(p.backlog) > 0 {
		switch {
		case p.backlogErr == nil:
			q.pushReady(p.ready)
			q.bound.backlogBytes.Add(BodyBytes(p.backlog))
			q.releaseAll(p.backlog)
		case p.keep:
			q.cfg.Logf("CHANNEL(%s): keeping %d messages in memory: write to disk: %s", q.cfg.Name, len(p.backlog), p.backlogErr)
			if !p.flush {
				q.pushReady(p.backlog)
			}
			err = fmt.Errorf("write to disk: %w", p.backlogErr)
		default:
			err = fmt.Errorf("write to disk: %w", p.backlogErr)
		}
	} else {
		q.pushReady(p.ready)
	}
	var more *Pending
	if len(p.store) > 0 {
		if storeErr := q.settleStore(p); storeErr != nil && err == nil {
			err = storeErr
		}
		if p.storeErr == nil && !p.flush {
			more = q.compactionDue()
		}
	}
	q.recycle(p)
	return more, err
}

// releaseAll acknowledges the old records of messages that now have new
// ones, and forgets them.
func (q *Queue) releaseAll(msgs []Message) {
	for i := range msgs {
		q.release(msgs[i].receipt)
		msgs[i].receipt = 0
	}
}
