package queue

import (
	"bytes"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"

	"github.com/nsqgo/nsq/internal/diskqueue"
	"github.com/nsqgo/nsq/internal/hugepage"
)

// Queue is where a channel keeps its messages: ready ones in a memory ring
// up to a bound and past it in the disk backlog; deferred ones in a heap
// ordered by DeliverAt, the durable among them also in the deferred store
// (store.go). It has no goroutine and reads no clock: now comes in as a
// parameter, and NextDeadline tells the caller when to call PromoteDue.
//
// Concurrency. The caller serialises every method under its own lock,
// except those documented otherwise: Commit (the disk writes),
// ReadBacklog (the disk reads), Finish, Dropped, DiskStats, BacklogDepth,
// BeginEmpty and DropDisk (an Empty's files, empty.go), Epoch, Close and
// Delete. A method that has
// disk writes to do leaves them in a *Pending it returns: the caller
// releases its lock, calls Commit, takes its lock again and calls Settle,
// which applies the outcome (see disk.go). Nothing is acknowledged as
// stored before its write succeeded.
type Queue struct {
	cfg      Config
	ready    readyRing // pointers to records (ready.go)
	deferred deferredHeap
	backlog  Disk        // nil: memory only
	cursor   cursorState // a topic log's cursor, read as a second backlog (cursor_backlog.go)
	// store holds the durable deferred messages; opened on first use by
	// Commit, outside the caller's lock (openStore).
	store   atomic.Pointer[diskRef]
	storeMu sync.Mutex // serialises opening the store

	empties emptyGate // orders an Empty against Commit's writes (empty.go)

	preferDisk bool // alternates memory and disk in Take
	free       []*Pending
	scratch    []Message
	dropped    atomic.Uint64
	bound      boundState // bound.go

	// Deferred-store compaction bookkeeping (store.go).
	storeWrites    int   // records written to the store since its last compaction
	storeWritten   int64 // and their bytes
	storeWritesDue int   // storeWrites before live records are counted again

	keepScratch  []uint64                           // the seqs Requeue keeps from reuse (reuse.go)
	spareRecords atomic.Pointer[[]diskqueue.Record] // one record slice kept for readBacklog (reuse.go)
	records      sync.Pool                          // *[]diskqueue.Record for readBacklog beyond the spare (reuse.go)
}

// Disk is what the queue needs of a disk queue; *diskqueue.Queue is one.
// Tests substitute a failing one.
type Disk interface {
	Put(records [][]byte) (first uint64, err error)
	Read(max int) ([]diskqueue.Record, error)
	Ack(seqs ...uint64)
	Depth() int64
	Stats() diskqueue.Stats
	Empty() error
	Close() error
	Delete() error
}

type diskRef struct{ Disk }

// StoreSuffix turns a channel's queue name into its deferred store's name
// (':' cannot occur in a topic or channel name, so it never meets a real
// queue).
const StoreSuffix = ":deferred"

// Config describes a queue.
type Config struct {
	// Name is the backlog's name ("<topic>:<channel>", as upstream names
	// it); the deferred store is Name+StoreSuffix.
	Name string
	// MemSize is how many ready messages stay in memory before the
	// backlog takes the rest (--mem-queue-size). At 0 every message goes
	// through disk, deferred ones included.
	MemSize int
	// Disk is the template for the backlog and the store (Dir, sizes,
	// sync policy, logging); Name and ReadOnWrite are set per queue. Nil
	// for a memory-only queue (ephemeral channels): what does not fit is
	// dropped and counted.
	Disk *diskqueue.Options
	// OpenDisk opens a disk queue; nil opens a *diskqueue.Queue.
	OpenDisk func(diskqueue.Options) (Disk, error)
	// Room, for a memory-only queue with MemSize 0, says how many messages
	// may be queued now (the consumers' credit, as upstream's unbuffered
	// queue hands a message only to a consumer waiting for one). It is
	// called under the caller's lock.
	Room func() int
	// Logf logs the queue's errors; may be nil.
	Logf func(format string, args ...any)
	// Wrote is told the outcome of every disk write; may be nil.
	Wrote func(error)
	// Policy is the queue's current policy (attempts limit, TTL), read
	// once per Requeue, Take and PromoteDue under the caller's lock; nil
	// is the zero Policy (upstream's behaviour).
	Policy func() Policy
	// Kill takes the messages the policy sends away (dying.go). It is
	// called by Commit, without the caller's lock, and must return nil
	// only once they are stored elsewhere (dead set, dead-letter topic)
	// or deliberately dropped: only then are their disk records released.
	// Nil drops them.
	Kill func(dying []Dying, now int64) error
	// ReuseReads lets the backlog reuse the memory of the messages it read
	// once they are finished (diskqueue's ReuseReads; reuse.go): the
	// caller promises that nothing reads a message's Body after Finish.
	// The queue itself keeps every body it holds on to past a release
	// (requeued, deferred, dying, peeked) out of reuse.
	ReuseReads bool
	// HugePages is shown the ready ring's new blocks (ring.go); may be nil.
	HugePages *hugepage.Advisor
}

