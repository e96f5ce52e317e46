package nsqd

import (
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func TestHTTPPubIsDeliveredToTCPConsumer(t *testing.T) {
	n := startDaemon(t, nil)
	status, body := httpPost(t, n, "/pub?topic=http_pub", "hello over http")
	requireOK(t, "OK", status, body)

	consumer := dialV2(t, n)
	consumer.subscribe("http_pub", "ch")
	consumer.send("RDY 1")
	msg := consumer.readMessage()
	require.Equal(t, "hello over http", string(msg.Body))
	require.Equal(t, uint16(1), msg.Attempts)
}

func TestHTTPPubAcceptsBodyOfExactlyMaxMsgSize(t *testing.T) {
	n := startDaemon(t, func(o *Options) { o.MaxMsgSize = 16 })
	status, body := httpPost(t, n, "/pub?topic=t", strings.Repeat("x", 16))
	requireOK(t, "OK", status, body)
	status, body = httpPostChunked(t, n, "/pub?topic=t", []byte(strings.Repeat("y", 16)))
	requireOK(t, "OK", status, body)
	require.EqualValues(t, 2, getStats(t, n, "").Topics[0].MessageCount)
}

func TestHTTPPubRefusesBodyOverMaxMsgSize(t *testing.T) {
	n := startDaemon(t, func(o *Options) { o.MaxMsgSize = 16 })
	status, body := httpPost(t, n, "/pub?topic=t", strings.Repeat("x", 17))
	requireAPIError(t, http.StatusRequestEntityTooLarge, "MSG_TOO_BIG", status, body)
	_, err := n.GetExistingTopic("t")
	require.ErrorIs(t, err, errTopicNotFound, "size is checked before the topic is created")
}

// A chunked upload has no Content-Length to refuse up front: the bounded
// read must catch it.
func TestHTTPPubRefusesChunkedBodyOverMaxMsgSize(t *testing.T) {
	n := startDaemon(t, func(o *Options) { o.MaxMsgSize = 16 })
	status, body := httpPostChunked(t, n, "/pub?topic=t", []byte(strings.Repeat("x", 1000)))
	requireAPIError(t, http.StatusRequestEntityTooLarge, "MSG_TOO_BIG", status, body)
}

func TestHTTPPubErrorsInUpstreamOrder(t *testing.T) {
	n := startDaemon(t, func(o *Options) { o.MaxReqTimeout = 10 * time.Second })
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
	n := startDaemon(t, func(o *Options) { o.MaxReqTimeout = 10 * time.Second })
	status, body := httpPost(t, n, "/pub?topic=t&defer=10000", "m")
	requireOK(t, "OK", status, body)
}

func TestHTTPPubWithDeferIsDeliveredOnlyWhenDue(t *testing.T) {
	n, clk := startClockedDaemon(t, nil)
	consumer := dialV2(t, n)
	consumer.subscribe("deferred", "ch")
	consumer.send("RDY 1")

	const delay = 300 * time.Millisecond
	due := clk.Now().Add(delay)
	status, body := httpPost(t, n, fmt.Sprintf("/pub?topic=deferred&defer=%d", delay.Milliseconds()), "later")
	requireOK(t, "OK", status, body)

	stats := getStats(t, n, "")
	require.EqualValues(t, 1, channelStats(t, stats, "deferred", "ch").DeferredCount)
	expectDeferredUntil(t, n, clk, consumer, "deferred", "ch", due)

	msg := consumer.readMessage()
	require.Equal(t, "later", string(msg.Body))
}
