package nsqclient

import (
	"sync/atomic"
	"time"

	"github.com/nsqgo/nsq/internal/protocol"
)

// Message is one delivery from nsqd. Finish, Requeue and Touch may be
// called from any goroutine; only the first Finish or Requeue counts.
type Message struct {
	ID          protocol.MessageID
	Body        []byte
	Timestamp   int64  // ns since the epoch when nsqd accepted the publish
	Attempts    uint16 // deliveries so far, this one included
	NSQDAddress string // the nsqd it came from

	owner                responder
	autoResponseDisabled atomic.Bool
	responded            atomic.Bool
}

// responder is the connection a message arrived on.
type responder interface {
	finish(m *Message)
	requeue(m *Message, delay time.Duration, backoff bool)
	touch(m *Message)
}

// DisableAutoResponse stops the Consumer from finishing or requeueing the
// message when the handler returns: the caller will respond later.
func (m *Message) DisableAutoResponse() { m.autoResponseDisabled.Store(true) }

// IsAutoResponseDisabled reports whether DisableAutoResponse was called.
func (m *Message) IsAutoResponseDisabled() bool { return m.autoResponseDisabled.Load() }

// HasResponded reports whether Finish or Requeue was called.
func (m *Message) HasResponded() bool { return m.responded.Load() }

// Finish tells nsqd the message is done (FIN).
func (m *Message) Finish() {
	if m.responded.CompareAndSwap(false, true) {
		m.owner.finish(m)
	}
}

// Requeue gives the message back to nsqd for redelivery after delay (REQ),
// and counts as a failure for the consumer's backoff. A negative delay
// means the default: default_requeue_delay × attempts, at most
// max_requeue_delay.
func (m *Message) Requeue(delay time.Duration) { m.doRequeue(delay, true) }

// RequeueWithoutBackoff is Requeue without entering backoff.
func (m *Message) RequeueWithoutBackoff(delay time.Duration) { m.doRequeue(delay, false) }

func (m *Message) doRequeue(delay time.Duration, backoff bool) {
	if m.responded.CompareAndSwap(false, true) {
		m.owner.requeue(m, delay, backoff)
	}
}

// Touch resets the message's timeout on nsqd (TOUCH). It does nothing once
// the message has been responded to.
func (m *Message) Touch() {
	if !m.responded.Load() {
		m.owner.touch(m)
	}
}

// requeueDelay resolves a negative (default) delay the way go-nsq does.
func requeueDelay(o *Options, delay time.Duration, attempts uint16) time.Duration {
	if delay >= 0 {
		return delay
	}
	delay = o.DefaultRequeueDelay * time.Duration(attempts)
	if delay > o.MaxRequeueDelay {
		delay = o.MaxRequeueDelay
	}
	return delay
}