// loadBatch is how many store records Open reads at a time.
const loadBatch = 256

// Open opens the backlog, and the deferred store when an earlier run left
// one, whose every message goes back to the heap.
func Open(cfg Config) (*Queue, error) {
	q := &Queue{cfg: cfg}
	q.ready.AdviseFresh(cfg.HugePages)
	if cfg.Logf == nil {
		q.cfg.Logf = func(string, ...any) {}
	}
	if cfg.Disk == nil {
		return q, nil
	}
	var err error
	if q.backlog, err = q.openDisk(cfg.Name, false); err != nil {
		return nil, err
	}
	exists, err := diskqueue.Exists(cfg.Disk.Dir, cfg.Name+StoreSuffix)
	if err == nil && exists {
		_, err = q.openStore()
	}
	if err != nil {
		q.backlog.Close()
		return nil, fmt.Errorf("deferred messages: %w", err)
	}
	return q, nil
}

func (q *Queue) openDisk(name string, readOnWrite bool) (Disk, error) {
	return q.cfg.openDisk(name, readOnWrite)
}

// openDisk opens the disk queue name with the template's settings.
func (cfg *Config) openDisk(name string, readOnWrite bool) (Disk, error) {
	o := *cfg.Disk
	o.Name, o.ReadOnWrite = name, readOnWrite
	// The store is read only at Open; its messages live in the heap.
	o.ReuseReads = cfg.ReuseReads && !readOnWrite
	if o.ReuseReads && cfg.HugePages != nil {
		// Reused read slabs are fresh memory once, as publishers' bodies
		// are: the same huge page advice (a backlog read back into memory
		// faulted 4 KB at a time cost a disk-mode reader of 64 KB messages
		// most of its CPU once publishing stopped allocating).
		advisor := cfg.HugePages
		o.FreshReadMemory = func(b []byte) { hugepage.Fresh(advisor, b) }
	}
	if cfg.OpenDisk != nil {
		return cfg.OpenDisk(o)
	}
	d, err := diskqueue.Open(o)
	if err != nil {
		return nil, err
	}
	return d, nil
}

// Put queues messages new to the channel (published): due ones become
// ready, others are deferred. If a disk write they need fails, Settle
// returns the error and none of the batch's ready messages is queued; the
// publisher must be told.
func (q *Queue) Put(msgs []Message, now int64) *Pending {
	return q.put(msgs, now, false)
}

// Requeue queues messages that already belong to the channel (REQ,
// timeouts, a departing consumer's, a topic's disk backlog): each ready
// again, or deferred until its DeliverAt when that is later than now. A
// failed disk write keeps them in memory rather than losing them; Settle
// still returns it, for a caller whose own record must then stay.
//
// With the policy's MaxAttempts set, a message that has had MaxAttempts
// deliveries dies instead (reason max_attempts): it is in the returned
// Pending, to Kill, and keeps its disk record until Kill succeeded.
func (q *Queue) Requeue(msgs []Message, now int64) *Pending {
	// They were delivered: a consumer's write of their bodies may still
	// be under way, whatever becomes of them here (reuse.go).
	q.keepBodies(msgs)
	if max := q.policy().MaxAttempts; max > 0 {
		return q.requeueLimited(msgs, now, max)
	}
	return q.put(msgs, now, true)
}

