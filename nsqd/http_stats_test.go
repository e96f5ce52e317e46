package nsqd

import (
	"errors"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// statsScenario leaves topic "t" with 3 messages published by one TCP
// producer, and one consumer on t/c holding one in flight, one deferred by
// REQ and one FIN'd.
type statsScenario struct {
	producer, consumer *testConn
}

func setUpStatsScenario(t *testing.T, n *NSQD) statsScenario {
	t.Helper()
	consumer := dialV2(t, n)
	consumer.identify(map[string]any{"client_id": "cid", "hostname": "host.example", "user_agent": "test/1.0"})
	consumer.subscribe("t", "c")

	producer := dialV2(t, n)
	producer.identify(map[string]any{"client_id": "prod", "hostname": "ph", "user_agent": "pub/1.0"})
	producer.pub("t", "one")
	producer.pub("t", "two")
	producer.pub("t", "three")

	consumer.send("RDY 3")
	msgs := consumer.readMessages(3)
	consumer.fin(msgs[0].ID)
	consumer.req(msgs[1].ID, time.Hour)
	waitForStats(t, n, "FIN and REQ applied", func(s statsResponse) bool {
		c := channelStats(t, s, "t", "c")
		return c.InFlightCount == 1 && c.DeferredCount == 1
	})
	return statsScenario{producer: producer, consumer: consumer}
}

func TestHTTPStatsJSONReportsCountersAfterPublishAndConsume(t *testing.T) {
	n := startDaemon(t, nil)
	sc := setUpStatsScenario(t, n)
	stats := getStats(t, n, "")

	require.Equal(t, "1.3.0", stats.Version)
	require.Equal(t, "OK", stats.Health)
	require.Equal(t, n.startTime.Unix(), stats.StartTime)
	require.NotNil(t, stats.Memory)

	topic := topicStats(t, stats, "t")
	require.EqualValues(t, 0, topic.Depth)
	require.EqualValues(t, 3, topic.MessageCount)
	require.EqualValues(t, len("one")+len("two")+len("three"), topic.MessageBytes)
	require.False(t, topic.Paused)

	channel := channelStats(t, stats, "t", "c")
	require.Equal(t, ChannelStats{
		ChannelName:   "c",
		InFlightCount: 1,
		DeferredCount: 1,
		MessageCount:  3,
		RequeueCount:  1,
		ClientCount:   1,
		Clients:       channel.Clients,
	}, channel)

	require.Len(t, channel.Clients, 1)
	client := channel.Clients[0]
	require.Equal(t, "cid", client.ClientID)
	require.Equal(t, "host.example", client.Hostname)
	require.Equal(t, "V2", client.Version)
	require.Equal(t, sc.consumer.conn.LocalAddr().String(), client.RemoteAddress)
	require.EqualValues(t, stateSubscribed, client.State)
	require.EqualValues(t, 3, client.ReadyCount)
	require.EqualValues(t, 1, client.InFlightCount)
	require.EqualValues(t, 3, client.MessageCount)
	require.EqualValues(t, 1, client.FinishCount)
	require.EqualValues(t, 1, client.RequeueCount)
	require.Equal(t, "test/1.0", client.UserAgent)
	require.InDelta(t, time.Now().Unix(), client.ConnectTime, 5)
	require.Empty(t, client.PubCounts, "a consumer that never published has no pub_counts")

	require.Len(t, stats.Producers, 1)
	producer := stats.Producers[0]
	require.Equal(t, "prod", producer.ClientID)
	require.Equal(t, "pub/1.0", producer.UserAgent)
	require.Equal(t, sc.producer.conn.LocalAddr().String(), producer.RemoteAddress)
	require.Equal(t, []PubCount{{Topic: "t", Count: 3}}, producer.PubCounts)
	require.EqualValues(t, stateInit, producer.State)
}

func TestHTTPStatsJSONKeysInUpstreamOrder(t *testing.T) {
	n := startDaemon(t, nil)
	setUpStatsScenario(t, n)
	status, body := httpGet(t, n, "/stats?format=json")
	require.Equal(t, http.StatusOK, status)

	require.Equal(t, []string{"version", "health", "start_time", "topics", "memory", "producers"}, objectKeys(t, body))
	require.Equal(t, []string{
		"heap_objects", "heap_idle_bytes", "heap_in_use_bytes", "heap_released_bytes",
		"gc_pause_usec_100", "gc_pause_usec_99", "gc_pause_usec_95", "next_gc_bytes", "gc_total_runs",
	}, objectKeys(t, rawField(t, body, "memory")))

	topic := firstElement(t, rawField(t, body, "topics"))
	require.Equal(t, []string{
		"topic_name", "channels", "depth", "backend_depth", "message_count", "message_bytes",
		"paused", "e2e_processing_latency",
	}, objectKeys(t, topic))
	require.JSONEq(t, `{"count":0,"percentiles":null}`, string(rawField(t, topic, "e2e_processing_latency")))

	channel := firstElement(t, rawField(t, topic, "channels"))
	require.Equal(t, []string{
		"channel_name", "depth", "backend_depth", "in_flight_count", "deferred_count",
		"message_count", "requeue_count", "timeout_count", "client_count", "clients", "paused",
		"e2e_processing_latency",
	}, objectKeys(t, channel))
	require.JSONEq(t, `{"count":0,"percentiles":null}`, string(rawField(t, channel, "e2e_processing_latency")))

	clientKeys := []string{
		"client_id", "hostname", "version", "remote_address", "state", "ready_count",
		"in_flight_count", "message_count", "finish_count", "requeue_count", "connect_ts",
		"sample_rate", "deflate", "snappy", "user_agent",
	}
	tlsKeys := []string{"tls", "tls_cipher_suite", "tls_version", "tls_negotiated_protocol", "tls_negotiated_protocol_is_mutual"}
	client := firstElement(t, rawField(t, channel, "clients"))
	require.Equal(t, append(append([]string{}, clientKeys...), tlsKeys...), objectKeys(t, client))

	producer := firstElement(t, rawField(t, body, "producers"))
	require.Equal(t, append(append(append([]string{}, clientKeys...), "pub_counts"), tlsKeys...), objectKeys(t, producer))
	require.JSONEq(t, `[{"topic":"t","count":3}]`, string(rawField(t, producer, "pub_counts")))
}

// Upstream quirk: a producer's pub_counts holds one entry even when it
// published to several topics; the topic filter picks which.
func TestHTTPStatsProducerPubCountsHoldOneTopic(t *testing.T) {
	n := startDaemon(t, nil)
	producer := dialV2(t, n)
	producer.pub("a", "1")
	producer.pub("b", "1")
	producer.pub("b", "2")

	stats := getStats(t, n, "")
	require.Len(t, stats.Producers, 1)
	require.Len(t, stats.Producers[0].PubCounts, 1)

	stats = getStats(t, n, "&topic=b")
	require.Equal(t, []PubCount{{Topic: "b", Count: 2}}, stats.Producers[0].PubCounts)
	stats = getStats(t, n, "&topic=a")
	require.Equal(t, []PubCount{{Topic: "a", Count: 1}}, stats.Producers[0].PubCounts)
}

func TestHTTPStatsTopicFilter(t *testing.T) {
	n := startDaemon(t, nil)
	setUpStatsScenario(t, n)
	httpPost(t, n, "/topic/create?topic=other", "")

	stats := getStats(t, n, "&topic=other")
	require.Len(t, stats.Topics, 1)
	require.Equal(t, "other", stats.Topics[0].TopicName)
	require.Len(t, stats.Producers, 1, "producers are not filtered by topic")
	require.Empty(t, stats.Producers[0].PubCounts, "but their pub counts are")

	stats = getStats(t, n, "&topic=")
	require.Len(t, stats.Topics, 2, "an empty filter is no filter")
}

func TestHTTPStatsUnknownTopicGivesNullTopicsAndProducers(t *testing.T) {
	n := startDaemon(t, nil)
	setUpStatsScenario(t, n)
	status, body := httpGet(t, n, "/stats?format=json&topic=nope")
	require.Equal(t, http.StatusOK, status)
	require.Equal(t, "null", string(rawField(t, body, "topics")))
	require.Equal(t, "null", string(rawField(t, body, "producers")))
}

func TestHTTPStatsWithoutClients(t *testing.T) {
	n := startDaemon(t, nil)
	setUpStatsScenario(t, n)
	for _, value := range []string{"false", "0"} {
		status, body := httpGet(t, n, "/stats?format=json&include_clients="+value)
		require.Equal(t, http.StatusOK, status)
		require.Equal(t, "null", string(rawField(t, body, "producers")))
		channel := firstElement(t, rawField(t, firstElement(t, rawField(t, body, "topics")), "channels"))
		require.Equal(t, "null", string(rawField(t, channel, "clients")))
		require.Equal(t, "1", string(rawField(t, channel, "client_count")), "client_count is always filled")
	}
	// Any other value counts as true.
	require.Len(t, getStats(t, n, "&include_clients=no").Producers, 1)
}

func TestHTTPStatsReportsFailedDiskWrite(t *testing.T) {
	n := startDaemon(t, nil)
	n.recordWrite(errors.New("disk full"))
	require.Equal(t, "NOK - disk full", getStats(t, n, "").Health)
	_, body := httpGet(t, n, "/stats")
	require.Contains(t, string(body), "\nHealth: NOK - disk full\n")
}

func TestHTTPStatsTextShowsTopicsChannelsClientsAndProducers(t *testing.T) {
	n := startDaemon(t, nil)
	sc := setUpStatsScenario(t, n)
	httpPost(t, n, "/channel/pause?topic=t&channel=c", "")

	status, body, header := httpDo(t, http.MethodGet, httpURL(n, "/stats"), nil)
	require.Equal(t, http.StatusOK, status)
	requireV1Header(t, header)
	require.Equal(t, "text/plain; charset=utf-8", header.Get("Content-Type"))
	text := string(body)

	require.True(t, strings.HasPrefix(text, "nsqd v1.3.0 (built w/go"), text)
	require.Contains(t, text, "\nstart_time "+n.startTime.Format(time.RFC3339)+"\nuptime ")
	require.Contains(t, text, "\n\nHealth: OK\n")
	require.Contains(t, text, "\nTopics:\n   [t              ] depth: 0     be-depth: 0     msgs: 3        e2e%: \n")
	require.Contains(t, text, "\n   *P [c                        ] depth: 0     be-depth: 0     inflt: 1    def: 1    re-q: 1     timeout: 0     msgs: 3        e2e%: \n")

	_, consumerPort, _ := strings.Cut(sc.consumer.conn.LocalAddr().String(), ":")
	require.Contains(t, text, fmt.Sprintf("\n        [V2 %-21s] state: 3 inflt: 1    rdy: 3    fin: 1        re-q: 1        msgs: 3        connected: ",
		"host.example:"+consumerPort+" test/1.0"))
	_, producerPort, _ := strings.Cut(sc.producer.conn.LocalAddr().String(), ":")
	require.Contains(t, text, fmt.Sprintf("\nProducers:\n   [V2 %-21s] msgs: 3        topics: t=3 connected: ", "ph:"+producerPort+" pub/1.0"))
}
