package nsqd

import "github.com/nsqgo/nsq/internal/protocol"

// Message is one published message as a topic or channel holds it. It is a
// value, copied into each channel's queue, so fanning out costs no
// allocation; Body is shared by every copy and never modified after publish.
type Message struct {
	ID        protocol.MessageID
	Body      []byte
	Timestamp int64 // publish time, ns since the epoch; survives requeues
	DeliverAt int64 // ns since the epoch before which it is deferred; 0 = now
	Attempts  uint16

	// deferredRecord says which queue diskSeq belongs to: the channel's
	// deferred store rather than its queue (channel_deferred.go).
	deferredRecord bool

	// diskSeq is the disk-queue record this copy was read from (0: none).
	// The record is acknowledged once the message is FIN'd or written to
	// disk again, so a crash before that delivers it again instead of
	// losing it.
	diskSeq uint64
}
