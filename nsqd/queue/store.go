package queue

import (
	"bytes"
	"fmt"
)

// The deferred store. A deferred message whose copy is durable (read from
// the backlog, or on a channel that sends everything through disk) is also
// written to the store: a disk queue of its own, named Name+StoreSuffix.
// Its record there replaces the one it had, so a crash does not lose it,
// and a long delay does not hold the backlog: a record stays on disk until
// it is acknowledged, and with it every segment after it
// (internal/diskqueue/FORMAT.md, "Acknowledgements and redelivery").
//
// The store is opened with diskqueue's ReadOnWrite: a write returns its
// records' Seqs and they count as read at once, so every record the store
// holds is a message in the heap (with a store receipt) or one a consumer
// holds, and it is never read back except at Open, where what an earlier
// run left is loaded into the heap. Only deferred messages can therefore
// hold its segments, and it is compacted when they do (compactionDue).

// openStore opens the store on first use, loading what an earlier run left.
// It runs without the caller's lock (Commit), or in Open.
func (q *Queue) openStore() (Disk, error) {
	if s := q.store.Load(); s != nil {
		return s.Disk, nil
	}
	q.storeMu.Lock()
	defer q.storeMu.Unlock()
	if s := q.store.Load(); s != nil {
		return s.Disk, nil
	}
	store, err := q.openDisk(q.cfg.Name+StoreSuffix, true)
	if err != nil {
		return nil, err
	}
	for {
		records, err := store.Read(loadBatch)
		for _, r := range records {
			m, decodeErr := DecodeRecord(r.Data, r.Legacy)
			if decodeErr != nil {
				q.cfg.Logf("DISKQUEUE(%s%s): failed to decode message - %s", q.cfg.Name, StoreSuffix, decodeErr)
				store.Ack(r.Seq)
				continue
			}
			m.receipt = storeReceipt(r.Seq)
			// Only Open loads (a store opened later has nothing to load):
			// the caller cannot be using the heap yet.
			q.deferred.Push(m)
		}
		if err != nil {
			store.Close()
			return nil, fmt.Errorf("read deferred messages: %w", err)
		}
		if len(records) == 0 {
			break
		}
	}
	q.store.Store(&diskRef{store})
	return store, nil
}

// settleStore applies a store write: each message releases the record it
// had and joins the heap with its new one. If the store refused them, a
// message that still has its old record waits in the heap with that
// record held: nothing is lost, the backlog is only held longer. One that
// has no other record (just published) is held in memory only when it
// already belonged to the channel, and the error is returned: the caller
// must not report it durable.
func (q *Queue) settleStore(p *Pending) error {
	if p.storeErr != nil {
		unrecorded := 0
		for _, m := range p.store {
			if m.receipt == 0 {
				unrecorded++
				if !p.keep {
					continue
				}
			}
			if !p.flush {
				q.deferred.Push(m)
			}
		}
		q.cfg.Logf("CHANNEL(%s): deferred store refused %d messages (%d with no other record on disk): %s",
			q.cfg.Name, len(p.store), unrecorded, p.storeErr)
		if unrecorded > 0 {
			return fmt.Errorf("write deferred message to disk: %w", p.storeErr)
		}
		return nil
	}
	for i := range p.store {
		m := &p.store[i]
		if m.receipt != 0 && !m.receipt.inStore() && !p.flush {
			// The body was read from the backlog, into memory shared with
			// other messages: a copy of its own keeps that memory from
			// staying pinned for as long as the delay.
			m.Body = bytes.Clone(m.Body)
		}
		q.release(m.receipt)
		m.receipt = storeReceipt(p.storeFirst + uint64(i))
		q.storeWritten += int64(RecordSize(m))
		if !p.flush {
			q.deferred.Push(*m)
		}
	}
	q.storeWrites += len(p.store)
	return nil
}

// compactionDue returns a Pending that writes the store's live messages
// again at its end, once they hold segments that would otherwise go.
// Short delays churn through the store while a long one holds its record,
// and with it every segment after it: rewriting the few live messages once
// the store has written more than twice as many, and at least two
// segments, lets those segments go.
func (q *Queue) compactionDue() *Pending {
	if q.cfg.Disk == nil || q.storeWritten < 2*q.cfg.Disk.MaxBytesPerFile || q.storeWrites < q.storeWritesDue {
		return nil
	}
	inStore := func(m *Message) bool { return m.receipt.inStore() }
	// Counting the live records is a scan of the heap: when there are too
	// many to rewrite yet, the next count waits until there may not be.
	if live := q.deferred.Count(inStore); q.storeWrites < 2*live {
		q.storeWritesDue = 2 * live
		return nil
	}
	q.storeWrites, q.storeWritten, q.storeWritesDue = 0, 0, 0
	p := q.pending(nil, true)
	// Each has its record in the store: a refusal keeps it there.
	p.store = q.deferred.TakeIf(inStore, p.store)
	if len(p.store) == 0 {
		q.recycle(p)
		return nil
	}
	return p
}
