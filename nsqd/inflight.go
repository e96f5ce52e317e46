package nsqd

import (
	"errors"
	"sync"
	"sync/atomic"

	"github.com/nsqgo/nsq/internal/protocol"
)

var (
	errNotInFlight = errors.New("ID not in flight")
	errNotOwner    = errors.New("client does not own message")
)

// inFlightEntry is a delivered message waiting for FIN, REQ or its timeout.
type inFlightEntry struct {
	msg         Message
	deadline    int64 // ns since the epoch
	deliveredAt int64 // caps TOUCH at deliveredAt + --max-msg-timeout
}

// deadlineEntry orders timeouts. Deliveries happen in time order with one
// timeout per client, so appending keeps the FIFO sorted by deadline; an
// entry whose deadline no longer matches the map (FIN'd or TOUCHed) is stale
// and skipped, which spares a heap and its per-message bookkeeping.
type deadlineEntry struct {
	id       protocol.MessageID
	deadline int64
}

// inFlight tracks the messages one client holds. Only that client's
// goroutines touch it, so a FIN never contends with other consumers.
type inFlight struct {
	mu        sync.Mutex
	entries   map[protocol.MessageID]inFlightEntry
	deadlines ring[deadlineEntry]
	latest    int64 // the largest deadline pushed on deadlines
	// capped holds the deadlines that a TOUCH capped at --max-msg-timeout
	// below the FIFO's tail: they would break its order, and expire would
	// not see them until everything queued before them had expired. Rare,
	// and at most one per in-flight message, so a scanned slice serves.
	capped []deadlineEntry
	count  atomic.Int64
}

// add tracks msgs as delivered now. A message whose ID this client already
// holds is a second copy (a crash replays a record that was requeued or
// deferred since, so both copies can come back): it is not tracked, since
// its entry would replace the first one's and that copy could never be
// answered. add moves such copies to the end of msgs and returns how many
// it tracked, in front of them; the caller keeps the others.
func (f *inFlight) add(msgs []Message, now, timeout int64) int {
	f.mu.Lock()
	if f.entries == nil {
		f.entries = make(map[protocol.MessageID]inFlightEntry, len(msgs))
	}
	f.dropStaleLocked()
	deadline := now + timeout
	tracked := 0
	for i := range msgs {
		if _, held := f.entries[msgs[i].ID]; held {
			continue
		}
		f.entries[msgs[i].ID] = inFlightEntry{msg: msgs[i], deadline: deadline, deliveredAt: now}
		f.deadlines.Push(deadlineEntry{id: msgs[i].ID, deadline: deadline})
		msgs[tracked], msgs[i] = msgs[i], msgs[tracked]
		tracked++
	}
	f.latest = max(f.latest, deadline)
	f.count.Add(int64(tracked))
	f.mu.Unlock()
	return tracked
}

// dropStaleLocked forgets deadline entries of messages already FIN'd or
// TOUCHed. FINs mostly arrive in delivery order, so popping stale heads keeps
// the FIFO near the in-flight count; when one slow message pins the head,
// a full compaction bounds the FIFO (and the capped list) at twice the
// in-flight count plus 1024 entries.
func (f *inFlight) dropStaleLocked() {
	for f.deadlines.Len() > 0 && f.isStaleLocked(f.deadlines.Front()) {
		f.deadlines.DropFront()
	}
	if f.deadlines.Len() > 2*len(f.entries)+1024 {
		f.deadlines.Filter(func(d *deadlineEntry) bool { return !f.isStaleLocked(d) })
	}
	if len(f.capped) > 2*len(f.entries)+1024 {
		kept := f.capped[:0]
		for _, d := range f.capped {
			if !f.isStaleLocked(&d) {
				kept = append(kept, d)
			}
		}
		clear(f.capped[len(kept):])
		f.capped = kept
	}
}

func (f *inFlight) isStaleLocked(d *deadlineEntry) bool {
	entry, ok := f.entries[d.id]
	return !ok || entry.deadline != d.deadline
}

// remove ends tracking of id and returns its message.
func (f *inFlight) remove(id protocol.MessageID) (Message, bool) {
	f.mu.Lock()
	entry, ok := f.entries[id]
	if ok {
		delete(f.entries, id)
		f.count.Add(-1)
	}
	f.mu.Unlock()
	return entry.msg, ok
}

func (f *inFlight) has(id protocol.MessageID) bool {
	f.mu.Lock()
	_, ok := f.entries[id]
	f.mu.Unlock()
	return ok
}

// touch extends id's deadline to now+timeout, capped at its delivery time
// plus maxTimeout.
func (f *inFlight) touch(id protocol.MessageID, now, timeout, maxTimeout int64) bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	entry, ok := f.entries[id]
	if !ok {
		return false
	}
	deadline := now + timeout
	if limit := entry.deliveredAt + maxTimeout; deadline > limit {
		deadline = limit
	}
	if deadline == entry.deadline {
		return true // capped again: already queued with this deadline
	}
	entry.deadline = deadline
	f.entries[id] = entry
	if f.deadlines.Len() > 0 && deadline < f.latest {
		f.capped = append(f.capped, deadlineEntry{id: id, deadline: deadline})
	} else {
		f.deadlines.Push(deadlineEntry{id: id, deadline: deadline})
		f.latest = deadline
	}
	// Each TOUCH leaves its message's previous entry stale; dropping them
	// here, not only at the next delivery or timeout, keeps what TOUCHes
	// cost bounded by the messages held (a consumer that holds RDY
	// messages and only TOUCHes them never reaches either).
	f.dropStaleLocked()
	return true
}

// expire moves every message whose deadline has passed into dst and returns
// the next deadline to wake for (0 when nothing is in flight).
func (f *inFlight) expire(now int64, dst []Message) ([]Message, int64) {
	f.mu.Lock()
	defer f.mu.Unlock()
	var next int64
	for f.deadlines.Len() > 0 {
		head := f.deadlines.Front()
		if f.isStaleLocked(head) {
			f.deadlines.DropFront()
			continue
		}
		entry := f.entries[head.id]
		if entry.deadline > now {
			next = entry.deadline
			break
		}
		delete(f.entries, head.id)
		f.count.Add(-1)
		f.deadlines.DropFront()
		dst = append(dst, entry.msg)
	}
	kept := f.capped[:0]
	for _, d := range f.capped {
		switch {
		case f.isStaleLocked(&d):
		case d.deadline <= now:
			dst = append(dst, f.entries[d.id].msg)
			delete(f.entries, d.id)
			f.count.Add(-1)
		default:
			kept = append(kept, d)
			if next == 0 || d.deadline < next {
				next = d.deadline
			}
		}
	}
	clear(f.capped[len(kept):])
	f.capped = kept
	return dst, next
}

// drain removes and returns everything in flight.
func (f *inFlight) drain() []Message {
	f.mu.Lock()
	defer f.mu.Unlock()
	msgs := make([]Message, 0, len(f.entries))
	for _, entry := range f.entries {
		msgs = append(msgs, entry.msg)
	}
	f.entries = nil
	f.deadlines.Clear()
	f.capped = nil
	f.count.Store(0)
	return msgs
}
