package nsqd

import (
	"errors"
	"fmt"
	"sync"
	"sync/atomic"

	"github.com/nsqgo/nsq/nsqd/queue"
)

// A channel's bound (issue 12; README, "Bounded queues"): the check is the
// queue's (queue.PutBounded); the channel supplies the policy, sends what
// drop-oldest pushed out to its dead path (kill, channel_dead.go) and
// counts.

// channelBound is what a channel counts about its bound, and the dead set
// admin's moves (channel_redrive.go).
type channelBound struct {
	rejected boundRejections // messages refused by reject-new, by limit
	dropped  atomic.Uint64   // messages drop-oldest pushed out
	redriven atomic.Uint64   // dead messages moved back to the queue
	emptied  atomic.Uint64   // dead messages removed by /channel/dead/empty

	// late: drop-oldest's victims bound for the dead_letter_topic, kept
	// until the publisher's topic lock is released (killLate): publishing
	// them under it would take NSQD.mu and another topic's lock inside
	// Topic.mu, against the lock order (nsqd/LOCKS.md).
	lateMu    sync.Mutex
	late      []lateKill
	lateCount atomic.Int32 // len(late), read without lateMu by the fan-out
}

type lateKill struct {
	msgs []Message
	now  int64
}

// dropOverflowOrLater is dropOverflow, unless the channel publishes its dead
// letters to a topic: then the victims wait in late for killLate, and it
// reports true (the caller, under a topic lock, must call killLate after).
func (c *Channel) dropOverflowOrLater(dropped []Message, now int64) bool {
	if len(dropped) == 0 {
		return false
	}
	if c.policy().DeadLetterTopic == "" {
		c.dropOverflow(dropped, now)
		return false
	}
	c.bound.lateMu.Lock()
	c.bound.late = append(c.bound.late, lateKill{msgs: dropped, now: now})
	c.bound.lateCount.Store(int32(len(c.bound.late)))
	c.bound.lateMu.Unlock()
	return true
}

// killLate sends the victims kept by dropOverflowOrLater to the dead path;
// called with no topic lock held.
func (c *Channel) killLate() {
	c.bound.lateMu.Lock()
	late := c.bound.late
	c.bound.late = nil
	c.bound.lateCount.Store(0)
	c.bound.lateMu.Unlock()
	for _, k := range late {
		c.dropOverflow(k.msgs, k.now)
	}
}

// latePending reports whether killLate has work (one atomic load: it is
// asked on every fan-out).
func (c *Channel) latePending() bool { return c.bound.lateCount.Load() > 0 }

// boundRejections counts refused messages by the limit that refused them.
type boundRejections struct {
	depth, bytes atomic.Uint64
}

// add counts n messages refused by err (a *queue.FullError inside).
func (r *boundRejections) add(err error, n int) {
	var full *queue.FullError
	if errors.As(err, &full) && !full.ByDepth() {
		r.bytes.Add(uint64(n))
		return
	}
	r.depth.Add(uint64(n))
}

// Load is the total.
func (r *boundRejections) Load() uint64 { return r.depth.Load() + r.bytes.Load() }

// fullError is a refusal by a channel's or topic's bound: the publisher is
// told "<object> is full (...)" (TCP E_PUB_FAILED and its siblings, HTTP
// 503 QUEUE_FULL).
type fullError struct {
	object string // "channel t:c" or "topic t"
	err    error  // a *queue.FullError
}

func (e *fullError) Error() string { return e.object + ": " + e.err.Error() }
func (e *fullError) Unwrap() error { return e.err }

// putBoundedLocked is put under the channel's bound b; c.mu is held and
// released on return. reserved: the batch was admitted by reserve (a
// topic's several channels).
func (c *Channel) putBoundedLocked(msgs []Message, b queue.Bound, reserved bool) error {
	now := c.now()
	p, dropped, err := c.queue.PutBounded(msgs, now, b, reserved, nil)
	if err != nil {
		c.mu.Unlock()
		c.dropOverflowOrLater(dropped, now)
		if errors.Is(err, queue.ErrFull) {
			c.bound.rejected.add(err, len(msgs))
			return &fullError{object: fmt.Sprintf("channel %s:%s", c.topicName, c.name), err: err}
		}
		return fmt.Errorf("channel %s:%s: %w", c.topicName, c.name, err)
	}
	c.messageCount.Add(uint64(len(msgs)))
	putErr := c.finishLocked(p)
	c.dropOverflowOrLater(dropped, now)
	return putErr
}

// putReserved queues a batch that reserve admitted.
func (c *Channel) putReserved(msgs []Message) error {
	c.mu.Lock()
	if c.exiting {
		c.mu.Unlock()
		return errExiting
	}
	return c.putBoundedLocked(msgs, c.policy().Bound(), true)
}

// reserve admits a batch under a reject-new bound ahead of the put, so that
// a topic with several channels accepts or refuses it whole (topic_bound.go).
// reserved is false when the channel has nothing to reserve.
func (c *Channel) reserve(msgs []Message, b queue.Bound) (reserved bool, err error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.exiting {
		return false, errExiting
	}
	reserved, err = c.queue.Reserve(msgs, b)
	if errors.Is(err, queue.ErrFull) {
		c.bound.rejected.add(err, len(msgs))
		err = &fullError{object: fmt.Sprintf("channel %s:%s", c.topicName, c.name), err: err}
	}
	return reserved, err
}

// unreserve gives back a reservation another channel's refusal made void.
func (c *Channel) unreserve(msgs []Message) {
	c.mu.Lock()
	c.queue.Unreserve(msgs)
	c.mu.Unlock()
}

// dropOverflow sends the messages drop-oldest pushed out to the dead path
// (reason overflow) and then releases their queue records; a crash in
// between finds them in both places (at least once). If the dead path
// fails they go back to the queue: a bound never loses a message by
// itself.
func (c *Channel) dropOverflow(dropped []Message, now int64) {
	if len(dropped) == 0 {
		return
	}
	if err := c.kill(dropped, queue.DeadOverflow, now); err != nil {
		c.nsqd.logf(errorLevel, "CHANNEL(%s:%s): keeping %d messages drop-oldest pushed out: %s", c.topicName, c.name, len(dropped), err)
		c.requeue(dropped)
		return
	}
	c.bound.dropped.Add(uint64(len(dropped)))
	for i := range dropped {
		c.queue.Finish(&dropped[i])
	}
}
