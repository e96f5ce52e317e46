package nsqd

import (
	"fmt"
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
