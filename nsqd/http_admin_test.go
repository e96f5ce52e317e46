package nsqd

import (
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// quiet is how long a test watches for a delivery that must not happen.
const quiet = 200 * time.Millisecond

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

func TestHTTPTopicDeleteRemovesTopicAndClosesSubscribers(t *testing.T) {
	n := startDaemon(t, nil)
	consumer := dialV2(t, n)
	consumer.subscribe("doomed", "ch")

	adminPost(t, n, "/topic/delete?topic=doomed")
	consumer.expectClosed()
	_, err := n.GetExistingTopic("doomed")
	require.ErrorIs(t, err, errTopicNotFound)
}

func TestHTTPTopicEmptyDropsOnlyTheTopicsOwnQueue(t *testing.T) {
	n := startDaemon(t, nil)
	// held on the topic: it has no channel yet
	httpPost(t, n, "/pub?topic=t", "held1")
	httpPost(t, n, "/pub?topic=t", "held2")
	require.EqualValues(t, 2, topicStats(t, getStats(t, n, ""), "t").Depth)

	adminPost(t, n, "/topic/empty?topic=t")
	require.Zero(t, topicStats(t, getStats(t, n, ""), "t").Depth)

	consumer := dialV2(t, n)
	consumer.subscribe("t", "ch")
	consumer.send("RDY 10")
	consumer.expectNoFrame(quiet)

	// A message already on a channel is not the topic's to drop.
	httpPost(t, n, "/channel/pause?topic=t&channel=ch", "")
	httpPost(t, n, "/pub?topic=t", "kept")
	require.EqualValues(t, 1, channelStats(t, getStats(t, n, ""), "t", "ch").Depth)
	adminPost(t, n, "/topic/empty?topic=t")
	httpPost(t, n, "/channel/unpause?topic=t&channel=ch", "")
	require.Equal(t, "kept", string(consumer.readMessage().Body))
}

func TestHTTPTopicPauseHoldsMessagesUntilUnpause(t *testing.T) {
	n := startDaemon(t, nil)
	consumer := dialV2(t, n)
	consumer.subscribe("t", "ch")
	consumer.send("RDY 1")

	adminPost(t, n, "/topic/pause?topic=t")
	httpPost(t, n, "/pub?topic=t", "waiting")
	consumer.expectNoFrame(quiet)
	stats := getStats(t, n, "")
	require.True(t, topicStats(t, stats, "t").Paused)
	require.EqualValues(t, 1, topicStats(t, stats, "t").Depth, "held on the paused topic")
	require.Zero(t, channelStats(t, stats, "t", "ch").Depth)

	adminPost(t, n, "/topic/unpause?topic=t")
	require.Equal(t, "waiting", string(consumer.readMessage().Body))
	require.False(t, topicStats(t, getStats(t, n, ""), "t").Paused)
}

func TestHTTPChannelCreateMakesChannelReceiveLaterMessages(t *testing.T) {
	n := startDaemon(t, nil)
	httpPost(t, n, "/topic/create?topic=t", "")
	adminPost(t, n, "/channel/create?topic=t&channel=made")

	httpPost(t, n, "/pub?topic=t", "for made")
	require.EqualValues(t, 1, channelStats(t, getStats(t, n, ""), "t", "made").Depth)
	require.Equal(t, []string{"for made"}, consumeBodiesFrom(t, n, "t", "made", 1))
}

// consumeBodiesFrom subscribes to topic/channel and reads count bodies.
func consumeBodiesFrom(t *testing.T, n *NSQD, topic, channel string, count int) []string {
	t.Helper()
	consumer := dialV2(t, n)
	consumer.subscribe(topic, channel)
	consumer.send("RDY 100")
	bodies := make([]string, count)
	for i := range bodies {
		bodies[i] = string(consumer.readMessage().Body)
	}
	return bodies
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

func TestHTTPChannelDeleteClosesSubscribers(t *testing.T) {
	n := startDaemon(t, nil)
	consumer := dialV2(t, n)
	consumer.subscribe("t", "doomed")
	other := dialV2(t, n)
	other.subscribe("t", "survivor")

	adminPost(t, n, "/channel/delete?topic=t&channel=doomed")
	consumer.expectClosed()

	topic, err := n.GetExistingTopic("t")
	require.NoError(t, err)
	_, err = topic.GetExistingChannel("doomed")
	require.ErrorIs(t, err, errChannelNotFound)
	other.send("RDY 1")
	httpPost(t, n, "/pub?topic=t", "still here")
	require.Equal(t, "still here", string(other.readMessage().Body))
}

func TestHTTPChannelEmptyDropsQueuedAndInFlight(t *testing.T) {
	n := startDaemon(t, nil)
	consumer := dialV2(t, n)
	consumer.subscribe("t", "ch")
	consumer.send("RDY 1")
	httpPost(t, n, "/pub?topic=t", "in flight")
	held := consumer.readMessage()
	httpPost(t, n, "/pub?topic=t", "queued")
	stats := getStats(t, n, "")
	require.EqualValues(t, 1, channelStats(t, stats, "t", "ch").Depth)
	require.EqualValues(t, 1, channelStats(t, stats, "t", "ch").InFlightCount)

	adminPost(t, n, "/channel/empty?topic=t&channel=ch")
	stats = getStats(t, n, "")
	require.Zero(t, channelStats(t, stats, "t", "ch").Depth)
	require.Zero(t, channelStats(t, stats, "t", "ch").InFlightCount)
	require.Zero(t, channelStats(t, stats, "t", "ch").Clients[0].InFlightCount)

	consumer.fin(held.ID)
	consumer.expectError("E_FIN_FAILED FIN " + string(held.ID[:]) + " failed ID not in flight")
	consumer.expectNoFrame(quiet)
}

func TestHTTPChannelPauseStopsDeliveryUntilUnpause(t *testing.T) {
	n := startDaemon(t, nil)
	consumer := dialV2(t, n)
	consumer.subscribe("t", "ch")
	consumer.send("RDY 1")

	adminPost(t, n, "/channel/pause?topic=t&channel=ch")
	httpPost(t, n, "/pub?topic=t", "waiting")
	consumer.expectNoFrame(quiet)
	cs := channelStats(t, getStats(t, n, ""), "t", "ch")
	require.True(t, cs.Paused)
	require.EqualValues(t, 1, cs.Depth)

	adminPost(t, n, "/channel/unpause?topic=t&channel=ch")
	require.Equal(t, "waiting", string(consumer.readMessage().Body))
	require.False(t, channelStats(t, getStats(t, n, ""), "t", "ch").Paused)
}

func TestHTTPTopicEmptyDropsTheTopicsDiskBacklog(t *testing.T) {
	// With no memory queue, everything a channel-less topic holds is on disk.
	n := startDaemon(t, func(o *Options) { o.MemQueueSize = 0 })
	httpPost(t, n, "/pub?topic=t", "held1")
	httpPost(t, n, "/pub?topic=t", "held2")
	topic := topicStats(t, getStats(t, n, ""), "t")
	require.EqualValues(t, 2, topic.Depth)
	require.EqualValues(t, 2, topic.BackendDepth, "held on disk")

	adminPost(t, n, "/topic/empty?topic=t")
	topic = topicStats(t, getStats(t, n, ""), "t")
	require.Zero(t, topic.Depth)
	require.Zero(t, topic.BackendDepth)

	consumer := dialV2(t, n)
	consumer.subscribe("t", "ch")
	consumer.send("RDY 10")
	consumer.expectNoFrame(quiet)
}

func TestHTTPChannelEmptyFreesTheConsumersCreditForTheNextMessage(t *testing.T) {
	n := startDaemon(t, nil)
	consumer := dialV2(t, n)
	consumer.subscribe("t", "ch")
	consumer.send("RDY 1")
	httpPost(t, n, "/pub?topic=t", "dropped")
	require.Equal(t, "dropped", string(consumer.readMessage().Body))

	// The consumer's one credit is used by the message in flight; emptying
	// the channel drops that message and gives the credit back.
	adminPost(t, n, "/channel/empty?topic=t&channel=ch")
	httpPost(t, n, "/pub?topic=t", "next")
	require.Equal(t, "next", string(consumer.readMessage().Body))
}
