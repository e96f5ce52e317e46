package nsqd

import (
	"bytes"
	"encoding/binary"
	"errors"
	"net/http"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// consumeBodies subscribes to topic/ch and reads count message bodies.
func consumeBodies(t *testing.T, n *NSQD, topic string, count int) []string {
	t.Helper()
	consumer := dialV2(t, n)
	consumer.subscribe(topic, "ch")
	consumer.send("RDY 100")
	bodies := make([]string, count)
	for i := range bodies {
		bodies[i] = string(consumer.readMessage().Body)
	}
	return bodies
}

func TestHTTPMPUBTextModeSkipsEmptyLines(t *testing.T) {
	n := startDaemon(t, nil)
	status, body := httpPost(t, n, "/mpub?topic=text", "a\nb\n\nc\n")
	requireOK(t, "OK", status, body)
	require.EqualValues(t, 3, getStats(t, n, "").Topics[0].MessageCount)
	require.Equal(t, []string{"a", "b", "c"}, consumeBodies(t, n, "text", 3))
}

func TestHTTPMPUBTextModeOfOnlyNewlinesPublishesNothing(t *testing.T) {
	n := startDaemon(t, nil)
	status, body := httpPost(t, n, "/mpub?topic=blank", "\n\n\n")
	requireOK(t, "OK", status, body)
	topic := topicStats(t, getStats(t, n, ""), "blank")
	require.Zero(t, topic.MessageCount)
}

func TestHTTPMPUBBinaryMode(t *testing.T) {
	for _, value := range []string{"true", "1", "yes"} {
		t.Run(value, func(t *testing.T) {
			n := startDaemon(t, nil)
			payload := mpubBody("first\nline", "second", strings.Repeat("z", 300))
			status, body := httpPost(t, n, "/mpub?topic=bin&binary="+value, string(payload))
			requireOK(t, "OK", status, body)
			require.Equal(t, []string{"first\nline", "second", strings.Repeat("z", 300)}, consumeBodies(t, n, "bin", 3))
		})
	}
}

func TestHTTPMPUBBinaryFalseIsTextMode(t *testing.T) {
	for _, value := range []string{"false", "0"} {
		t.Run(value, func(t *testing.T) {
			n := startDaemon(t, nil)
			status, body := httpPost(t, n, "/mpub?topic=txt&binary="+value, "x\ny")
			requireOK(t, "OK", status, body)
			require.Equal(t, []string{"x", "y"}, consumeBodies(t, n, "txt", 2))
		})
	}
}

func TestHTTPMPUBErrors(t *testing.T) {
	n := startDaemon(t, func(o *Options) {
		o.MaxMsgSize = 8
		o.MaxBodySize = 64
	})
	truncated := mpubBody("abc", "def")
	for _, tc := range []struct {
		name, query, body string
		status            int
		message           string
	}{
		{"body over max-body-size", "?topic=t", strings.Repeat("a\n", 33), 413, "BODY_TOO_BIG"},
		{"unparsable query", "?topic=%zz", "a", 400, "INVALID_REQUEST"},
		{"no topic", "", "a", 400, "MISSING_ARG_TOPIC"},
		{"bad topic", "?topic=a/b", "a", 400, "INVALID_TOPIC"},
		{"text line over max-msg-size", "?topic=t", "ok\n123456789\n", 413, "MSG_TOO_BIG"},
		{"binary count zero", "?topic=t&binary=true", string(mpubBody()), 413, "BAD_BODY"},
		{"binary count missing", "?topic=t&binary=true", "\x00\x00", 413, "BAD_BODY"},
		{"binary count over limit", "?topic=t&binary=true", "\x00\x00\x00\x0d", 413, "BAD_BODY"},
		{"binary message truncated", "?topic=t&binary=true", string(truncated[:len(truncated)-1]), 413, "BAD_MESSAGE"},
		{"binary message too big", "?topic=t&binary=true", string(mpubBody("123456789")), 413, "BAD_MESSAGE"},
		{"binary message size negative", "?topic=t&binary=true", "\x00\x00\x00\x01\xff\xff\xff\xff", 413, "BAD_MESSAGE"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			status, body := httpPost(t, n, "/mpub"+tc.query, tc.body)
			requireAPIError(t, tc.status, tc.message, status, body)
		})
	}
	require.Zero(t, topicStats(t, getStats(t, n, ""), "t").MessageCount, "a refused batch must not land in part")
}

func TestHTTPMPUBRefusesChunkedBodyOverMaxBodySize(t *testing.T) {
	n := startDaemon(t, func(o *Options) { o.MaxBodySize = 64 })
	status, body := httpPostChunked(t, n, "/mpub?topic=t", []byte(strings.Repeat("a\n", 100)))
	requireAPIError(t, http.StatusRequestEntityTooLarge, "BODY_TOO_BIG", status, body)
	status, body = httpPostChunked(t, n, "/mpub?topic=t&binary=true", mpubBody(strings.Repeat("b", 70)))
	requireAPIError(t, http.StatusRequestEntityTooLarge, "BODY_TOO_BIG", status, body)
}

// Upstream creates the topic once the query is valid, before it reads the
// body.
func TestHTTPMPUBCreatesTopicEvenWhenBodyIsBad(t *testing.T) {
	n := startDaemon(t, nil)
	status, body := httpPost(t, n, "/mpub?topic=created&binary=true", "\x00")
	requireAPIError(t, http.StatusRequestEntityTooLarge, "BAD_BODY", status, body)
	_, err := n.GetExistingTopic("created")
	require.NoError(t, err)
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
	require.Equal(t, "ab", string(msgs[0].Body))
	require.Equal(t, "cde", string(msgs[1].Body))
	require.Same(t, &body[8], &msgs[0].Body[0], "bodies must alias the request buffer")
	require.Equal(t, 2, cap(msgs[0].Body), "a body must not reach into its neighbour")
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
			if len(m.Body) == 0 || len(m.Body) > maxMsgSize {
				t.Fatalf("message of %d bytes accepted", len(m.Body))
			}
			encoded = binary.BigEndian.AppendUint32(encoded, uint32(len(m.Body)))
			encoded = append(encoded, m.Body...)
		}
		if !bytes.HasPrefix(body, encoded) {
			t.Fatalf("messages do not re-encode to the body")
		}
	})
}
