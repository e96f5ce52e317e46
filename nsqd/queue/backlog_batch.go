package queue

import (
	"fmt"

	"github.com/nsqgo/nsq/internal/diskqueue"
)

// Moving a topic's disk backlog to its channels' disks (the drain,
// nsqd/topic.go) as records, not messages. A Held and a channel's Queue
// write the same record for a message (AppendRecord, by way of
// Pending.write), so a channel that would put a whole batch read from the
// topic's backlog into its own backlog (its memory is full, or it keeps
// nothing in memory: --mem-queue-size=0) can write the bytes it was given
// as they are: no message decoded, copied into a Pending and encoded again,
// no allocation per message. A channel that keeps any of the batch in
// memory, defers any of it or sends any of it away (the attempts limit)
// takes the decoded messages instead, as Requeue does.

// BacklogBatch is a batch of records read from a Held's backlog by
// ReadRecords, on its way to the channels. Reuse one for every read: its
// slices are kept.
type BacklogBatch struct {
	records []diskqueue.Record // read and valid, oldest first
	data    [][]byte           // their bytes, for Disk.Put
	seqs    []uint64           // and their Seqs, for Ack
	msgs    []Message          // their messages, once Messages decoded them
	decoded bool

	legacy     bool  // a record is upstream's: it must be encoded anew
	deliverAt  int64 // the latest DeliverAt
	maxAttempt uint16
	bodyBytes  int64

	// kept: a queue holds messages decoded from the records, whose bodies
	// are the records' memory: it must not be reused (ReleaseRecords).
	kept bool
}

// Len is the number of messages in the batch.
func (b *BacklogBatch) Len() int { return len(b.data) }

// BodyBytes is the sum of their bodies' lengths.
func (b *BacklogBatch) BodyBytes() int64 { return b.bodyBytes }

// Messages decodes the batch (once): only a channel that keeps, defers or
// sends away some of it needs the messages. The bodies are the records'
// memory: the batch's records are then released without letting the
// backlog reuse it (ReleaseRecords), since whoever queued the messages may
// keep them. The slice is the batch's, valid until the next read.
func (b *BacklogBatch) Messages() []Message {
	b.kept = true
	if !b.decoded {
		b.decoded = true
		for _, r := range b.records {
			m, _ := DecodeRecord(r.Data, r.Legacy) // index checked it decodes
			b.msgs = append(b.msgs, m)
		}
	}
	return b.msgs
}

// reset empties the batch for the next read, keeping no record's memory
// alive.
func (b *BacklogBatch) reset() {
	clear(b.records)
	clear(b.data)
	clear(b.msgs)
	*b = BacklogBatch{records: b.records[:0], data: b.data[:0], seqs: b.seqs[:0], msgs: b.msgs[:0]}
}

// index reads each record's header (recordHeader) and notes what the
// queues decide on. A record that does not decode is logged, acknowledged
// and skipped, as decodeRecords does.
func (b *BacklogBatch) index(d Disk, cfg *Config) {
	valid := b.records[:0]
	for _, r := range b.records {
		deliverAt, attempts, bodyLen, ok := recordHeader(r.Data, r.Legacy)
		if !ok {
			_, err := DecodeRecord(r.Data, r.Legacy)
			cfg.Logf("DISKQUEUE(%s): failed to decode message - %s", cfg.Name, err)
			d.Ack(r.Seq)
			continue
		}
		b.legacy = b.legacy || r.Legacy
		b.deliverAt = max(b.deliverAt, deliverAt)
		b.maxAttempt = max(b.maxAttempt, attempts)
		b.bodyBytes += int64(bodyLen)
		valid = append(valid, r)
		b.data = append(b.data, r.Data)
		b.seqs = append(b.seqs, r.Seq)
	}
	clear(b.records[len(valid):])
	b.records = valid
}

