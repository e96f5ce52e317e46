package nsqd

import "errors"

// BackendQueue is where a durable topic or channel puts messages that do not
// fit in its memory queue. Ephemeral topics and channels have none: their
// overflow is dropped and counted, as upstream does.
type BackendQueue interface {
	// Put stores a batch or refuses all of it.
	Put(msgs []Message) error
	// Depth is the number of messages held.
	Depth() int64
	// Empty drops everything held.
	Empty() error
	// Close releases the queue, keeping what it holds.
	Close() error
	// Delete releases the queue and removes what it holds.
	Delete() error
}

// errNoRoom is the refusal of a full memory queue with no disk behind it.
var errNoRoom = errors.New("memory queue full and no disk queue configured")

// refusingBackend stands in for the disk queue until it exists: overflow of
// a durable topic is refused, never silently dropped.
type refusingBackend struct{}

func (refusingBackend) Put([]Message) error { return errNoRoom }
func (refusingBackend) Depth() int64        { return 0 }
func (refusingBackend) Empty() error        { return nil }
func (refusingBackend) Close() error        { return nil }
func (refusingBackend) Delete() error       { return nil }

// newBackend picks the overflow queue for a topic or channel.
func (n *NSQD) newBackend(ephemeral bool) BackendQueue {
	if ephemeral {
		return nil
	}
	return refusingBackend{}
}

// backendTakesOverflow reports whether b stores what memory cannot hold,
// so a publisher need not be refused when memory is full.
func backendTakesOverflow(b BackendQueue) bool {
	if b == nil {
		return true // ephemeral: overflow is dropped by design
	}
	_, refusing := b.(refusingBackend)
	return !refusing
}
