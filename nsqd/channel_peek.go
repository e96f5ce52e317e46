package nsqd

import (
	"bytes"
	"errors"
	"slices"

	"github.com/nsqgo/nsq/nsqd/queue"
)

// Looking at a channel's messages without consuming them (GET
// /channel/peek, nsqd/httpserver/peek.go). Every read here copies: no message leaves
// its place, no attempt is counted, no order or timer changes.

// peeked is one message as peek shows it.
type peeked struct {
	Message
	TimeoutAt int64 // in flight: when it times out (wall clock, ns since the epoch)
	ClientID  int64 // in flight: who holds it
}

// peekReady returns up to n ready messages: the memory part in the order
// consumers are handed it, then the disk backlog's in order. (A consumer's
// take alternates between the two per batch, so deliveries interleave
// them.) The disk part is read without the channel lock.
func (c *Channel) peekReady(n int) ([]Message, error) {
	c.mu.Lock()
	msgs := c.queue.Peek(nil, queue.Ready, n)
	c.mu.Unlock()
	if len(msgs) >= n {
		return msgs, nil
	}
	return c.queue.PeekBacklog(msgs, n-len(msgs))
}

// peekDeferred returns up to n deferred messages, earliest first.
func (c *Channel) peekDeferred(n int) []Message {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.queue.Peek(nil, queue.Deferred, n)
}

// peekInFlight returns up to n messages the channel's consumers hold, the
// soonest to time out first. Each client's in-flight set is copied under
// its own lock, briefly, and left as it was.
func (c *Channel) peekInFlight(n int) []peeked {
	c.mu.Lock()
	clients := c.clientListLocked()
	c.mu.Unlock()
	var out []peeked
	for _, cl := range clients {
		out = cl.inFlight.peek(out, cl.id)
	}
	slices.SortFunc(out, func(a, b peeked) int {
		if a.TimeoutAt != b.TimeoutAt {
			return cmpInt64(a.TimeoutAt, b.TimeoutAt)
		}
		return cmpInt64(a.Timestamp, b.Timestamp)
	})
	if len(out) > n {
		out = out[:n]
	}
	// Deadlines are kept on the monotonic reading (timeouts.go); peek
	// shows when each falls due on the wall clock as it reads now.
	wallOffset := c.nsqd.clock.Now().UnixNano() - c.nsqd.clock.Nanotime()
	for i := range out {
		out[i].TimeoutAt += wallOffset
	}
	return out
}

func cmpInt64(a, b int64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// peek copies every entry of the set (without the receipt, so a copy can
// never release a record).
func (f *inFlight) peek(dst []peeked, clientID int64) []peeked {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.slots.eachLive(func(e *inFlightSlot, times *slotTimes) {
		// The body is copied: the answer is written after the lock is
		// released, and a FIN meanwhile lets a disk channel reuse the
		// body's memory (nsqd/queue/reuse.go).
		held := e.message()
		m := Message{ID: held.ID, Body: bytes.Clone(held.Body), Timestamp: held.Timestamp, DeliverAt: held.DeliverAt, Attempts: held.Attempts}
		dst = append(dst, peeked{Message: m, TimeoutAt: times.deadline, ClientID: clientID})
	})
	return dst
}

// peekDead returns up to n dead messages after seq after, oldest first. A
// channel without a dead set (ephemeral) has none.
func (c *Channel) peekDead(after uint64, n int) ([]queue.DeadMessage, error) {
	ds, err := c.deadSet()
	if errors.Is(err, errNoDeadSet) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	return ds.Peek(after, n)
}
