package nsqd

import (
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
