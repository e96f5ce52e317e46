package queue

import (
	"encoding/binary"
	"fmt"

	"github.com/nsqgo/nsq/internal/protocol"
)

// Message is one published message as a topic or channel holds it. It is a
// value, copied into each channel's queue, so fanning out costs no
// allocation; Body is shared by every copy and never modified after publish.
type Message struct {
	ID        protocol.MessageID
	Body      []byte
	Timestamp int64 // publish time, ns since the epoch; survives requeues
	DeliverAt int64 // ns since the epoch before which it is deferred; 0 = now
	Attempts  uint16

	// receipt names the disk record this copy holds, if any: the queue's
	// own bookkeeping, opaque outside this package. It travels with the
	// copy (into a consumer's in-flight set and back) so that Finish
	// acknowledges the record with no lookup, lock or allocation.
	receipt receipt
}

// Receipt is the disk record a message holds, opaque outside this package:
// a holder that keeps a message's fields apart instead of the Message itself
// (nsqd's in-flight slots, which pack one into a 64-byte cache line,
// nsqd/inflight.go) takes it with Message.Receipt and puts it back with
// Message.SetReceipt.
type Receipt struct{ r receipt }

// Receipt is m's disk record, for a holder that stores m's fields apart.
func (m *Message) Receipt() Receipt { return Receipt{m.receipt} }

// SetReceipt gives m back the record r that Receipt took from it: m must be
// the same message put back together, so that its record is still
// acknowledged exactly once.
func (m *Message) SetReceipt(r Receipt) { m.receipt = r.r }

// receipt is a disk record a message holds: 0 for none, else the record's
// sequence number in the backlog, or in the deferred store with storeBit
// set. A record is acknowledged once its message is finished or has a newer
// record, so that a crash in between delivers it again instead of losing
// it.
type receipt uint64

const storeBit receipt = 1 << 63

func backlogReceipt(seq uint64) receipt { return receipt(seq) }
func storeReceipt(seq uint64) receipt   { return receipt(seq) | storeBit }

func (r receipt) inStore() bool { return r&storeBit != 0 }
func (r receipt) seq() uint64   { return uint64(r &^ (storeBit | cursorBit)) }

// RecordHeader is the part of a disk record before upstream's message
// payload: the time the message is deferred until, so a deferred message
// keeps its delay across a spill to disk and a restart (upstream's record
// has no such field and loses it).
const RecordHeader = 8

// RecordSize is the encoded size of m's record.
func RecordSize(m *Message) int {
	return RecordHeader + protocol.MessageHeaderLength + len(m.Body)
}

// AppendRecord appends m's record: DeliverAt, then upstream's payload
// (timestamp, attempts, id, body).
func AppendRecord(dst []byte, m *Message) []byte {
	dst = binary.BigEndian.AppendUint64(dst, uint64(m.DeliverAt))
	return protocol.AppendMessage(dst, m.Timestamp, m.Attempts, &m.ID, m.Body)
}

// DecodeRecord parses a record; legacy records (read from an upstream
// segment) are upstream's payload alone. The body aliases data.
func DecodeRecord(data []byte, legacy bool) (Message, error) {
	var deliverAt int64
	if !legacy {
		if len(data) < RecordHeader {
			return Message{}, fmt.Errorf("decode disk record of %d bytes: too short", len(data))
		}
		deliverAt = int64(binary.BigEndian.Uint64(data))
		data = data[RecordHeader:]
	}
	decoded, err := protocol.DecodeMessage(data)
	if err != nil {
		return Message{}, err
	}
	return Message{
		ID:        decoded.ID,
		Body:      decoded.Body,
		Timestamp: decoded.Timestamp,
		DeliverAt: deliverAt,
		Attempts:  decoded.Attempts,
	}, nil
}

// recordHeader reads from a record, in DecodeRecord's layout, what a queue
// decides on without decoding the message: the time it is deferred until
// (0 in upstream's records), its attempts and its body's length. ok is
// false exactly when DecodeRecord would fail. The drain reads every record
// this way (backlog_batch.go): a whole decode costs it about an eighth
// more CPU per message.
func recordHeader(data []byte, legacy bool) (deliverAt int64, attempts uint16, bodyLen int, ok bool) {
	if !legacy {
		if len(data) < RecordHeader {
			return 0, 0, 0, false
		}
		deliverAt = int64(binary.BigEndian.Uint64(data))
		data = data[RecordHeader:]
	}
	if len(data) < protocol.MessageHeaderLength {
		return 0, 0, 0, false
	}
	// Upstream's payload: timestamp (8), attempts (2), ID, body.
	return deliverAt, binary.BigEndian.Uint16(data[8:]), len(data) - protocol.MessageHeaderLength, true
}
