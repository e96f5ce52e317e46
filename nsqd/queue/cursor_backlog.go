package queue

import (
	"fmt"
	"sync/atomic"

	"github.com/nsqgo/nsq/internal/diskqueue"
)

// A channel's second backlog: its cursor of the topic's log (--fanout-log;
// nsqd/fanout_log.go). Past the channels' memory a topic writes a batch
// once, to its log, instead of each channel writing it to its own backlog;
// each channel that would have spilled the batch reads it through its
// cursor. To the queue the cursor is a backlog it never writes: Take asks
// for backlog reads while either holds records, ReadBacklog reads both (in
// turns), Depth and BacklogDepth count both, Finish acknowledges the one a
// message came from (its receipt has cursorBit), and Empty, Close and
// Delete act on both. Everything the queue writes itself (requeues past the
// memory bound, deferred messages, a graceful stop's flush) still goes to
// its own backlog and store.

// Cursor is what the queue needs of its cursor of a topic log;
// *diskqueue.Cursor is one.
type Cursor interface {
	ReadAppend(dst []diskqueue.Record, max int) ([]diskqueue.Record, error)
	Ack(seqs ...uint64)
	Done(seq uint64)
	Keep(seqs ...uint64)
	Depth() int64
	Joined() bool
	Stats() diskqueue.Stats
	Empty() error
	Close() error
	Delete() error
}

// cursorBit marks a receipt of the cursor's records (below storeBit; a
// sequence number never reaches either).
const cursorBit receipt = 1 << 62

func cursorReceipt(seq uint64) receipt { return receipt(seq) | cursorBit }

func (r receipt) inCursor() bool { return r&cursorBit != 0 }

// cursorState is the queue's cursor: set once, by AttachCursor, before any
// read.
type cursorState struct {
	c Cursor
	// preferCursor alternates which of the two backlogs a ReadBacklog
	// reads first (concurrent readers: an atomic).
	preferCursor atomic.Bool
}

// AttachCursor gives the queue its cursor of the topic's log. Call it once,
// under the caller's lock, before the queue is read.
func (q *Queue) AttachCursor(c Cursor) { q.cursor.c = c }

// HasCursor reports whether the queue reads a topic log's cursor too.
func (q *Queue) HasCursor() bool { return q.cursor.c != nil }

// CursorDepth is the number of the cursor's records not yet read (0 only
// when none is left: internal/diskqueue judges the tail against the write
// end its count includes). It needs no lock of the caller's.
func (q *Queue) CursorDepth() int64 {
	if q.cursor.c == nil {
		return 0
	}
	return q.cursor.c.Depth()
}

// CursorStats reads the cursor's counters (zero values without one). It
// needs no lock of the caller's.
func (q *Queue) CursorStats() diskqueue.Stats {
	if q.cursor.c == nil {
		return diskqueue.Stats{}
	}
	return q.cursor.c.Stats()
}

// ownBacklogDepth is the depth of the queue's own backlog.
func (q *Queue) ownBacklogDepth() int64 {
	if q.backlog == nil {
		return 0
	}
	return q.backlog.Depth()
}

// readBoth is ReadBacklog's read when the queue has a cursor: up to n
// messages from the own backlog and the cursor, the one served first
// alternating between calls, so neither starves the other.
func (q *Queue) readBoth(dst []Message, n int, now int64, later []Message) ([]Message, []Message, error) {
	cursorFirst := !q.cursor.preferCursor.Load()
	q.cursor.preferCursor.Store(cursorFirst)
	var err error
	start := len(dst) + len(later)
	for pass := 0; pass < 2; pass++ {
		fromCursor := cursorFirst == (pass == 0)
		left := n - (len(dst) + len(later) - start)
		if left <= 0 {
			break
		}
		var e error
		if fromCursor {
			if q.CursorDepth() == 0 {
				continue
			}
			dst, later, e = q.readCursor(dst, left, now, later)
		} else {
			if q.ownBacklogDepth() == 0 {
				continue
			}
			dst, later, e = q.readOwnBacklog(dst, left, now, later)
		}
		if e != nil && err == nil {
			err = e
		}
	}
	return dst, later, err
}

// readCursor reads up to n messages from the cursor, as ReadBacklog reads
// the backlog: due ones to dst, the others to later.
func (q *Queue) readCursor(dst []Message, n int, now int64, later []Message) ([]Message, []Message, error) {
	ttl := q.policy().MsgTTL
	box, _ := q.records.Get().(*[]diskqueue.Record)
	if box == nil {
		box = new([]diskqueue.Record)
	}
	var err error
	*box, err = q.cursor.c.ReadAppend((*box)[:0], n)
	for _, r := range *box {
		m, decodeErr := DecodeRecord(r.Data, r.Legacy)
		if decodeErr != nil {
			q.cfg.Logf("DISKQUEUE(%s): failed to decode message of the topic log - %s", q.cfg.Name, decodeErr)
			q.cursor.c.Ack(r.Seq)
			continue
		}
		m.receipt = cursorReceipt(r.Seq)
		if m.DeliverAt > now || (ttl > 0 && expired(&m, now, ttl)) {
			later = append(later, m)
			continue
		}
		dst = append(dst, m)
	}
	q.recycleRecords(box)
	if err != nil {
		err = fmt.Errorf("read from the topic log: %w", err)
	}
	return dst, later, err
}

// peekCursor is PeekBacklog's part for the cursor: up to n of its
// records, in the order it reads them, after the own backlog's.
func (q *Queue) peekCursor(dst []Message, n int) ([]Message, error) {
	sc, ok := q.cursor.c.(scanner)
	if !ok || n <= 0 {
		return dst, nil
	}
	dst, err := peekRecords(sc, dst, n)
	if err != nil {
		return dst, fmt.Errorf("peek the topic log: %w", err)
	}
	return dst, nil
}

// PutLog writes msgs to a topic log as the records a channel's backlog
// would hold (AppendRecord), in one group commit of the log.
func PutLog(log *diskqueue.Queue, msgs []Message) error {
	if _, err := log.PutBatch(&messageBatch{msgs: msgs}); err != nil {
		return fmt.Errorf("write to the topic log: %w", err)
	}
	return nil
}
