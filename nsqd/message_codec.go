package nsqd

import (
	"encoding/binary"
	"fmt"

	"github.com/nsqgo/nsq/internal/protocol"
)

// diskRecordHeader is the part of our disk record before upstream's message
// payload: the time the message is deferred until, so a deferred message
// keeps its delay across a spill to disk and a restart (upstream's record
// has no such field and loses it).
const diskRecordHeader = 8

// appendDiskRecord appends m's record: DeliverAt, then upstream's payload
// (timestamp, attempts, id, body).
func appendDiskRecord(dst []byte, m *Message) []byte {
	dst = binary.BigEndian.AppendUint64(dst, uint64(m.DeliverAt))
	return protocol.AppendMessage(dst, m.Timestamp, m.Attempts, &m.ID, m.Body)
}

// decodeDiskRecord parses a record; legacy records (read from an upstream
// segment) are upstream's payload alone. The body aliases data.
func decodeDiskRecord(data []byte, legacy bool) (Message, error) {
	var deliverAt int64
	if !legacy {
		if len(data) < diskRecordHeader {
			return Message{}, fmt.Errorf("decode disk record of %d bytes: too short", len(data))
		}
		deliverAt = int64(binary.BigEndian.Uint64(data))
		data = data[diskRecordHeader:]
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