// PutShared is Put for a batch fanned out to several queues: the ring
// points at s's records (records.go) instead of copying them, and holds
// their block while it does. They must hold no disk receipt (published
// messages hold none). Deferred messages and those that go to disk are
// copied as by Put.
//
// inMemory reports whether the queue keeps any of the messages in memory,
// now or once p is settled (the ring, the deferred heap, the deferred
// store, whose messages stay in the heap too). When it is false every
// message went only to the backlog, or was dropped: once p is committed
// and settled (or when p is nil, at once) the queue holds no reference to
// any of their bodies, which is what lets a publisher reuse that memory
// (nsqd/body_alloc.go). A caller that is not sure must treat the bodies as
// kept.
func (q *Queue) PutShared(s Shared, now int64) (p *Pending, inMemory bool) {
	// A put only adds: to the ring or the heap now, or to p's memory part
	// (ready once stored) or its store part (deferred, joining the heap).
	before := q.ready.Len() + q.deferred.Len()
	p = q.putFrom(s.Msgs, now, false, &s)
	inMemory = q.ready.Len()+q.deferred.Len() > before || p != nil && len(p.ready)+len(p.store) > 0
	return p, inMemory
}

func (q *Queue) put(msgs []Message, now int64, keep bool) *Pending {
	return q.putFrom(msgs, now, keep, nil)
}

// putFrom is put; shared, when not nil, is the records msgs are (its Msgs),
// for the ring to point at (PutShared).
func (q *Queue) putFrom(msgs []Message, now int64, keep bool, shared *Shared) *Pending {
	var p *Pending
	start := 0
	for i := range msgs {
		if msgs[i].DeliverAt > now {
			p = q.enqueueFrom(msgs[start:i], keep, shared, p)
			p = q.deferOne(msgs[i], keep, p)
			start = i + 1
		}
	}
	return q.enqueueFrom(msgs[start:], keep, shared, p)
}

// enqueue appends to the ring up to its bound and leaves the rest for the
// backlog (dropped when there is none).
func (q *Queue) enqueue(msgs []Message, keep bool, p *Pending) *Pending {
	return q.enqueueFrom(msgs, keep, nil, p)
}

// enqueueFrom is enqueue; shared, when not nil, is the records msgs are a
// part of: the ring may point at them (PutShared).
func (q *Queue) enqueueFrom(msgs []Message, keep bool, shared *Shared, p *Pending) *Pending {
	if len(msgs) == 0 {
		return p
	}
	bound := q.cfg.MemSize
	if bound == 0 && q.backlog == nil && q.cfg.Room != nil {
		bound = q.cfg.Room()
	}
	if q.bound.toDisk || q.bound.keepOrder && !keep && q.backlog != nil && q.backlog.Depth() > 0 {
		bound = 0 // behind the backlog, not ahead of it (bound.go)
	}
	room := min(max(bound-q.ready.Len(), 0), len(msgs))
	if overflow := msgs[room:]; len(overflow) > 0 {
		if q.backlog == nil {
			q.dropped.Add(uint64(len(overflow)))
		} else {
			p = q.pending(p, keep)
			p.backlog = append(p.backlog, overflow...)
			if !keep {
				// Queued only if the overflow is stored: a publisher
				// told of a failure must find none of its batch queued.
				p.ready = append(p.ready, msgs[:room]...)
				return p
			}
		}
	}
	if shared != nil && room == len(msgs) {
		q.pushReadyShared(msgs, shared)
	} else {
		// Part of a batch: copied, so that a ring holding a few messages
		// of each of many batches (a full queue that frees a little room
		// per batch) does not keep every batch's records alive for them.
		q.pushReady(msgs[:room])
	}
	return p
}

// pushReadyShared is pushReady (bound.go) for records of shared the ring
// may point at.
func (q *Queue) pushReadyShared(msgs []Message, shared *Shared) {
	q.ready.pushShared(msgs, shared)
	if len(msgs) == len(shared.Msgs) {
		q.bound.readyBytes += shared.bytes // summed once by Copy, not per queue
	} else {
		q.bound.readyBytes += BodyBytes(msgs)
	}
}

