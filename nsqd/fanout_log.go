package nsqd

import (
	"fmt"
	"sync"
	"sync/atomic"

	"github.com/nsqgo/nsq/internal/diskqueue"
	"github.com/nsqgo/nsq/nsqd/queue"
)

// The topic log (--fanout-log; README, "Fan-out: the topic log").
//
// Past the channels' memory bound every channel of a topic writes every
// message of a fan-out to its own disk queue: one write and one fsync per
// channel for the same bytes (fanout_commit.go overlaps them, but they
// still add up on two cores). With the flag, a topic writes such a batch
// once, to its log (an internal/diskqueue queue opened with Options.Log),
// and each channel that would have spilled it reads it through a cursor of
// its own (named after the channel), as a second backlog of its queue
// (nsqd/queue/cursor_backlog.go): FIN acknowledges the cursor's record, REQ
// and timeouts requeue as before (into the channel's own memory or
// backlog), and the log removes a segment once every cursor is done with
// it.
//
// Addressing. A record of the log is a channel's iff it was put while the
// channel's cursor was joined (diskqueue's Cursor.Join/Leave). A channel
// joins when its memory has no room for a batch (before that batch is put),
// and leaves once its cursor has caught up (depth 0) and its memory has
// room again. Joins and leaves happen only in a fan-out holding the log's
// gate for writing; every fan-out that writes the log holds the gate (for
// reading, usually) from its decision to the end of its log write, so no
// batch can be put between a decision and the Join it relies on, nor after
// a Leave that would miss it. While joined, a channel takes none of a
// fan-out's batch into its queue: the batch is its through the log.
//
// What keeps today's paths: a topic with fewer than two channels that could
// join, ephemeral channels (no disk), channels with a bound (their own
// queue counts and drops), batches holding a deferred message (DPUB: the
// whole batch goes the old way, so a deferred message keeps its store),
// requeues, the dead path, and the topic's held messages.
//
// Lifecycle. The log is opened with the topic when the flag is on or an
// earlier run left one (its cursors may hold records); each durable
// channel opens its cursor when it is created, so a restart reopens it by
// name with what it had not finished. Emptying a channel skips its cursor
// to the end (Cursor.Empty), deleting it deletes the cursor, deleting the
// topic deletes the log. A channel created after batches were logged joins
// over nothing: it does not receive them.

// topicLogSuffix names a topic's log "<topic>:~log": ':' and '~' occur in
// no topic or channel name, so it meets neither a channel's queue
// ("<topic>:<channel>") nor a deferred store ("...:deferred",
// queue.StoreSuffix).
const topicLogSuffix = ":~log"

// topicLog is a topic's log, if it has one.
type topicLog struct {
	q *diskqueue.Queue // nil: none; set at the topic's creation
	// gate orders the cursors' Join and Leave (held for writing) against
	// the fan-outs that write the log (held for reading, or for writing
	// by a fan-out that joins or leaves channels) from their decision to
	// the end of their write. Lock order: Topic.mu, gate, Channel.mu
	// (LOCKS.md).
	gate sync.RWMutex
	// joined counts the channels joined, changed with their joined
	// (under the gate held for writing): a topic with one channel and
	// none joined skips the gate (beginLogLocked). A joined channel that
	// was deleted stays counted: its topic then takes the gate, which is
	// only slower.
	joined atomic.Int32
}

// channelLog is a channel's part of its topic's log.
type channelLog struct {
	cursor *diskqueue.Cursor // nil: none; set before the channel is visible
	// joined mirrors the cursor's Joined: changed under the topic log's
	// gate held for writing, read under it held either way.
	joined bool
}

// openLog opens the topic's log when the flag is on or an earlier run left
// one. Ephemeral topics have none.
func (t *Topic) openLog() error {
	if t.ephemeral {
		return nil
	}
	n := t.nsqd
	opts := n.diskQueueOptions()
	opts.Name = t.name + topicLogSuffix
	if !n.opts.FanoutLog {
		exists, err := diskqueue.Exists(opts.Dir, opts.Name)
		if err != nil || !exists {
			return err
		}
	}
	opts.Log = true
	opts.ReuseReads = true // the channels' Finish says when a body is read no more
	q, err := diskqueue.Open(opts)
	if err != nil {
		return fmt.Errorf("topic %s: log: %w", t.name, err)
	}
	t.log.q = q
	return nil
}

// closeLog closes (or deletes) the log once every channel has closed its
// cursor.
func (t *Topic) closeLog(deleted bool) error {
	if t.log.q == nil {
		return nil
	}
	if deleted {
		return t.log.q.Delete()
	}
	return t.log.q.Close()
}

// attachLogCursor gives a new durable channel its cursor of the topic's
// log, before the channel is visible. On error the channel is closed.
func (t *Topic) attachLogCursor(c *Channel) error {
	if t.log.q == nil || c.ephemeral || !c.queue.Durable() {
		return nil
	}
	cur, err := t.log.q.Cursor(c.name)
	if err != nil {
		c.close(false)
		return fmt.Errorf("channel %s:%s: %w", t.name, c.name, err)
	}
	c.log.cursor = cur
	if cur.Joined() {
		// Left joined by an earlier run: a fan-out leaves it once it has
		// caught up. The channel is not visible yet; the gate orders this
		// against the fan-outs that will see it.
		t.log.gate.Lock()
		c.log.joined = true
		t.log.joined.Add(1)
		t.log.gate.Unlock()
	}
	c.mu.Lock()
	c.queue.AttachCursor(cur)
	c.mu.Unlock()
	return nil
}

