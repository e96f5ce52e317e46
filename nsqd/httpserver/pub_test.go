package httpserver_test

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/nsqgo/nsq/nsqd"
	"github.com/nsqgo/nsq/nsqd/httpserver"
)

func TestHTTPPubAcceptsBodyOfExactlyMaxMsgSize(t *testing.T) {
	n := startDaemon(t, func(o *nsqd.Options) { o.MaxMsgSize = 16 })
	status, body := httpPost(t, n, "/pub?topic=t", strings.Repeat("x", 16))
	requireOK(t, "OK", status, body)
	status, body = httpPostChunked(t, n, "/pub?topic=t", []byte(strings.Repeat("y", 16)))
	requireOK(t, "OK", status, body)
	require.EqualValues(t, 2, getStats(t, n, "").Topics[0].MessageCount)
}

func TestHTTPPubRefusesBodyOverMaxMsgSize(t *testing.T) {
	n := startDaemon(t, func(o *nsqd.Options) { o.MaxMsgSize = 16 })
	status, body := httpPost(t, n, "/pub?topic=t", strings.Repeat("x", 17))
	requireAPIError(t, http.StatusRequestEntityTooLarge, "MSG_TOO_BIG", status, body)
	requireNoTopic(t, n, "t") // size is checked before the topic is created
}

// A chunked upload has no Content-Length to refuse up front: the bounded
// read must catch it.
func TestHTTPPubRefusesChunkedBodyOverMaxMsgSize(t *testing.T) {
	n := startDaemon(t, func(o *nsqd.Options) { o.MaxMsgSize = 16 })
	status, body := httpPostChunked(t, n, "/pub?topic=t", []byte(strings.Repeat("x", 1000)))
	requireAPIError(t, http.StatusRequestEntityTooLarge, "MSG_TOO_BIG", status, body)
}

func TestHTTPPubErrorsInUpstreamOrder(t *testing.T) {
	n := startDaemon(t, func(o *nsqd.Options) { o.MaxReqTimeout = 10 * time.Second })
	for _, tc := range []struct {
		name, query, body string
		status            int
		message           string
	}{
		{"empty body", "?topic=t", "", 400, "MSG_EMPTY"},
		{"empty body is checked before the topic", "", "", 400, "MSG_EMPTY"},
		{"unparsable query", "?topic=t&x=%zz", "m", 400, "INVALID_REQUEST"},
		{"no topic", "?channel=c", "m", 400, "MISSING_ARG_TOPIC"},
		{"empty topic", "?topic=", "m", 400, "INVALID_TOPIC"},
		{"bad topic", "?topic=bad!name", "m", 400, "INVALID_TOPIC"},
		{"topic too long", "?topic=" + strings.Repeat("a", 65), "m", 400, "INVALID_TOPIC"},
		{"defer not a number", "?topic=t&defer=soon", "m", 400, "INVALID_DEFER"},
		{"defer empty", "?topic=t&defer=", "m", 400, "INVALID_DEFER"},
		{"defer negative", "?topic=t&defer=-1", "m", 400, "INVALID_DEFER"},
		{"defer over max-req-timeout", "?topic=t&defer=10001", "m", 400, "INVALID_DEFER"},
		// 18446744073710ms in ns wraps int64 to 448384ns, which is in range.
		{"defer overflowing a duration", "?topic=t&defer=18446744073710", "m", 400, "INVALID_DEFER"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			status, body := httpPost(t, n, "/pub"+tc.query, tc.body)
			requireAPIError(t, tc.status, tc.message, status, body)
		})
	}
	require.Zero(t, getStats(t, n, "").Topics[0].MessageCount, "no refused publish may land")
}

func TestHTTPPubDeferAtMaxReqTimeoutIsAccepted(t *testing.T) {
	n := startDaemon(t, func(o *nsqd.Options) { o.MaxReqTimeout = 10 * time.Second })
	status, body := httpPost(t, n, "/pub?topic=t&defer=10000", "m")
	requireOK(t, "OK", status, body)
}

func TestHTTPMPUBTextModeSkipsEmptyLines(t *testing.T) {
	n := startDaemon(t, nil)
	status, body := httpPost(t, n, "/mpub?topic=text", "a\nb\n\nc\n")
	requireOK(t, "OK", status, body)
	require.EqualValues(t, 3, getStats(t, n, "").Topics[0].MessageCount)
	require.Equal(t, []string{"a", "b", "c"}, consumeBodies(t, n, "text", "ch", 3))
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
			payload := httpserver.MPUBBody("first\nline", "second", strings.Repeat("z", 300))
			status, body := httpPost(t, n, "/mpub?topic=bin&binary="+value, string(payload))
			requireOK(t, "OK", status, body)
			require.Equal(t, []string{"first\nline", "second", strings.Repeat("z", 300)}, consumeBodies(t, n, "bin", "ch", 3))
		})
	}
}

func TestHTTPMPUBBinaryFalseIsTextMode(t *testing.T) {
	for _, value := range []string{"false", "0"} {
		t.Run(value, func(t *testing.T) {
			n := startDaemon(t, nil)
			status, body := httpPost(t, n, "/mpub?topic=txt&binary="+value, "x\ny")
			requireOK(t, "OK", status, body)
			require.Equal(t, []string{"x", "y"}, consumeBodies(t, n, "txt", "ch", 2))
		})
	}
}

func TestHTTPMPUBErrors(t *testing.T) {
	n := startDaemon(t, func(o *nsqd.Options) {
		o.MaxMsgSize = 8
		o.MaxBodySize = 64
	})
	truncated := httpserver.MPUBBody("abc", "def")
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
		{"binary count zero", "?topic=t&binary=true", string(httpserver.MPUBBody()), 413, "BAD_BODY"},
		{"binary count missing", "?topic=t&binary=true", "\x00\x00", 413, "BAD_BODY"},
		{"binary count over limit", "?topic=t&binary=true", "\x00\x00\x00\x0d", 413, "BAD_BODY"},
		{"binary message truncated", "?topic=t&binary=true", string(truncated[:len(truncated)-1]), 413, "BAD_MESSAGE"},
		{"binary message too big", "?topic=t&binary=true", string(httpserver.MPUBBody("123456789")), 413, "BAD_MESSAGE"},
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
	n := startDaemon(t, func(o *nsqd.Options) { o.MaxBodySize = 64 })
	status, body := httpPostChunked(t, n, "/mpub?topic=t", []byte(strings.Repeat("a\n", 100)))
	requireAPIError(t, http.StatusRequestEntityTooLarge, "BODY_TOO_BIG", status, body)
	status, body = httpPostChunked(t, n, "/mpub?topic=t&binary=true", httpserver.MPUBBody(strings.Repeat("b", 70)))
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
