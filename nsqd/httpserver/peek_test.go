package httpserver_test

import (
	"encoding/json"
	"net/http"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/nsqgo/nsq/internal/tooltest"
	"github.com/nsqgo/nsq/nsqd"
	"github.com/nsqgo/nsq/nsqd/httpserver"
)

func peekJSONOf(t *testing.T, n *daemon, path string) httpserver.PeekAnswer {
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

func TestChannelPeekErrors(t *testing.T) {
	n := startDaemon(t, nil)
	adminPost(t, n, "/topic/create?topic=orders")
	adminPost(t, n, "/channel/create?topic=orders&channel=work")
	for path, want := range map[string]string{
		"/channel/peek?topic=orders&channel=work&state=bogus":         "INVALID_STATE",
		"/channel/peek?topic=orders&channel=work&n=0":                 "INVALID_N",
		"/channel/peek?topic=orders&channel=work&n=x":                 "INVALID_N",
		"/channel/peek?topic=orders&channel=work&after=1":             "INVALID_AFTER",
		"/channel/peek?channel=work":                                  "MISSING_ARG_TOPIC",
		"/channel/peek?topic=orders":                                  "MISSING_ARG_CHANNEL",
		"/topic/peek?topic=b@d":                                       "INVALID_TOPIC",
		"/channel/peek?topic=orders&channel=work&state=dead&after=-1": "INVALID_AFTER",
	} {
		status, body := httpGet(t, n, path)
		requireAPIError(t, http.StatusBadRequest, want, status, body)
	}
	status, body := httpGet(t, n, "/channel/peek?topic=orders&channel=nope")
	requireAPIError(t, http.StatusNotFound, "CHANNEL_NOT_FOUND", status, body)
	status, body = httpGet(t, n, "/topic/peek?topic=nope")
	requireAPIError(t, http.StatusNotFound, "TOPIC_NOT_FOUND", status, body)
	// n is capped, not refused.
	require.Empty(t, peekJSONOf(t, n, "/channel/peek?topic=orders&channel=work&n=1000000").Messages)
}

// A topic with no channel holds its messages; /topic/peek shows them
// (memory, then disk) and the channel created afterwards still gets all.
func TestTopicPeekChangesNothing(t *testing.T) {
	n := startDaemon(t, func(o *nsqd.Options) { o.MemQueueSize = 1 })
	adminPost(t, n, "/topic/create?topic=orders")
	tooltest.Publish(t, n.TCPAddr(), "orders", "a", "b", "c")
	answer := peekJSONOf(t, n, "/topic/peek?topic=orders")
	require.Equal(t, []string{"a", "b", "c"}, peekBodies(answer))
	require.Equal(t, answer, peekJSONOf(t, n, "/topic/peek?topic=orders"))
	require.Equal(t, []string{"a"}, peekBodies(peekJSONOf(t, n, "/topic/peek?topic=orders&n=1")))

	require.ElementsMatch(t, []string{"a", "b", "c"}, consumeBodies(t, n, "orders", "work", 3))
}