// logFanOut is a fan-out's use of the log: whether it holds the gate, and
// how.
type logFanOut struct {
	held      bool // the gate is held
	exclusive bool // for writing
	write     bool // some channel is joined: the batch goes to the log
}

// logs reports whether c takes this fan-out's batch through the log.
func (lf *logFanOut) logs(c *Channel) bool { return lf.write && c.log.joined }

// beginLogLocked decides which channels take the batch through the log,
// joining and leaving cursors as needed, and takes the gate; endLog
// writes the batch and releases it. Caller holds t.mu (read or write).
func (t *Topic) beginLogLocked(msgs []Message) logFanOut {
	if t.log.q == nil || len(t.channels) < 2 && t.log.joined.Load() == 0 || hasDeferred(msgs) {
		// No channel could join (it takes two), and none is joined: no
		// decision to order against (a join needs this fan-out's lock).
		return logFanOut{}
	}
	lf := logFanOut{held: true}
	t.log.gate.RLock()
	if t.logChangesLocked(len(msgs), false) {
		t.log.gate.RUnlock()
		t.log.gate.Lock()
		lf.exclusive = true
		t.logChangesLocked(len(msgs), true)
	}
	for _, c := range t.channels {
		if c.log.joined {
			lf.write = true
			break
		}
	}
	return lf
}

// logChangesLocked reports whether a channel should join or leave before
// a batch of n messages; with apply (the gate held for writing) it joins
// and leaves them. Caller holds t.mu and the gate.
func (t *Topic) logChangesLocked(n int, apply bool) bool {
	can := 0
	for _, c := range t.channels {
		if t.canLog(c) {
			can++
		}
	}
	changes := false
	for _, c := range t.channels {
		join, leave := t.logChange(c, n, can >= 2)
		if !join && !leave {
			continue
		}
		changes = true
		if !apply {
			return true
		}
		if join {
			if err := c.log.cursor.Join(); err != nil {
				// Not joined: the channel keeps to its own backlog.
				t.nsqd.logf(errorLevel, "CHANNEL(%s:%s): %s", t.name, c.name, err)
				continue
			}
			c.log.joined = true
			t.log.joined.Add(1)
		} else {
			if err := c.log.cursor.Leave(); err != nil {
				t.nsqd.logf(errorLevel, "CHANNEL(%s:%s): %s", t.name, c.name, err)
				continue
			}
			c.log.joined = false
			t.log.joined.Add(-1)
		}
	}
	return changes
}

// canLog reports whether c may take batches through the log: the flag is
// on, it has a cursor, and no bound (a bound counts and drops in the
// channel's own queue).
func (t *Topic) canLog(c *Channel) bool {
	return t.nsqd.opts.FanoutLog && c.log.cursor != nil && !c.policy().Bound().On()
}

// logChange says whether c should join (its memory has no room for a batch
// of n) or leave (its cursor has caught up and its memory has room, or it
// may log no more).
func (t *Topic) logChange(c *Channel, n int, several bool) (join, leave bool) {
	if c.log.cursor == nil {
		return false, false
	}
	may := several && t.canLog(c)
	if c.log.joined {
		if !may {
			return false, true
		}
		if c.queue.CursorDepth() > 0 {
			return false, false // not caught up
		}
		return false, c.memoryRoom(n)
	}
	return may && !c.memoryRoom(n), false
}

// memoryRoom reports whether c's memory has room for n more messages.
func (c *Channel) memoryRoom(n int) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.queue.MemoryRoom(n)
}

// hasDeferred reports whether a batch holds a deferred message (DPUB).
func hasDeferred(msgs []Message) bool {
	for i := range msgs {
		if msgs[i].DeliverAt != 0 {
			return true
		}
	}
	return false
}

// endLog writes the batch to the log for the joined channels, counts it
// in them and wakes their consumers, and releases the gate. Caller holds
// t.mu (read or write), as for beginLogLocked.
func (t *Topic) endLog(lf logFanOut, msgs []Message) error {
	if !lf.held {
		return nil
	}
	var err error
	if lf.write {
		if err = queue.PutLog(t.log.q, msgs); err != nil {
			// None of the joined channels has the batch: the publisher
			// is told, as when a channel's own disk refuses it.
			err = fmt.Errorf("topic %s: %w", t.name, err)
		} else {
			for _, c := range t.channels {
				if c.log.joined {
					c.messageCount.Add(uint64(len(msgs)))
					c.mu.Lock()
					c.wakeLocked()
					c.mu.Unlock()
				}
			}
		}
	}
	if lf.exclusive {
		t.log.gate.Unlock()
	} else {
		t.log.gate.RUnlock()
	}
	return err
}
