package protocol

import (
	"encoding/binary"
	"errors"
	"fmt"
)

// MsgIDLength is the length of a message ID on the wire.
const MsgIDLength = 16

// MessageHeaderLength is timestamp(8) + attempts(2) + id(16).
const MessageHeaderLength = 8 + 2 + MsgIDLength

// MessageID is the opaque 16-byte ID echoed by FIN, REQ and TOUCH.
type MessageID [MsgIDLength]byte

// ErrShortMessage is returned when a payload cannot hold a message header.
var ErrShortMessage = errors.New("message payload shorter than its header")

// AppendMessage appends a message payload (ts, attempts, id, body) to dst.
func AppendMessage(dst []byte, timestamp int64, attempts uint16, id *MessageID, body []byte) []byte {
	dst = binary.BigEndian.AppendUint64(dst, uint64(timestamp))
	dst = binary.BigEndian.AppendUint16(dst, attempts)
	dst = append(dst, id[:]...)
	return append(dst, body...)
}

// AppendMessageFrame appends a whole type-2 frame holding a message payload,
// without building the payload separately first.
func AppendMessageFrame(dst []byte, timestamp int64, attempts uint16, id *MessageID, body []byte) []byte {
	dst = binary.BigEndian.AppendUint32(dst, uint32(4+MessageHeaderLength+len(body)))
	dst = binary.BigEndian.AppendUint32(dst, uint32(FrameTypeMessage))
	return AppendMessage(dst, timestamp, attempts, id, body)
}

// DecodedMessage is a parsed message payload; Body aliases the input.
type DecodedMessage struct {
	Timestamp int64
	Attempts  uint16
	ID        MessageID
	Body      []byte
}

// DecodeMessage parses a message payload. The body aliases b.
func DecodeMessage(b []byte) (DecodedMessage, error) {
	var m DecodedMessage
	if len(b) < MessageHeaderLength {
		return m, fmt.Errorf("decode message of %d bytes: %w", len(b), ErrShortMessage)
	}
	m.Timestamp = int64(binary.BigEndian.Uint64(b[0:8]))
	m.Attempts = binary.BigEndian.Uint16(b[8:10])
	copy(m.ID[:], b[10:MessageHeaderLength])
	m.Body = b[MessageHeaderLength:]
	return m, nil
}
