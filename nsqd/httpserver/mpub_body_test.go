package httpserver

import (
	"bytes"
	"encoding/binary"
	"errors"
	"net/http"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// mpubBody encodes a binary /mpub body: count, then sized messages.
func mpubBody(bodies ...string) []byte {
	buf := binary.BigEndian.AppendUint32(nil, uint32(len(bodies)))
	for _, b := range bodies {
		buf = binary.BigEndian.AppendUint32(buf, uint32(len(b)))
		buf = append(buf, b...)
	}
	return buf
}

// The line checks run in order: an early oversized line wins over a body
// that is too big as a whole, as upstream reads line by line.
func TestParseMPUBTextReportsEarlierLineBeforeBodySize(t *testing.T) {
	body := []byte("123456789\n" + strings.Repeat("a", 20))
	_, err := parseMPUBText(body, int64(len(body)), 8)
	var bad *mpubError
	require.True(t, errors.As(err, &bad))
	require.Equal(t, "MSG_TOO_BIG", bad.token)

	_, err = parseMPUBText([]byte("ok\n"+strings.Repeat("a", 7)), 10, 8)
	require.True(t, errors.As(err, &bad))
	require.Equal(t, "BODY_TOO_BIG", bad.token)
}

func TestParseMPUBBinaryAliasesOneBuffer(t *testing.T) {
	body := mpubBody("ab", "cde")
	msgs, err := parseMPUBBinary(body, 100, 1000)
	require.NoError(t, err)
	require.Len(t, msgs, 2)
	require.Equal(t, "ab", string(msgs[0]))
	require.Equal(t, "cde", string(msgs[1]))
	require.Same(t, &body[8], &msgs[0][0], "bodies must alias the request buffer")
	require.Equal(t, 2, cap(msgs[0]), "a body must not reach into its neighbour")
}

// FuzzMPUBBody checks the binary /mpub parser against any bytes: it never
// panics, a refusal is always a 413 BAD_BODY or BAD_MESSAGE, and an
// accepted body holds exactly the declared messages, each within limits,
// which re-encode to the body's prefix.
func FuzzMPUBBody(f *testing.F) {
	const maxMsgSize, maxBodySize = 64, 1024
	valid := mpubBody("hello", "world", strings.Repeat("x", maxMsgSize))
	f.Add(valid)
	f.Add(append(mpubBody("trailing bytes are ignored"), "junk"...))
	f.Add(valid[:len(valid)-1])                         // truncated body
	f.Add(valid[:6])                                    // truncated size
	f.Add([]byte{0, 0})                                 // truncated count
	f.Add([]byte{})                                     // empty
	f.Add(mpubBody())                                   // count zero
	f.Add([]byte{0xff, 0xff, 0xff, 0xff})               // negative count
	f.Add([]byte{0x7f, 0xff, 0xff, 0xff, 0, 0, 0, 1})   // huge count
	f.Add([]byte{0, 0, 0, 1, 0xff, 0xff, 0xff, 0xfe})   // negative size
	f.Add([]byte{0, 0, 0, 1, 0, 0, 0, 0})               // zero size
	f.Add(mpubBody(strings.Repeat("y", maxMsgSize+1)))  // oversized message
	f.Add([]byte{0, 0, 0, 2, 0, 0, 0, 1, 'a', 0, 0, 0}) // second size cut
	f.Fuzz(func(t *testing.T, body []byte) {
		msgs, err := parseMPUBBinary(body, maxMsgSize, maxBodySize)
		if err != nil {
			var bad *mpubError
			if !errors.As(err, &bad) {
				t.Fatalf("error %v is not an mpubError", err)
			}
			if bad.status != http.StatusRequestEntityTooLarge || (bad.token != "BAD_BODY" && bad.token != "BAD_MESSAGE") {
				t.Fatalf("unexpected refusal %d %s", bad.status, bad.token)
			}
			return
		}
		count := int(int32(binary.BigEndian.Uint32(body)))
		if len(msgs) != count {
			t.Fatalf("declared %d messages, got %d", count, len(msgs))
		}
		encoded := binary.BigEndian.AppendUint32(nil, uint32(count))
		for _, m := range msgs {
			if len(m) == 0 || len(m) > maxMsgSize {
				t.Fatalf("message of %d bytes accepted", len(m))
			}
			encoded = binary.BigEndian.AppendUint32(encoded, uint32(len(m)))
			encoded = append(encoded, m...)
		}
		if !bytes.HasPrefix(body, encoded) {
			t.Fatalf("messages do not re-encode to the body")
		}
	})
}
