package nsqd

import (
	"errors"

	"github.com/nsqgo/nsq/nsqd/queue"
)

// reservations are the channels that admitted a batch ahead of the fan-out
// (nil when none had to: the common case costs no allocation).
type reservations []*Channel

// put hands the batch to c, using its reservation if it made one.
func (r reservations) put(c *Channel, msgs []Message) error {
	for _, held := range r {
		if held == c {
			return c.putReserved(msgs)
		}
	}
	return c.put(msgs)
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
func publishFailed(code, cmd string, err error) *protocolError {
	if errors.Is(err, queue.ErrFull) {
		return clientErr(code, "%s failed %s", cmd, err)
	}
	return fatalErr(code, "%s failed %s", cmd, err)
}
