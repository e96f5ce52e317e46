package nsqd

import (
	"errors"
	"sync/atomic"

	"github.com/nsqgo/nsq/internal/protocol"
	"github.com/nsqgo/nsq/nsqd/queue"
)

// reservations are the channels that admitted a batch ahead of the fan-out
// (nil when none had to: the common case costs no allocation).
type reservations []*Channel

// begin hands the batch to c, using its reservation if it made one, and
// returns the disk work left to commit (Channel.beginShared). A reserved
// put commits its own write (p is nil). kept is Channel.putShared's:
// whether c may still refer to a body of the batch (always, for a
// reservation: the channel has a bound).
func (r reservations) begin(c *Channel, shared queue.Shared) (p *queue.Pending, kept bool, err error) {
	for _, held := range r {
		if held == c {
			return nil, true, c.putReserved(shared.Msgs)
		}
	}
	return c.beginShared(shared)
}

// reserveLocked makes a batch for several channels all-or-nothing under
// their bounds: every channel with a reject-new bound admits it first (its
// queue reserves the room), and if one refuses, the others give their room
// back and the batch is refused whole; no channel has queued any of it. A
// drop-oldest channel never refuses, and a topic with one channel needs no
// reservation (its put checks and queues under one lock). t.mu is held (read
// or write).
//
// Decision (README, "Bounded queues"): a publish is refused when any of the
// topic's channels with reject-new is full, even though the others had
// room: accepting it for some channels only would give those channels a
// message the publisher, told of the failure, will publish again.
func (t *Topic) reserveLocked(msgs []Message) (reservations, error) {
	if len(t.channels) < 2 {
		return nil, nil
	}
	var reserved reservations
	for _, c := range t.channels {
		b := c.policy().Bound()
		if !b.On() || b.Overflow != queue.OverflowRejectNew {
			continue
		}
		ok, err := c.reserve(msgs, b)
		if err != nil {
			for _, r := range reserved {
				r.unreserve(msgs)
			}
			return nil, err
		}
		if ok {
			reserved = append(reserved, c)
		}
	}
	return reserved, nil
}

// publishFailed is the TCP answer to a refused PUB, MPUB or DPUB (code is
// E_PUB_FAILED, E_MPUB_FAILED or E_DPUB_FAILED, text "<CMD> failed
// <reason>" as upstream). It is fatal as upstream's, except for a full
// queue: that refusal is not the connection's fault, so it stays open and
// the publisher may retry on it (README, "Bounded queues").
func publishFailed(code, cmd string, err error) error {
	if errors.Is(err, queue.ErrFull) {
		return fullRefusal{clientErr(code, "%s failed %s", cmd, err)}
	}
	return fatalErr(code, "%s failed %s", cmd, err)
}

// fullRefusal marks the error frame of a full queue, so that
// nsq_publish_errors_total counts it under its own reason (QUEUE_FULL, as
// HTTP's 503 says) rather than with disk failures under E_PUB_FAILED.
type fullRefusal struct{ *protocolError }

func (r fullRefusal) Unwrap() error { return r.protocolError }

// publishErrorReason is the reason label of a refused TCP publish: the
// error code, or QUEUE_FULL for a bound's refusal.
func publishErrorReason(err error, code string) string {
	if errors.As(err, new(fullRefusal)) {
		return "QUEUE_FULL"
	}
	return code
}

// topicBound is the bookkeeping of a topic's own bound: the messages it
// holds while it has no channel or is paused. A publish to a topic with a
// bound that holds its batch goes through holdBounded, under Topic.drainMu
// and Topic.mu held for writing; the byte count is an atomic because the
// unbounded publishes and the hand-offs keep it too, under the read lock.
//
// A topic has no dead set: drop-oldest drops its oldest held messages and
// counts them (README, "Bounded queues").
type topicBound struct {
	// bytes: the bodies held, memory and disk; exact once counted (one
	// non-consuming scan of the disk part the first time a byte limit is
	// checked, for what an earlier run left there). The held messages keep
	// it (nsqd/queue's Held.CountBodyBytes) under their own lock with each
	// put, hand-off, drop and Empty, so that no publish is counted on the
	// wrong side of an Empty; what the drain and drop-oldest read from the
	// disk part is taken off here (released), under drainMu, which an
	// Empty holds too. It is reset whenever a bounded publish finds the
	// topic empty, which ends any drift (a damaged record skipped unread).
	bytes   atomic.Int64
	counted bool // guarded by Topic.mu held for writing
	// keepOrder: a drop-oldest hold is in progress and the disk part is not
	// empty; new messages follow it to disk, so that memory's front stays
	// the oldest. Guarded by Topic.mu held for writing.
	keepOrder bool

	rejected boundRejections // messages refused by reject-new, by limit
	dropped  atomic.Uint64   // messages drop-oldest dropped
}

// released takes off messages read from the held disk backlog (handed to
// the channels, or dropped); the held messages count the rest themselves.
func (b *topicBound) released(bodyBytes int64) { b.bytes.Add(-bodyBytes) }

