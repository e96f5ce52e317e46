package httpserver_test

import (
	"net/http"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestHTTPStatsOfEmptyDaemonHasEmptyTopicsAndNullProducers(t *testing.T) {
	n := startDaemon(t, nil)
	status, body := httpGet(t, n, "/stats?format=json")
	require.Equal(t, http.StatusOK, status)
	require.Equal(t, "[]", string(rawField(t, body, "topics")))
	require.Equal(t, "null", string(rawField(t, body, "producers")))
}

func TestHTTPStatsHTTPPublishesAreNotProducers(t *testing.T) {
	n := startDaemon(t, nil)
	httpPost(t, n, "/pub?topic=t", "m")
	require.Nil(t, getStats(t, n, "").Producers)
}

func TestHTTPStatsChannelFilterOmitsTopicsWithoutIt(t *testing.T) {
	n := startDaemon(t, nil)
	httpPost(t, n, "/topic/create?topic=t1", "")
	httpPost(t, n, "/channel/create?topic=t1&channel=a", "")
	httpPost(t, n, "/channel/create?topic=t1&channel=b", "")
	httpPost(t, n, "/topic/create?topic=t2", "")
	httpPost(t, n, "/channel/create?topic=t2&channel=b", "")
	httpPost(t, n, "/topic/create?topic=t3", "")

	stats := getStats(t, n, "&channel=a")
	require.Len(t, stats.Topics, 1)
	require.Equal(t, "t1", stats.Topics[0].TopicName)
	require.Len(t, stats.Topics[0].Channels, 1)
	require.Equal(t, "a", stats.Topics[0].Channels[0].ChannelName)

	stats = getStats(t, n, "&channel=b&topic=t2")
	require.Len(t, stats.Topics, 1)
	require.Equal(t, "t2", stats.Topics[0].TopicName)
}

func TestHTTPStatsSortsTopicsAndChannelsByName(t *testing.T) {
	n := startDaemon(t, nil)
	for _, topic := range []string{"zeta", "alpha", "mid"} {
		httpPost(t, n, "/topic/create?topic="+topic, "")
	}
	for _, channel := range []string{"c3", "c1", "c2"} {
		httpPost(t, n, "/channel/create?topic=mid&channel="+channel, "")
	}
	stats := getStats(t, n, "")
	var topics, channels []string
	for _, ts := range stats.Topics {
		topics = append(topics, ts.TopicName)
	}
	for _, cs := range topicStats(t, stats, "mid").Channels {
		channels = append(channels, cs.ChannelName)
	}
	require.Equal(t, []string{"alpha", "mid", "zeta"}, topics)
	require.Equal(t, []string{"c1", "c2", "c3"}, channels)
}

func TestHTTPStatsWithoutMemory(t *testing.T) {
	n := startDaemon(t, nil)
	status, body := httpGet(t, n, "/stats?format=json&include_mem=false")
	require.Equal(t, http.StatusOK, status)
	require.NotContains(t, objectKeys(t, body), "memory")

	status, body = httpGet(t, n, "/stats?include_mem=0")
	require.Equal(t, http.StatusOK, status)
	require.NotContains(t, string(body), "Memory:")
	status, body = httpGet(t, n, "/stats")
	require.Equal(t, http.StatusOK, status)
	require.Contains(t, string(body), "\nMemory:\n   heap_objects             \t")
}

func TestHTTPStatsUnparsableQueryIsInvalidRequest(t *testing.T) {
	n := startDaemon(t, nil)
	status, body := httpGet(t, n, "/stats?topic=%zz")
	requireAPIError(t, http.StatusBadRequest, "INVALID_REQUEST", status, body)
}