// ReadRecords reads up to n records of the backlog into b, replacing what
// it held. As with ReadBacklog, the records stay on disk until released
// (ReleaseRecords). One reader at a time; no lock of the caller's.
func (h *Held) ReadRecords(b *BacklogBatch, n int) error {
	b.reset()
	if h.backlog == nil {
		return nil
	}
	var err error
	if d, ok := h.backlog.(reuser); ok {
		b.records, err = d.ReadAppend(b.records, n)
	} else {
		var records []diskqueue.Record
		records, err = h.backlog.Read(n)
		b.records = append(b.records, records...)
	}
	b.index(h.backlog, &h.cfg)
	if err != nil {
		return fmt.Errorf("read from disk: %w", err)
	}
	return nil
}

// ReleaseRecords releases the records of b, stored elsewhere now. When
// nothing holds a message decoded from them (every channel wrote the
// records as they were), the backlog may reuse their memory for a later
// read (internal/diskqueue/readmem.go): b must then not be used until the
// next ReadRecords.
func (h *Held) ReleaseRecords(b *BacklogBatch) {
	if h.backlog == nil || len(b.seqs) == 0 {
		return
	}
	if d, ok := h.backlog.(reuser); ok && !b.kept {
		for _, seq := range b.seqs {
			d.Done(seq)
		}
		return
	}
	h.backlog.Ack(b.seqs...)
}

// RecordsPut is a BacklogBatch being written to a channel's backlog as it
// is: begun under the caller's lock (BeginPutRecords), written without it
// (CommitRecords), settled under it again (SettleRecords), as a Pending is.
// Until settled its messages are in no part of the queue.
type RecordsPut struct {
	batch *BacklogBatch
	epoch uint64 // the queue's Empty count when begun (empty.go)
	err   error
}

// BeginPutRecords starts writing b to the backlog as it is, when the queue
// would put the whole batch there: ok is false when it would not (it has
// no disk, has room in memory, or a message is deferred, is upstream's
// record or has reached the attempts limit); the caller then queues
// b.Messages() with Requeue. Under the caller's lock.
func (q *Queue) BeginPutRecords(b *BacklogBatch, now int64) (w RecordsPut, ok bool) {
	if q.backlog == nil || b.Len() == 0 || b.legacy || b.deliverAt > now {
		return RecordsPut{}, false
	}
	if max := q.policy().MaxAttempts; max > 0 && b.maxAttempt >= max {
		return RecordsPut{}, false
	}
	// Requeue's bound (enqueueFrom, for messages that belong to the queue
	// already): the memory bound, or none while everything goes to disk.
	if !q.bound.toDisk && q.cfg.MemSize > q.ready.Len() {
		return RecordsPut{}, false
	}
	return RecordsPut{batch: b, epoch: q.empties.epoch.Load()}, true
}

// CommitRecords writes a RecordsPut: one grouped write of the records as
// they were read. It needs no lock of the caller's. Not inside an Empty's
// disk part: the write lands wholly before it or after it, and one begun
// before it is not written at all (Commit's rule).
func (q *Queue) CommitRecords(w *RecordsPut) {
	q.empties.mu.RLock()
	defer q.empties.mu.RUnlock()
	if w.epoch != q.empties.epoch.Load() {
		return
	}
	_, w.err = q.backlog.Put(w.batch.data)
	if q.cfg.Wrote != nil {
		q.cfg.Wrote(w.err)
	}
}

// SettleRecords applies a committed RecordsPut under the caller's lock:
// written, the messages are in the backlog; refused, they are kept in
// memory (they belong to the channel already, as Requeue keeps them) and
// the error says so, for the topic to keep its own records of them. Begun
// before an Empty, none of it is queued.
func (q *Queue) SettleRecords(w *RecordsPut) error {
	if w.epoch != q.empties.epoch.Load() {
		return nil
	}
	if w.err == nil {
		q.bound.backlogBytes.Add(w.batch.bodyBytes)
		return nil
	}
	msgs := w.batch.Messages()
	q.cfg.Logf("CHANNEL(%s): keeping %d messages in memory: write to disk: %s", q.cfg.Name, len(msgs), w.err)
	q.pushReady(msgs)
	return fmt.Errorf("write to disk: %w", w.err)
}