// holdBounded holds a batch on a topic with a bound. The bound is judged,
// and the oldest held messages dropped, with drainMu and Topic.mu held for
// writing, so that neither the drain nor another publisher moves the held
// messages in between; the batch's disk part is written under them too
// (nsqd/LOCKS.md, "Known exceptions": topics with a bound only). If the
// topic began to distribute meanwhile, the batch is fanned out instead.
// first is as for fanOutLocked.
func (t *Topic) holdBounded(msgs []Message, first uint64, bytes uint64) error {
	t.drainMu.Lock()
	defer t.drainMu.Unlock()
	t.mu.Lock()
	if t.distributingLocked() && !t.exiting {
		late, _, err := t.fanOutLocked(msgs, first)
		t.mu.Unlock()
		killLate(late)
		if err == nil {
			t.count(len(msgs), bytes)
		}
		return err
	}
	defer t.mu.Unlock()
	if t.exiting {
		return errExiting
	}
	kept, err := t.admitHeldLocked(msgs)
	if err != nil {
		return err
	}
	if len(kept) > 0 {
		var dropped int
		dropped, err = t.holdNow(kept, t.bound.keepOrder)
		t.droppedCount.Add(uint64(dropped))
		if err != nil {
			return err
		}
	}
	t.count(len(msgs), bytes)
	return nil
}

// heldDepthLocked is the number of messages the topic holds.
func (t *Topic) heldDepthLocked() int64 {
	depth := t.held.Depth()
	if depth == 0 {
		t.bound.bytes.Store(0) // drift (a failed disk write) ends when the topic is empty
	}
	return depth
}

// heldBytes is the bodies the topic holds, as counted.
func (t *Topic) heldBytes() int64 { return max(t.bound.bytes.Load(), 0) }

// admitHeldLocked applies the topic's bound to a batch it is about to hold
// (drainMu and t.mu held for writing): nil error and the messages to hold
// (all of them, or for drop-oldest the newest that fit once the oldest
// held ones are dropped), or a refusal for reject-new.
func (t *Topic) admitHeldLocked(msgs []Message) ([]Message, error) {
	b := t.policy().Bound()
	t.bound.keepOrder = false
	batchDepth, batchBytes := int64(len(msgs)), queue.BodyBytes(msgs)
	if b.MaxBytes > 0 {
		t.countHeldBytesLocked()
	}
	over := func() bool {
		depth := t.heldDepthLocked()
		return (b.MaxDepth > 0 && depth+batchDepth > b.MaxDepth) ||
			(b.MaxBytes > 0 && t.heldBytes()+batchBytes > b.MaxBytes)
	}
	if over() {
		if b.Overflow == queue.OverflowRejectNew {
			full := &queue.FullError{
				Depth: t.heldDepthLocked(), Bytes: t.heldBytes(),
				BatchDepth: batchDepth, BatchBytes: batchBytes, Bound: b,
			}
			t.bound.rejected.add(full, len(msgs))
			return nil, &fullError{object: "topic " + t.name, err: full}
		}
		for over() && t.dropOldestHeldLocked() {
		}
		for len(msgs) > 0 && over() {
			t.bound.dropped.Add(1)
			batchDepth--
			batchBytes -= int64(len(msgs[0].Body))
			msgs = msgs[1:]
		}
	}
	if b.Overflow == queue.OverflowDropOldest && t.held.BacklogDepth() > 0 {
		t.bound.keepOrder = true
	}
	return msgs, nil
}

// dropOldestHeldLocked drops the oldest held message: memory's front, else
// the disk backlog's head (drainMu held: nothing else reads the disk part).
// false when nothing could be dropped.
func (t *Topic) dropOldestHeldLocked() bool {
	if _, ok := t.held.DropOldestInMemory(); ok {
		t.bound.dropped.Add(1)
		return true
	}
	if t.held.BacklogDepth() == 0 {
		return false
	}
	msgs, seqs, err := t.held.ReadBacklog(nil, nil, 1)
	if err != nil || len(msgs) == 0 {
		if err != nil {
			t.nsqd.logf(errorLevel, "TOPIC(%s): drop oldest: read from disk: %s", t.name, err)
		}
		return false
	}
	t.held.Ack(seqs)
	t.bound.released(queue.BodyBytes(msgs))
	t.bound.dropped.Add(uint64(len(msgs)))
	return true
}

// countHeldBytesLocked counts, once, the bodies the topic holds, its disk
// part with a non-consuming scan (nsqd/LOCKS.md, "Known exceptions").
func (t *Topic) countHeldBytesLocked() {
	if t.bound.counted {
		return
	}
	t.bound.counted = true
	var total int64
	t.held.EachInMemory(func(m *Message) { total += int64(len(m.Body)) })
	err := t.held.ScanBacklog(func(data []byte, legacy bool) bool {
		size := int64(len(data)) - protocol.MessageHeaderLength
		if !legacy {
			size -= queue.RecordHeader
		}
		total += max(size, 0)
		return true
	})
	if err != nil {
		t.nsqd.logf(errorLevel, "TOPIC(%s): counting the disk backlog's bytes: %s", t.name, err)
	}
	t.bound.bytes.Store(total)
}
