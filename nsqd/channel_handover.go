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
