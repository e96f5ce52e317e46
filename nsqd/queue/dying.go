package queue

import (
	"time"
)

// The dead path (issue 12): the queue decides, under the caller's lock,
// which messages its Policy sends away, and hands them over in a Pending
// like any disk write. Commit gives them to Config.Kill (the channel's dead
// set or dead-letter topic) without the lock; Settle then releases their
// disk records, so a message that dies is never lost between leaving the
// queue and being stored elsewhere: a crash before Kill's write is durable
// finds it in the queue again (delivered again, at-least-once), and a crash
// after finds it in both (at most one extra delivery). When Kill fails the
// message is kept, deferred by KillRetryDelay, and tried again when it
// comes due (an expired one) or delivered as before the limit existed (an
// attempts one): kept, never lost, never a busy loop.
//
//	max_attempts  Requeue: a message that has had MaxAttempts deliveries
//	              (its Attempts, counted at delivery, >= MaxAttempts) dies
//	              instead of going back; REQ, timeouts and a departing
//	              consumer's messages all come back through Requeue.
//	expired       Take and PromoteDue: a message whose age (now minus its
//	              publish Timestamp) is over MsgTTL is never handed out.
//	              A deferred one counts from its publish time too, so a
//	              delay longer than the TTL means it dies when it comes due.

// Dying is a message the queue gives up on, and why.
type Dying struct {
	Message
	Reason DeadReason
}

// KillRetryDelay is how long a message whose Kill failed waits (deferred,
// its disk record held) before the queue looks at it again.
const KillRetryDelay = time.Second

// takeRounds bounds how often one Take reads again in place of expired
// messages, so that a queue full of expired messages does not hold the
// caller's lock for all of them at once: each round kills at most max.
const takeRounds = 4

func (q *Queue) policy() Policy {
	if q.cfg.Policy == nil {
		return Policy{}
	}
	return q.cfg.Policy()
}

// expired reports whether m is older than ttl at now. A message exactly
// ttl old is still delivered.
func expired(m *Message, now int64, ttl time.Duration) bool {
	return now-m.Timestamp > int64(ttl)
}

// kill adds m to p's dying messages (p created if nil).
func (q *Queue) kill(p *Pending, m Message, reason DeadReason, now int64) *Pending {
	// Kill may keep the body (a dead-letter topic's memory queue).
	q.keepBody(m.receipt)
	p = q.pending(p, true)
	p.dead = append(p.dead, Dying{Message: m, Reason: reason})
	p.now = now
	return p
}

// expire moves the expired messages of msgs into p and returns the others,
// compacted in place at the front of msgs.
func (q *Queue) expire(msgs []Message, now int64, ttl time.Duration, p *Pending) ([]Message, *Pending) {
	// The common case, nothing expired, reads each message once and
	// copies none (a copy of a Message is a pointer write, with its
	// barrier).
	first := -1
	for i := range msgs {
		if expired(&msgs[i], now, ttl) {
			first = i
			break
		}
	}
	if first < 0 {
		return msgs, p
	}
	live := msgs[:first]
	for i := first; i < len(msgs); i++ {
		if expired(&msgs[i], now, ttl) {
			p = q.kill(p, msgs[i], DeadExpired, now)
			continue
		}
		live = append(live, msgs[i])
	}
	return live, p
}

// requeueLimited is Requeue with an attempts limit: messages that had max
// deliveries die, the others go back as Requeue puts them.
func (q *Queue) requeueLimited(msgs []Message, now int64, max uint16) *Pending {
	var p *Pending
	start := 0
	for i := range msgs {
		if msgs[i].Attempts >= max {
			p = q.merge(p, q.put(msgs[start:i], now, true))
			p = q.kill(p, msgs[i], DeadMaxAttempts, now)
			start = i + 1
		}
	}
	if start == 0 {
		return q.put(msgs, now, true)
	}
	return q.merge(p, q.put(msgs[start:], now, true))
}

// merge folds b into a (both Requeue's: keep set); either may be nil.
func (q *Queue) merge(a, b *Pending) *Pending {
	switch {
	case a == nil:
		return b
	case b == nil || a == b:
		return a
	}
	a.ready = append(a.ready, b.ready...)
	a.backlog = append(a.backlog, b.backlog...)
	a.store = append(a.store, b.store...)
	a.dead = append(a.dead, b.dead...)
	q.recycle(b)
	return a
}

// settleDead applies Kill's outcome: the dead messages' records are
// released, or, if Kill failed, the messages are kept, deferred by
// KillRetryDelay with their records held. Kill reports its own failure;
// Settle's error stays about the other writes, so that a publisher or a
// topic is never told its messages were refused when only a death was
// postponed.
func (q *Queue) settleDead(p *Pending) {
	if len(p.dead) == 0 {
		return
	}
	if q.cfg.Kill != nil && p.deadErr != nil {
		q.cfg.Logf("CHANNEL(%s): keeping %d dying messages, retry in %s: %s", q.cfg.Name, len(p.dead), KillRetryDelay, p.deadErr)
		for _, d := range p.dead {
			m := d.Message
			m.DeliverAt = p.now + int64(KillRetryDelay)
			q.deferred.Push(m)
		}
		return
	}
	for i := range p.dead {
		q.release(p.dead[i].receipt)
	}
}

// DeadSetExists reports whether a dead set named name has files in dir, so
// that a channel can open the set at start when an earlier run left one,
// and otherwise only at its first death.
func DeadSetExists(dir, name string) (bool, error) {
	nums, err := listDeadSegments(dir, name)
	return len(nums) > 0, err
}

// MaxDepth is the set's current bound (0 = unbounded).
func (d *DeadSet) MaxDepth() int64 {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.opts.MaxDepth
}
