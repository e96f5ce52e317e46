package nsqd

import "github.com/nsqgo/nsq/nsqd/queue"

// putBacklogShared is putBacklog for a run of the topic's held memory
// handed over (queue.Held.HandOverMemory): the channel's memory queue
// points at the topic's records instead of copying them
// (queue.Queue.RequeueShared); what goes past its memory bound is written
// to its disk as putBacklog does, a refusal keeping the messages in memory.
func (c *Channel) putBacklogShared(s queue.Shared) error {
	c.mu.Lock()
	if c.exiting {
		c.mu.Unlock()
		return errExiting
	}
	c.messageCount.Add(uint64(len(s.Msgs)))
	p := c.queue.RequeueShared(s, c.now())
	return c.finishLocked(p)
}

// putBacklogRecords is putBacklog for a batch of the topic's disk backlog
// (the drain): when the channel would put the whole batch on its own disk
// (its memory is full, or it keeps nothing in memory), the records are
// written as they were read (queue.Queue.BeginPutRecords), with c.mu
// released as commit does; otherwise the decoded messages are queued by
// putBacklog. A disk refusal keeps the messages in memory and is returned,
// so the topic keeps its records.
func (c *Channel) putBacklogRecords(b *queue.BacklogBatch) error {
	c.mu.Lock()
	if c.exiting {
		c.mu.Unlock()
		return errExiting
	}
	w, ok := c.queue.BeginPutRecords(b, c.now())
	if !ok {
		c.mu.Unlock()
		return c.putBacklog(b.Messages())
	}
	c.messageCount.Add(uint64(b.Len()))
	c.writers.Add(1)
	c.mu.Unlock()
	defer c.writers.Done()
	c.queue.CommitRecords(&w)
	c.mu.Lock()
	err := c.queue.SettleRecords(&w)
	c.changedLocked()
	c.mu.Unlock()
	return err
}
