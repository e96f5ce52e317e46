package httpserver

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"net/http"
)

// mpubError is a rejected /mpub body: status and token are the HTTP
// answer, detail says what was wrong (for the log; upstream's TCP MPUB
// puts the same text in its error frame).
type mpubError struct {
	status int
	token  string
	detail string
}

func (e *mpubError) Error() string { return e.token + ": " + e.detail }

func badMPUB(token, format string, args ...any) *mpubError {
	return &mpubError{status: http.StatusRequestEntityTooLarge, token: token, detail: fmt.Sprintf(format, args...)}
}

// parseMPUBBinary decodes a binary /mpub body, laid out like the TCP MPUB
// body without its outer size: <int32 count> then count times
// <int32 size><size bytes>, big-endian, sizes signed as upstream reads
// them. Trailing bytes after the last message are ignored, as upstream
// never reads them.
//
// The messages alias body (the daemon copies them out as it publishes);
// each is capped at its own length so nothing can append into its
// neighbour.
//
// The checks and their tokens are the TCP MPUB's with "E_" removed:
// BAD_BODY for the count, BAD_MESSAGE for a message.
func parseMPUBBinary(body []byte, maxMsgSize, maxBodySize int64) ([][]byte, error) {
	if len(body) < 4 {
		return nil, badMPUB("BAD_BODY", "MPUB failed to read message count")
	}
	count := int32(binary.BigEndian.Uint32(body))
	// 4 bytes of count, then at least 4 of size and 1 of body per message.
	if count <= 0 || int64(count) > (maxBodySize-4)/5 {
		return nil, badMPUB("BAD_BODY", "MPUB invalid message count %d", count)
	}
	// The slice grows with the messages found, not with the count the
	// body claims.
	var msgs [][]byte
	off := 4
	for i := 0; i < int(count); i++ {
		if len(body)-off < 4 {
			return nil, badMPUB("BAD_MESSAGE", "MPUB failed to read message(%d) body size", i)
		}
		size := int32(binary.BigEndian.Uint32(body[off:]))
		off += 4
		if size <= 0 {
			return nil, badMPUB("BAD_MESSAGE", "MPUB invalid message(%d) body size %d", i, size)
		}
		if int64(size) > maxMsgSize {
			return nil, badMPUB("BAD_MESSAGE", "MPUB message too big %d > %d", size, maxMsgSize)
		}
		end := off + int(size)
		if end > len(body) {
			return nil, badMPUB("BAD_MESSAGE", "MPUB failed to read message body")
		}
		msgs = append(msgs, body[off:end:end])
		off = end
	}
	return msgs, nil
}

// parseMPUBText splits a text /mpub body on '\n' into messages, skipping
// empty lines (upstream's behaviour since 0.2.22; there is no escaping).
//
// body was read through a limit of readMax = max-body-size+1 bytes, and
// the checks run line by line in upstream's order: a line that brings the
// running total to readMax means the body was too big (BODY_TOO_BIG), but
// an earlier line over --max-msg-size is reported first (MSG_TOO_BIG).
// Messages alias body (the daemon copies them out as it publishes). The
// slice grows with the messages found: sizing it by the count of newlines
// would let a flood of empty lines cost 72 bytes each.
func parseMPUBText(body []byte, readMax, maxMsgSize int64) ([][]byte, error) {
	var msgs [][]byte
	var total int64
	for rest := body; ; {
		line := rest
		last := true
		if i := bytes.IndexByte(rest, '\n'); i >= 0 {
			line, rest, last = rest[:i+1], rest[i+1:], false
		}
		total += int64(len(line))
		if total == readMax {
			return nil, badMPUB("BODY_TOO_BIG", "MPUB body exceeds %d bytes", readMax-1)
		}
		line = bytes.TrimSuffix(line, []byte{'\n'})
		if len(line) > 0 {
			if int64(len(line)) > maxMsgSize {
				return nil, badMPUB("MSG_TOO_BIG", "MPUB message too big %d > %d", len(line), maxMsgSize)
			}
			msgs = append(msgs, line[:len(line):len(line)])
		}
		if last {
			return msgs, nil
		}
	}
}
