package nsqd

import (
	"encoding/json"
	"net/http"
	"net/url"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/nsqgo/nsq/nsqd/httpserver"
)

func peekJSONOf(t *testing.T, n *NSQD, path string) httpserver.PeekAnswer {
	t.Helper()
	status, body := httpGet(t, n, path)
	require.Equal(t, http.StatusOK, status, "%s: %s", path, body)
	var answer httpserver.PeekAnswer
	require.NoError(t, json.Unmarshal(body, &answer))
	return answer
}

func peekBodies(answer httpserver.PeekAnswer) []string {
	out := []string{}
	for _, m := range answer.Messages {
		out = append(out, string(m.Body))
	}
	return out
}

// A peek of ready messages shows the memory part and the disk backlog, and
// changes nothing: after it consumers get the same messages, in the same
// order, each on its first attempt.
func TestChannelPeekChangesNothing(t *testing.T) {
	n := startDaemon(t, func(o *Options) { o.MemQueueSize = 2 })
	adminPost(t, n, "/topic/create?topic=orders")
	adminPost(t, n, "/channel/create?topic=orders&channel=work")
	publish(t, n, "orders", numbered("m", 6)...)
	c := existingChannel(t, n, "orders", "work")
	require.EqualValues(t, 4, c.BackendDepth())

	path := "/channel/peek?topic=orders&channel=work&state=ready&n=10"
	first := peekJSONOf(t, n, path)
	require.Equal(t, numbered("m", 6), peekBodies(first))
	for _, m := range first.Messages {
		require.Zero(t, m.Attempts)
		require.NotZero(t, m.Timestamp)
		require.Len(t, m.ID, 16)
	}
	require.Equal(t, first, peekJSONOf(t, n, path))
	require.EqualValues(t, 6, c.Depth())
	require.EqualValues(t, 4, c.BackendDepth())
	require.Equal(t, []string{"m0", "m1", "m2"}, peekBodies(peekJSONOf(t, n, "/channel/peek?topic=orders&channel=work&n=3")))

	// Consumers see what they would have seen without the peek: the first
	// take serves memory first (nsqd/queue Take), each on attempt 1.
	consumer := dialV2(t, n)
	consumer.subscribe("orders", "work")
	consumer.send("RDY 1")
	m := consumer.readMessage()
	require.Equal(t, "m0", string(m.Body))
	require.EqualValues(t, 1, m.Attempts)

	inFlight := peekJSONOf(t, n, "/channel/peek?topic=orders&channel=work&state=in_flight")
	require.Len(t, inFlight.Messages, 1)
	require.Equal(t, "m0", string(inFlight.Messages[0].Body))
	require.EqualValues(t, 1, inFlight.Messages[0].Attempts)
	require.NotZero(t, inFlight.Messages[0].TimeoutAt)
	require.NotZero(t, inFlight.Messages[0].ClientID)
	// Still in flight and answerable after the peek.
	consumer.fin(m.ID)
	seen := []string{"m0"}
	consumer.send("RDY 10")
	for _, m := range consumer.readMessages(5) {
		require.EqualValues(t, 1, m.Attempts, "%s", m.Body)
		seen = append(seen, string(m.Body))
		consumer.fin(m.ID)
	}
	require.ElementsMatch(t, numbered("m", 6), seen)
	waitFor(t, "in-flight count back to 0", func() bool { return c.inFlightCount.Load() == 0 })
	require.Empty(t, peekJSONOf(t, n, path).Messages)
}

func TestChannelPeekDeferredAndDead(t *testing.T) {
	n := startDaemon(t, nil)
	c := boundedChannel(t, n, "orders", "work", "max_depth=1&overflow=drop-oldest")
	producer := dialV2(t, n)
	producer.send("DPUB orders 60000", []byte("later"))
	producer.expectResponse("OK")
	producer.pub("orders", "old")
	producer.pub("orders", "new")

	deferred := peekJSONOf(t, n, "/channel/peek?topic=orders&channel=work&state=deferred")
	require.Equal(t, []string{"later"}, peekBodies(deferred))
	require.Greater(t, deferred.Messages[0].DeliverAt, deferred.Messages[0].Timestamp)
	require.Equal(t, 1, c.queue.DeferredCount())

	dead := peekJSONOf(t, n, "/channel/peek?topic=orders&channel=work&state=dead")
	require.Equal(t, []string{"old"}, peekBodies(dead))
	require.Equal(t, "overflow", dead.Messages[0].Reason)
	require.NotZero(t, dead.Messages[0].DiedAt)
	require.NotZero(t, dead.Messages[0].Seq)
	after := peekJSONOf(t, n, "/channel/peek?topic=orders&channel=work&state=dead&after="+
		url.QueryEscape(formatUint(dead.Messages[0].Seq)))
	require.Empty(t, after.Messages)
	require.EqualValues(t, 1, c.deadDepth())
}

func formatUint(v uint64) string { b, _ := json.Marshal(v); return string(b) }
