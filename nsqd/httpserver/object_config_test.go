package httpserver_test

import (
	"encoding/json"
	"net/http"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/nsqgo/nsq/nsqd/httpserver"
	"github.com/nsqgo/nsq/nsqd/queue"
)

func getChannelConfig(t *testing.T, n *daemon, topic, channel string) httpserver.ChannelConfig {
	t.Helper()
	status, body := httpGet(t, n, "/channel/config?topic="+topic+"&channel="+channel)
	require.Equal(t, http.StatusOK, status, "%s", body)
	var cfg httpserver.ChannelConfig
	require.NoError(t, json.Unmarshal(body, &cfg))
	return cfg
}

func getTopicConfig(t *testing.T, n *daemon, topic string) httpserver.TopicConfig {
	t.Helper()
	status, body := httpGet(t, n, "/topic/config?topic="+topic)
	require.Equal(t, http.StatusOK, status, "%s", body)
	var cfg httpserver.TopicConfig
	require.NoError(t, json.Unmarshal(body, &cfg))
	return cfg
}

func TestCreateEndpointsTakeSettings(t *testing.T) {
	n := startDaemon(t, nil)
	// Without settings: upstream's answer, an empty 200.
	adminPost(t, n, "/topic/create?topic=plain")

	adminPost(t, n, "/topic/create?topic=orders&max_depth=10&overflow=drop-oldest")
	topicCfg := getTopicConfig(t, n, "orders")
	require.Equal(t, int64(10), topicCfg.MaxDepth)
	require.Equal(t, queue.OverflowDropOldest, topicCfg.Overflow)

	adminPost(t, n, "/channel/create?topic=orders&channel=work&max_attempts=2&dead_letter_topic=orders-dead")
	cfg := getChannelConfig(t, n, "orders", "work")
	require.Equal(t, uint16(2), cfg.MaxAttempts)
	require.Equal(t, "orders-dead", cfg.DeadLetterTopic)
	// Creating what exists updates its settings.
	adminPost(t, n, "/channel/create?topic=orders&channel=work&max_attempts=4")
	require.Equal(t, uint16(4), getChannelConfig(t, n, "orders", "work").MaxAttempts)

	// A bad setting creates nothing; upstream's own checks answer first.
	status, body := httpPost(t, n, "/topic/create?topic=fresh&overflow=sideways", "")
	requireAPIError(t, 400, "INVALID_ARG_OVERFLOW", status, body)
	requireNoTopic(t, n, "fresh")
	status, body = httpPost(t, n, "/topic/create?topic=fresh&max_attempts=3", "")
	requireAPIError(t, 400, "INVALID_ARG_MAX_ATTEMPTS", status, body)
	status, body = httpPost(t, n, "/topic/create?overflow=sideways", "")
	requireAPIError(t, 400, "MISSING_ARG_TOPIC", status, body)
	status, body = httpPost(t, n, "/topic/create?topic=a%20b&overflow=sideways", "")
	requireAPIError(t, 400, "INVALID_TOPIC", status, body)

	status, body = httpPost(t, n, "/channel/create?topic=orders&channel=fresh&max_depth=-4", "")
	requireAPIError(t, 400, "INVALID_ARG_MAX_DEPTH", status, body)
	status, body = httpPost(t, n, "/channel/create?topic=orders&channel=fresh&dead_letter_topic=orders", "")
	requireAPIError(t, 400, "INVALID_ARG_DEAD_LETTER_TOPIC", status, body)
	tp, err := n.GetExistingTopic("orders")
	require.NoError(t, err)
	_, err = tp.GetExistingChannel("fresh")
	require.Error(t, err, "a refused create created no channel")
	status, body = httpPost(t, n, "/channel/create?topic=missing&channel=fresh&max_depth=-4", "")
	requireAPIError(t, 404, "TOPIC_NOT_FOUND", status, body)
}