// deferOne holds a message until its DeliverAt: a durable one (it has a
// disk record, or the channel sends everything through disk) by way of the
// store, others in the heap only.
func (q *Queue) deferOne(m Message, keep bool, p *Pending) *Pending {
	if q.backlog != nil && (m.receipt != 0 || q.cfg.MemSize == 0) {
		p = q.pending(p, keep)
		p.store = append(p.store, m)
		return p
	}
	q.deferred.Push(m)
	return p
}

// NextDeadline is the earliest DeliverAt of a deferred message, 0 when
// none is deferred: when the caller should call PromoteDue.
func (q *Queue) NextDeadline() int64 { return q.deferred.Next() }

// PromoteDue makes every deferred message due at now ready. One from the
// store keeps its record there until it is finished or stored anew.
//
// With the policy's MsgTTL set, a due message older than it dies instead
// (reason expired).
func (q *Queue) PromoteDue(now int64) *Pending {
	q.scratch = q.deferred.PopDue(now, q.scratch[:0])
	var p *Pending
	due := q.scratch
	if ttl := q.policy().MsgTTL; ttl > 0 {
		due, p = q.expire(due, now, ttl, p)
	}
	p = q.enqueue(due, true, p)
	clear(q.scratch)
	return p
}

// Take moves up to max ready messages from memory into dst, and says how
// many more the caller should read from the backlog with ReadBacklog once
// it has released its lock. While both hold messages, it alternates which
// serves first, so neither starves the other (order across the two is not
// kept, as upstream): when the backlog's turn comes, Take moves nothing
// and asks for max, and the caller tops up from memory with TakeReady after
// the read.
//
// With the policy's MsgTTL set, a message older than it is never handed
// out: it dies (reason expired) in the returned Pending, and Take takes
// others from memory in its place, a few rounds at most (the rest wait for
// the next Take).
func (q *Queue) Take(dst []Message, max int, now int64) ([]Message, int, *Pending) {
	if q.backlog == nil {
		dst, p := q.popReady(dst, max, now, nil)
		return dst, 0, p
	}
	diskFirst := q.preferDisk
	q.preferDisk = !q.preferDisk
	var p *Pending
	start := len(dst)
	if !diskFirst {
		dst, p = q.popReady(dst, max, now, p)
	}
	if taken := len(dst) - start; taken < max && q.BacklogDepth() > 0 {
		return dst, max - taken, p
	}
	if diskFirst {
		dst, p = q.popReady(dst, max, now, p)
	}
	return dst, 0, p
}

// TakeReady moves up to max ready messages from memory into dst, as Take
// does when the backlog is empty; deaths (expired) are added to p.
func (q *Queue) TakeReady(dst []Message, max int, now int64, p *Pending) ([]Message, *Pending) {
	return q.popReady(dst, max, now, p)
}

// popReady pops up to max messages from the ready ring, replacing expired
// ones (killed into p) for up to takeRounds rounds.
func (q *Queue) popReady(dst []Message, max int, now int64, p *Pending) ([]Message, *Pending) {
	ttl := q.policy().MsgTTL
	if ttl <= 0 {
		return q.popRing(dst, max), p
	}
	want := len(dst) + max
	for round := 0; round < takeRounds && len(dst) < want && q.ready.Len() > 0; round++ {
		start := len(dst)
		dst = q.popRing(dst, want-len(dst))
		var live []Message
		live, p = q.expire(dst[start:], now, ttl, p)
		clear(dst[start+len(live):])
		dst = dst[:start+len(live)]
	}
	return dst, p
}

// ReadBacklog reads up to n messages from the backlog. Those due at now
// are appended to dst; the others to later, which the caller hands to
// Defer under its lock (they are deferred, by way of the store; with the
// policy's MsgTTL set, messages already expired are in later too, and
// Defer kills them). It needs no lock of the caller's: the disk queue
// serialises its readers. The error is a failed read: the caller retries
// later.
func (q *Queue) ReadBacklog(dst []Message, n int, now int64, later []Message) ([]Message, []Message, error) {
	if q.cursor.c != nil {
		return q.readBoth(dst, n, now, later)
	}
	return q.readOwnBacklog(dst, n, now, later)
}

