package nsqd

import (
	"testing"

	"github.com/stretchr/testify/require"
)

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
	expectFirstDelivery(t, n, consumer, "t", "marker")

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
	// Held messages reach a channel only through a drain, and none runs
	// once the pause has been answered: after this the stats are final.
	topic, err := n.GetExistingTopic("t")
	require.NoError(t, err)
	topic.drainers.Wait()
	stats := getStats(t, n, "")
	require.True(t, topicStats(t, stats, "t").Paused)
	require.EqualValues(t, 1, topicStats(t, stats, "t").Depth, "held on the paused topic")
	require.Zero(t, channelStats(t, stats, "t", "ch").Depth)

	adminPost(t, n, "/topic/unpause?topic=t")
	require.Equal(t, "waiting", string(consumer.readMessage().Body))
	require.False(t, topicStats(t, getStats(t, n, ""), "t").Paused)
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
	expectFirstDelivery(t, n, consumer, "t", "marker")
}

func TestHTTPChannelPauseStopsDeliveryUntilUnpause(t *testing.T) {
	n := startDaemon(t, nil)
	pumps := watchPumps(t, n)
	consumer := dialV2(t, n)
	consumer.subscribe("t", "ch")
	consumer.send("RDY 1")

	adminPost(t, n, "/channel/pause?topic=t&channel=ch")
	httpPost(t, n, "/pub?topic=t", "waiting")
	expectPumpDeliversNothing(t, n, pumps, consumer, "1")
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
	expectFirstDelivery(t, n, consumer, "t", "marker")
}

// expectFirstDelivery publishes marker to topic and checks it is the next
// frame consumer gets: what an empty dropped would have been queued ahead
// of it and delivered first. An event to await, where watching for a
// frame that must not come would wait out a window.
func expectFirstDelivery(t *testing.T, n *NSQD, consumer *testConn, topic, marker string) {
	t.Helper()
	httpPost(t, n, "/pub?topic="+topic, marker)
	require.Equal(t, marker, string(consumer.readMessage().Body), "something dropped was delivered")
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
