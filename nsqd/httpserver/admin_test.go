package httpserver_test

import (
	"net/http"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestHTTPTopicCreate(t *testing.T) {
	n := startDaemon(t, nil)
	status, body, header := httpDo(t, http.MethodPost, httpURL(n, "/topic/create?topic=made"), nil)
	requireOK(t, "", status, body)
	requireV1Header(t, header)
	_, err := n.GetExistingTopic("made")
	require.NoError(t, err)

	adminPost(t, n, "/topic/create?topic=made")
	require.Len(t, n.Topics(), 1, "creating an existing topic is a no-op")
}

func TestHTTPTopicEndpointErrors(t *testing.T) {
	n := startDaemon(t, nil)
	for _, tc := range []struct {
		path    string
		status  int
		message string
	}{
		{"/topic/create?topic=%zz", 400, "INVALID_REQUEST"},
		{"/topic/create", 400, "MISSING_ARG_TOPIC"},
		{"/topic/create?topic=bad!", 400, "INVALID_TOPIC"},
		{"/topic/delete?topic=%zz", 400, "INVALID_REQUEST"},
		{"/topic/delete", 400, "MISSING_ARG_TOPIC"},
		{"/topic/delete?topic=missing", 404, "TOPIC_NOT_FOUND"},
		// Delete never validates the name: an invalid one is not found.
		{"/topic/delete?topic=bad!", 404, "TOPIC_NOT_FOUND"},
		{"/topic/empty?topic=%zz", 400, "INVALID_REQUEST"},
		{"/topic/empty", 400, "MISSING_ARG_TOPIC"},
		{"/topic/empty?topic=bad!", 400, "INVALID_TOPIC"},
		{"/topic/empty?topic=missing", 404, "TOPIC_NOT_FOUND"},
		{"/topic/pause", 400, "MISSING_ARG_TOPIC"},
		{"/topic/pause?topic=missing", 404, "TOPIC_NOT_FOUND"},
		{"/topic/pause?topic=bad!", 404, "TOPIC_NOT_FOUND"},
		{"/topic/unpause?topic=%zz", 400, "INVALID_REQUEST"},
		{"/topic/unpause", 400, "MISSING_ARG_TOPIC"},
		{"/topic/unpause?topic=missing", 404, "TOPIC_NOT_FOUND"},
	} {
		status, body := httpPost(t, n, tc.path, "")
		requireAPIError(t, tc.status, tc.message, status, body)
	}
	require.Empty(t, n.Topics())
}

func TestHTTPChannelCreateMakesChannelReceiveLaterMessages(t *testing.T) {
	n := startDaemon(t, nil)
	httpPost(t, n, "/topic/create?topic=t", "")
	adminPost(t, n, "/channel/create?topic=t&channel=made")

	httpPost(t, n, "/pub?topic=t", "for made")
	require.EqualValues(t, 1, channelStats(t, getStats(t, n, ""), "t", "made").Depth)
	require.Equal(t, []string{"for made"}, consumeBodies(t, n, "t", "made", 1))
}

func TestHTTPChannelEndpointErrors(t *testing.T) {
	n := startDaemon(t, nil)
	httpPost(t, n, "/topic/create?topic=t", "")
	for _, endpoint := range []string{"create", "delete", "empty", "pause", "unpause"} {
		for _, tc := range []struct {
			query   string
			status  int
			message string
		}{
			{"?topic=t&channel=%zz", 400, "INVALID_REQUEST"},
			{"?channel=c", 400, "MISSING_ARG_TOPIC"},
			{"?topic=bad!&channel=c", 400, "INVALID_ARG_TOPIC"},
			{"?topic=t", 400, "MISSING_ARG_CHANNEL"},
			{"?topic=t&channel=bad!", 400, "INVALID_ARG_CHANNEL"},
			{"?topic=t&channel=", 400, "INVALID_ARG_CHANNEL"},
			{"?topic=missing&channel=c", 404, "TOPIC_NOT_FOUND"},
		} {
			status, body := httpPost(t, n, "/channel/"+endpoint+tc.query, "")
			requireAPIError(t, tc.status, tc.message, status, body)
		}
		if endpoint != "create" {
			status, body := httpPost(t, n, "/channel/"+endpoint+"?topic=t&channel=missing", "")
			requireAPIError(t, http.StatusNotFound, "CHANNEL_NOT_FOUND", status, body)
		}
	}
	require.Len(t, n.Topics(), 1, "/channel/create must not create a topic")
}