// readOwnBacklog is ReadBacklog of the queue's own backlog.
func (q *Queue) readOwnBacklog(dst []Message, n int, now int64, later []Message) ([]Message, []Message, error) {
	ttl := q.policy().MsgTTL
	box, err := q.readBacklog(n)
	var read int64 // body bytes out of the backlog: one atomic add per batch
	decodeRecords(q.backlog, *box, &q.cfg, func(m Message, seq uint64) {
		m.receipt = backlogReceipt(seq)
		read += int64(len(m.Body))
		if m.DeliverAt > now || (ttl > 0 && expired(&m, now, ttl)) {
			later = append(later, m)
			return
		}
		dst = append(dst, m)
	})
	q.recycleRecords(box)
	q.bound.backlogBytes.Add(-read)
	if err != nil {
		err = fmt.Errorf("read from disk: %w", err)
	}
	return dst, later, err
}

// readRecords reads up to n records of a backlog and hands each decoded
// message, with its record's Seq, to fn, oldest first (the topic's held
// messages, held.go; the channel's queue reads through readBacklog, which
// can reuse its record slices, and decodes the same way).
func readRecords(d Disk, n int, cfg *Config, fn func(m Message, seq uint64)) error {
	records, err := d.Read(n)
	decodeRecords(d, records, cfg, fn)
	if err != nil {
		return fmt.Errorf("read from disk: %w", err)
	}
	return nil
}

// decodeRecords hands each record's message and Seq to fn: the one decode
// loop of every backlog read. A record that does not decode is logged,
// acknowledged and skipped.
func decodeRecords(d Disk, records []diskqueue.Record, cfg *Config, fn func(m Message, seq uint64)) {
	for _, r := range records {
		m, decodeErr := DecodeRecord(r.Data, r.Legacy)
		if decodeErr != nil {
			cfg.Logf("DISKQUEUE(%s): failed to decode message - %s", cfg.Name, decodeErr)
			d.Ack(r.Seq)
			continue
		}
		fn(m, r.Seq)
	}
}

// Defer takes back what ReadBacklog could not hand out: messages not due
// yet wait until their DeliverAt (by way of the store), expired ones die
// (reason expired). It applies no attempts limit: these were not
// delivered. Deaths and writes are added to p.
func (q *Queue) Defer(later []Message, now int64, p *Pending) *Pending {
	if ttl := q.policy().MsgTTL; ttl > 0 {
		later, p = q.expire(later, now, ttl, p)
	}
	if len(later) == 0 {
		return p
	}
	return q.merge(p, q.put(later, now, true))
}

// Finish releases the disk record of a message that leaves the queue for
// good (FIN'd, or dropped by sampling). It needs no lock of the caller's
// and allocates nothing. With Config.ReuseReads nothing may read m.Body
// afterwards: the backlog may reuse its memory (reuse.go).
func (q *Queue) Finish(m *Message) {
	q.finish(m.receipt)
	m.receipt = 0
}

// release acknowledges a record whose message's body may still be in use
// (it moved elsewhere): its memory is never reused.
func (q *Queue) release(r receipt) {
	switch {
	case r == 0:
	case r.inStore():
		if store := q.store.Load(); store != nil {
			store.Ack(r.seq())
		}
	case r.inCursor():
		q.cursor.c.Ack(r.seq())
	case q.backlog != nil:
		q.backlog.Ack(r.seq())
	}
}

// Depth is the number of ready messages, memory and backlog (the cursor's
// too).
func (q *Queue) Depth() int64 { return int64(q.ready.Len()) + q.BacklogDepth() }

// BacklogDepth is the part of Depth on disk: the backlog's and the
// cursor's. It needs no lock of the caller's.
func (q *Queue) BacklogDepth() int64 {
	return q.ownBacklogDepth() + q.CursorDepth()
}

// MemoryRoom reports whether n more ready messages fit in memory
// (Config.MemSize). Caller holds its lock.
func (q *Queue) MemoryRoom(n int) bool { return q.ready.Len()+n <= q.cfg.MemSize }

// ReadyInMemory is the number of ready messages in memory.
func (q *Queue) ReadyInMemory() int { return q.ready.Len() }

// DeferredCount is the number of deferred messages.
func (q *Queue) DeferredCount() int { return q.deferred.Len() }

// Dropped is how many messages a memory-only queue had no room for. It
// needs no lock of the caller's.
func (q *Queue) Dropped() uint64 { return q.dropped.Load() }

