package nsqd

import "github.com/nsqgo/nsq/nsqd/queue"

// What a topic does with the messages it holds (nsqd/queue's Held) while it
// has no channel, is paused or is starting; topic.go decides when.

// holdOverflow finishes a held batch that does not fit in memory: its disk
// part is written (p, from Held.Put) with no topic lock held, so other
// publishers, readers of the topic's state and a channel being created do
// not wait for the write; then the reserved memory room is filled. The
// topic may have begun to distribute meanwhile: the hand-off then runs
// again for this batch. The caller added to holdWrites.
func (t *Topic) holdOverflow(p *queue.Pending) error {
	defer t.holdWrites.Done()
	t.held.Commit(p)
	t.mu.RLock()
	err := t.held.Settle(p)
	release := err == nil && !t.exiting && t.distributingLocked()
	t.mu.RUnlock()
	if release {
		t.mu.Lock()
		t.releaseHeldLocked()
		t.mu.Unlock()
	}
	return err
}

// holdNow holds a batch in one call, its disk part written where the
// caller is (a topic with a bound, under its locks: topic_bound.go).
// toDisk puts all of it behind the disk backlog. dropped is what a topic
// without a disk had no room for.
func (t *Topic) holdNow(msgs []Message, toDisk bool) (dropped int, err error) {
	var p *queue.Pending
	if toDisk {
		p = t.held.PutToDisk(msgs)
	} else {
		p, dropped, _ = t.held.Put(msgs)
	}
	if p == nil {
		return dropped, nil
	}
	t.held.Commit(p)
	return 0, t.held.Settle(p)
}

// flushHeld writes the topic's memory backlog to disk at shutdown, after
// every publisher and the drain have stopped.
func (t *Topic) flushHeld() {
	n, err := t.held.Flush()
	if n == 0 {
		return
	}
	t.nsqd.logf(infoLevel, "TOPIC(%s): flushing %d memory messages to backend", t.name, n)
	if err != nil {
		t.nsqd.logf(errorLevel, "TOPIC(%s): failed to flush %d messages to disk: %s", t.name, n, err)
	}
}
