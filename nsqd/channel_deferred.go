package nsqd

import (
	"fmt"
	"time"

	"github.com/nsqgo/nsq/internal/diskqueue"
	"github.com/nsqgo/nsq/internal/protocol"
)

// Deferred messages (DPUB, REQ with a delay, disk records not yet due) wait
// in the channel's heap until their DeliverAt; a timer moves them to the
// ready queue.
//
// A deferred message whose copy is durable (read from disk, or on a channel
// that sends everything through disk) is also written to the channel's
// deferred store: a disk queue of its own, named "<topic>:<channel>:deferred"
// (':' cannot occur in a name, so it never meets a real queue). Its record
// there replaces the one it had, so a crash does not lose it, and a long
// delay does not hold the channel's queue: a record of the queue stays on
// disk until it is acknowledged, and with it every segment after it
// (internal/diskqueue/FORMAT.md, "Acknowledgements and redelivery"). The store is read to its end at once,
// every record going to the heap, so its depth is always zero and only
// deferred messages can hold its segments; it is compacted when they do
// (compactDeferredStoreLocked). It is opened when first needed, or at
// start-up when it has files.

// deferredStoreSuffix turns a channel's queue name into its store's name.
const deferredStoreSuffix = ":deferred"

// deferMessage holds a message until its DeliverAt (REQ with a delay).
func (c *Channel) deferMessage(m Message) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.exiting {
		return
	}
	c.deferBatch = append(c.deferBatch[:0], m)
	c.deferLocked(c.deferBatch, true)
	clear(c.deferBatch)
}

// deferAll holds messages until their DeliverAt.
func (c *Channel) deferAll(msgs []Message) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.exiting {
		return
	}
	c.deferLocked(msgs, true)
}

// deferLocked holds each message until its DeliverAt: the durable ones by
// way of the deferred store, the others in memory only. msgs is not kept.
// It returns the store's error when it could not take a message that has
// no other durable record; with keep set such a message is held in memory
// all the same (the caller keeps its own record), without it the message
// is not held (the publisher is told it failed).
func (c *Channel) deferLocked(msgs []Message, keep bool) error {
	durable := c.storeBatch[:0]
	throughDisk := c.nsqd.opts.MemQueueSize == 0
	for _, m := range msgs {
		if c.backend != nil && (m.diskSeq != 0 || throughDisk) {
			durable = append(durable, m)
		} else {
			c.holdLocked(m)
		}
	}
	var err error
	if len(durable) > 0 {
		err = c.storeDeferredLocked(durable, keep)
		c.compactDeferredStoreLocked()
	}
	clear(durable)
	c.storeBatch = durable[:0]
	return err
}

// storeDeferredLocked writes durable deferred messages to the store, then
// releases the records they had and reads the new ones back into the heap.
// If the store cannot take them, a message that still has its old record
// waits in memory with that record held: nothing is lost, the queue is only
// held longer. One that has no other record (just published) is held in
// memory only with keep set, and the error is returned: the caller must not
// report it durable.
func (c *Channel) storeDeferredLocked(msgs []Message, keep bool) error {
	store, err := c.deferredStoreLocked()
	if err == nil {
		err = store.Put(msgs)
	}
	if err != nil {
		unrecorded := 0
		for _, m := range msgs {
			if m.diskSeq == 0 {
				unrecorded++
				if !keep {
					continue
				}
			}
			c.holdLocked(m)
		}
		c.nsqd.logf(errorLevel, "CHANNEL(%s:%s): deferred store refused %d messages (%d with no other record on disk): %s",
			c.topicName, c.name, len(msgs), unrecorded, err)
		if unrecorded > 0 {
			return fmt.Errorf("write deferred message to disk: %w", err)
		}
		return nil
	}
	c.releaseAllLocked(msgs)
	c.loadDeferredLocked(len(msgs))
	for i := range msgs {
		c.storeWritten += int64(diskRecordHeader + protocol.MessageHeaderLength + len(msgs[i].Body))
	}
	c.storeWrites += len(msgs)
	return nil
}

