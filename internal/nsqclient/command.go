package nsqclient

import (
	"encoding/binary"
	"strconv"
	"time"

	"github.com/nsqgo/nsq/internal/protocol"
)

// The append* functions encode client commands onto a
// write buffer: a text line, then for IDENTIFY, AUTH, PUB, MPUB and DPUB an
// int32 size and the body.

func appendLine(dst []byte, name string, params ...string) []byte {
	dst = append(dst, name...)
	for _, p := range params {
		dst = append(dst, ' ')
		dst = append(dst, p...)
	}
	return append(dst, '\n')
}

func appendBody(dst, body []byte) []byte {
	dst = binary.BigEndian.AppendUint32(dst, uint32(len(body)))
	return append(dst, body...)
}

func appendIdentify(dst, body []byte) []byte {
	return appendBody(appendLine(dst, "IDENTIFY"), body)
}

func appendAuth(dst []byte, secret string) []byte {
	return appendBody(appendLine(dst, "AUTH"), []byte(secret))
}

func appendSub(dst []byte, topic, channel string) []byte {
	return appendLine(dst, "SUB", topic, channel)
}

func appendRdy(dst []byte, count int64) []byte {
	return appendLine(dst, "RDY", strconv.FormatInt(count, 10))
}

func appendFin(dst []byte, id *protocol.MessageID) []byte {
	return appendLine(dst, "FIN", string(id[:]))
}

// appendReq encodes REQ with the delay in whole milliseconds, as nsqd reads it.
func appendReq(dst []byte, id *protocol.MessageID, delay time.Duration) []byte {
	return appendLine(dst, "REQ", string(id[:]), strconv.FormatInt(delay.Milliseconds(), 10))
}

func appendTouch(dst []byte, id *protocol.MessageID) []byte {
	return appendLine(dst, "TOUCH", string(id[:]))
}

func appendCls(dst []byte) []byte { return appendLine(dst, "CLS") }

func appendNop(dst []byte) []byte { return appendLine(dst, "NOP") }

func appendPub(dst []byte, topic string, body []byte) []byte {
	return appendBody(appendLine(dst, "PUB", topic), body)
}

func appendDPub(dst []byte, topic string, delay time.Duration, body []byte) []byte {
	return appendBody(appendLine(dst, "DPUB", topic, strconv.FormatInt(delay.Milliseconds(), 10)), body)
}

// appendMPub encodes MPUB: the body is an int32 count followed by each
// message as int32 size + bytes.
func appendMPub(dst []byte, topic string, bodies [][]byte) []byte {
	size := 4
	for _, b := range bodies {
		size += 4 + len(b)
	}
	dst = appendLine(dst, "MPUB", topic)
	dst = binary.BigEndian.AppendUint32(dst, uint32(size))
	dst = binary.BigEndian.AppendUint32(dst, uint32(len(bodies)))
	for _, b := range bodies {
		dst = appendBody(dst, b)
	}
	return dst
}