// Durable reports whether the queue has a disk.
func (q *Queue) Durable() bool { return q.backlog != nil }

// OldestReady is the first ready message in memory, if any.
func (q *Queue) OldestReady() (Message, bool) {
	if q.ready.Len() == 0 {
		return Message{}, false
	}
	return *q.ready.Front(), true
}

// State names a part of the queue for Peek.
type State int

const (
	Ready    State = iota // ready messages in memory, in delivery order
	Deferred              // deferred messages, earliest DeliverAt first
)

// Peek copies up to n messages of a part of the queue into dst without
// taking them: ready ones in memory in the order Take would hand them out,
// deferred ones by DeliverAt. The backlog is not read.
func (q *Queue) Peek(dst []Message, state State, n int) []Message {
	switch state {
	case Ready:
		q.ready.Each(func(m *Message) {
			if n > 0 {
				dst = append(dst, *m)
				n--
			}
		})
	case Deferred:
		dst = q.deferred.Earliest(dst, n)
	}
	for i := range dst {
		dst[i].receipt = 0 // a copy must not release the record
		// The copy outlives the caller's lock, and the original may be
		// finished meanwhile and its memory reused (reuse.go).
		dst[i].Body = bytes.Clone(dst[i].Body)
	}
	return dst
}

// DiskStats reads the counters of the backlog and the store (zero values
// for what does not exist). It needs no lock of the caller's.
func (q *Queue) DiskStats() (backlog, store diskqueue.Stats) {
	if q.backlog != nil {
		backlog = q.backlog.Stats()
	}
	if s := q.store.Load(); s != nil {
		store = s.Stats()
	}
	return backlog, store
}

// Flush takes everything the queue holds in memory for writing to disk at
// a graceful stop: ready messages to the backlog, deferred ones (keeping
// their time) to the store, so that a restart delivers each once. Commit
// and Settle it as any other Pending; nil for a memory-only queue or when
// there is nothing to write.
func (q *Queue) Flush() *Pending {
	if q.backlog == nil || q.ready.Len()+q.deferred.Len() == 0 {
		return nil
	}
	p := q.pending(nil, true)
	p.flush = true
	p.backlog = q.popRing(p.backlog, q.ready.Len())
	q.ready.Clear()
	p.store = append(p.store, q.deferred...)
	q.deferred = nil
	return p
}

// Close releases the disk queues, keeping what they hold. Call it once
// every Pending is settled; it needs no lock of the caller's.
func (q *Queue) Close() error { return q.shut(Disk.Close, Cursor.Close) }

// Delete releases the disk queues and removes what they hold.
func (q *Queue) Delete() error { return q.shut(Disk.Delete, Cursor.Delete) }

func (q *Queue) shut(op func(Disk) error, cursorOp func(Cursor) error) error {
	var err error
	if q.backlog != nil {
		err = op(q.backlog)
	}
	if c := q.cursor.c; c != nil {
		err = errors.Join(err, cursorOp(c))
	}
	q.storeMu.Lock()
	defer q.storeMu.Unlock()
	if s := q.store.Load(); s != nil {
		err = errors.Join(err, op(s.Disk))
	}
	return err
}

// ReplaceBacklog wraps the backlog, for tests that make the disk fail
// (a full disk) under a running channel. Call it under the caller's lock,
// with no Pending outstanding.
func (q *Queue) ReplaceBacklog(wrap func(Disk) Disk) {
	if q.backlog != nil {
		q.backlog = wrap(q.backlog)
	}
}

// RequeueShared is Requeue for a batch given as records the ring may point
// at (a topic's held memory handed over, Held.HandOverMemory): the ring
// holds s's block instead of copying the messages into records of its own,
// so a hand-over costs a channel a ring run per block of records. The
// messages must hold no disk receipt (held memory holds none). Deferred
// messages, those past the memory bound and a batch the attempts limit
// sends away in part are copied as by Requeue, with its outcomes.
func (q *Queue) RequeueShared(s Shared, now int64) *Pending {
	if max := q.policy().MaxAttempts; max > 0 {
		for i := range s.Msgs {
			if s.Msgs[i].Attempts >= max {
				return q.Requeue(s.Msgs, now)
			}
		}
	}
	return q.putFrom(s.Msgs, now, true, &s)
}