// compactDeferredStoreLocked writes the store's live messages again at its
// end and releases their old records. Short delays churn through the store
// while a long one holds its record, and with it every segment after it:
// rewriting the few live messages once the store has written more than
// twice as many, and at least two segments, lets those segments go.
func (c *Channel) compactDeferredStoreLocked() {
	if c.storeWritten < 2*c.nsqd.opts.MaxBytesPerFile || c.storeWrites < c.storeWritesDue {
		return
	}
	// Counting the live records is a scan of the heap: when there are
	// too many to rewrite yet, the next count waits until there may not be.
	if live := c.deferred.Count(func(m *Message) bool { return m.deferredRecord }); c.storeWrites < 2*live {
		c.storeWritesDue = 2 * live
		return
	}
	live := c.deferred.TakeIf(func(m *Message) bool { return m.deferredRecord }, c.compacting[:0])
	if len(live) > 0 {
		// Each has its record in the store: a refusal keeps it there.
		c.storeDeferredLocked(live, true)
	}
	clear(live)
	c.compacting = live[:0]
	c.storeWrites, c.storeWritten, c.storeWritesDue = 0, 0, 0
}

// loadDeferredLocked moves every record of the store not yet read into the
// heap, each message naming its record there: the store is always read to
// its end, so every record it holds is a message the channel holds. batch
// is how many records to read at a time (the number just written, when
// reading back, so the read allocates no more than it needs).
func (c *Channel) loadDeferredLocked(batch int) {
	for {
		var err error
		c.loaded, err = c.deferredStore.ReadInto(c.loaded[:0], batch)
		for _, m := range c.loaded {
			m.deferredRecord = true
			c.holdLocked(m)
		}
		done := len(c.loaded) == 0
		clear(c.loaded)
		if err != nil {
			c.nsqd.logf(errorLevel, "CHANNEL(%s:%s): read deferred messages from disk: %s", c.topicName, c.name, err)
			return
		}
		if done {
			return
		}
	}
}

// deferredStoreLocked opens the store on first use.
func (c *Channel) deferredStoreLocked() (BackendQueue, error) {
	if c.deferredStore == nil {
		store, err := c.nsqd.openDiskBackend(c.queueName() + deferredStoreSuffix)
		if err != nil {
			return nil, err
		}
		c.deferredStore = store
	}
	return c.deferredStore, nil
}

// openDeferredStoreIfPresent opens and loads the store a previous run left,
// at start-up; a channel that never deferred a durable message has none.
func (c *Channel) openDeferredStoreIfPresent() error {
	if c.backend == nil {
		return nil
	}
	exists, err := diskqueue.Exists(c.nsqd.dataPath(), c.queueName()+deferredStoreSuffix)
	if err != nil || !exists {
		return err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if _, err := c.deferredStoreLocked(); err != nil {
		return err
	}
	c.loadDeferredLocked(maxDeliveryBatch)
	return nil
}

// holdLocked puts one message in the heap and arms the timer if it is now
// the first due.
func (c *Channel) holdLocked(m Message) {
	previous := c.deferred.Next()
	c.deferred.Push(m)
	if previous == 0 || m.DeliverAt < previous {
		c.armDeferTimerLocked()
	}
}

func (c *Channel) armDeferTimerLocked() {
	next := c.deferred.Next()
	if next == 0 {
		return
	}
	wait := time.Duration(next - time.Now().UnixNano())
	if c.deferTimer == nil {
		c.deferTimer = time.AfterFunc(wait, c.promoteDeferred)
		return
	}
	c.deferTimer.Reset(wait)
}

// promoteDeferred runs on the defer timer: due messages become ready. One
// from the store keeps its record there until it is FIN'd or written to
// the queue.
func (c *Channel) promoteDeferred() {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.exiting {
		return
	}
	c.scratch = c.deferred.PopDue(time.Now().UnixNano(), c.scratch[:0])
	c.keepLocked(c.scratch)
	clear(c.scratch)
	c.armDeferTimerLocked()
}

// flushDeferredLocked writes the heap to disk at a graceful stop. Every
// message gets a new record in the store and its old record is released,
// so a clean restart reads each once.
func (c *Channel) flushDeferredLocked() {
	deferred := []Message(c.deferred)
	c.deferred = nil
	if len(deferred) == 0 || c.backend == nil {
		return
	}
	store, err := c.deferredStoreLocked()
	if err != nil {
		// The queue keeps DeliverAt too: a restart defers them again.
		c.nsqd.logf(errorLevel, "CHANNEL(%s:%s): open deferred store: %s; flushing deferred messages to the queue", c.topicName, c.name, err)
		store = c.backend
	}
	if err := store.Put(deferred); err != nil {
		c.nsqd.logf(errorLevel, "CHANNEL(%s:%s): failed to flush %d deferred messages to disk: %s", c.topicName, c.name, len(deferred), err)
		return
	}
	c.releaseAllLocked(deferred)
}
