package nsqd

import (
	"math"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/nsqgo/nsq/internal/clock"
	"github.com/stretchr/testify/require"
)

func TestNewRejectsE2EPercentileOutsideZeroToOne(t *testing.T) {
	for _, tc := range []struct {
		value float64
		text  string
	}{
		{0, "0"}, {-0.5, "-0.5"}, {1.5, "1.5"}, {math.NaN(), "NaN"},
	} {
		opts := NewOptions()
		opts.TCPAddress, opts.HTTPAddress = "127.0.0.1:0", "127.0.0.1:0"
		opts.DataPath = t.TempDir()
		opts.E2EProcessingLatencyPercentiles = []float64{0.99, tc.value}
		_, err := New(opts)
		require.EqualError(t, err, "invalid E2E processing latency percentile: "+tc.text)
	}
}

func TestNewAcceptsE2EPercentileOfExactlyOne(t *testing.T) {
	startDaemon(t, func(o *Options) { o.E2EProcessingLatencyPercentiles = []float64{1} })
}

func TestNewRejectsNonPositiveE2EWindowWithPercentiles(t *testing.T) {
	opts := NewOptions()
	opts.TCPAddress, opts.HTTPAddress = "127.0.0.1:0", "127.0.0.1:0"
	opts.DataPath = t.TempDir()
	opts.E2EProcessingLatencyPercentiles = []float64{0.5}
	opts.E2EProcessingLatencyWindowTime = 0
	_, err := New(opts)
	require.EqualError(t, err, "--e2e-processing-latency-window-time must be > 0")
}

// consumeAndFIN subscribes a consumer to topic/channel, receives count
// messages already published, waits delay, and FINs them all.
func consumeAndFIN(t *testing.T, n *NSQD, topic, channel string, count int, delay time.Duration) {
	t.Helper()
	consumer := dialV2(t, n)
	consumer.subscribe(topic, channel)
	consumer.send("RDY 100")
	msgs := consumer.readMessages(count)
	time.Sleep(delay) // the latency under test, not synchronisation
	for _, m := range msgs {
		consumer.fin(m.ID)
	}
}

func TestE2EStatsCountFINsAndCoverTheirLatency(t *testing.T) {
	n := startDaemon(t, func(o *Options) { o.E2EProcessingLatencyPercentiles = []float64{1, 0.99, 0.5} })
	const delay = 50 * time.Millisecond
	publish(t, n, "t", numbered("m", 4)...)
	consumeAndFIN(t, n, "t", "c", 4, delay)

	stats := waitForStats(t, n, "4 FINs counted", func(s statsResponse) bool {
		return channelStats(t, s, "t", "c").E2eProcessingLatency.Count == 4
	})
	latency := channelStats(t, stats, "t", "c").E2eProcessingLatency
	require.Len(t, latency.Percentiles, 3)
	for i, q := range []float64{1, 0.99, 0.5} {
		p := latency.Percentiles[i]
		require.Equal(t, q, p.Quantile)
		require.GreaterOrEqual(t, p.Value, float64(delay), "q=%v", q)
		require.Less(t, p.Value, float64(delay+5*time.Second), "q=%v", q)
	}
}

func TestE2ERequeuedMessagesAreNotCounted(t *testing.T) {
	n := startDaemon(t, func(o *Options) { o.E2EProcessingLatencyPercentiles = []float64{1} })
	publish(t, n, "t", "a", "b")
	consumer := dialV2(t, n)
	consumer.subscribe("t", "c")
	consumer.send("RDY 2")
	msgs := consumer.readMessages(2)
	consumer.req(msgs[0].ID, time.Hour)
	consumer.fin(msgs[1].ID)

	stats := waitForStats(t, n, "REQ and FIN applied", func(s statsResponse) bool {
		c := channelStats(t, s, "t", "c")
		return c.DeferredCount == 1 && c.InFlightCount == 0
	})
	require.Equal(t, 1, channelStats(t, stats, "t", "c").E2eProcessingLatency.Count)
}

// The topic's figures merge all of its channels: counts add up and the
// 100th percentile is the slowest channel's.
func TestE2ETopicMergesItsChannels(t *testing.T) {
	n := startDaemon(t, func(o *Options) { o.E2EProcessingLatencyPercentiles = []float64{1} })
	const delay = 80 * time.Millisecond
	topic, err := n.GetTopic("t")
	require.NoError(t, err)
	for _, name := range []string{"fast", "slow"} {
		_, err := topic.GetChannel(name)
		require.NoError(t, err)
	}
	publish(t, n, "t", numbered("m", 3)...)
	consumeAndFIN(t, n, "t", "fast", 3, 0)
	consumeAndFIN(t, n, "t", "slow", 3, delay)

	// Each channel is read at its own moment within one /stats answer: a
	// FIN landing between the reads is in the topic's merge but not yet
	// in its channel's figure, so all three are awaited.
	stats := waitForStats(t, n, "6 FINs counted", func(s statsResponse) bool {
		return topicStats(t, s, "t").E2eProcessingLatency.Count == 6 &&
			channelStats(t, s, "t", "slow").E2eProcessingLatency.Count == 3 &&
			channelStats(t, s, "t", "fast").E2eProcessingLatency.Count == 3
	})
	slow := channelStats(t, stats, "t", "slow").E2eProcessingLatency
	fast := channelStats(t, stats, "t", "fast").E2eProcessingLatency
	merged := topicStats(t, stats, "t").E2eProcessingLatency
	require.Equal(t, 3, slow.Count)
	require.Equal(t, 3, fast.Count)
	require.GreaterOrEqual(t, slow.Percentiles[0].Value, float64(delay))
	require.Equal(t, slow.Percentiles[0].Value, merged.Percentiles[0].Value)

	// A channel filter narrows the channels listed, not the topic's merge.
	filtered := getStats(t, n, "&channel=fast")
	require.Equal(t, 6, topicStats(t, filtered, "t").E2eProcessingLatency.Count)
}

// The window runs on the daemon's clock: the FIN is counted until the
// clock has moved a whole window on, not a moment longer.
func TestE2EStatsExpireAfterTheWindow(t *testing.T) {
	n, fake := startClockedDaemon(t, func(o *Options) {
		o.E2EProcessingLatencyPercentiles = []float64{1}
		o.E2EProcessingLatencyWindowTime = 2 * time.Minute
	})
	publish(t, n, "t", "m")
	consumeAndFIN(t, n, "t", "c", 1, 0)
	waitForStats(t, n, "the FIN counted", func(s statsResponse) bool {
		return channelStats(t, s, "t", "c").E2eProcessingLatency.Count == 1
	})
	fake.Advance(time.Minute)
	require.Equal(t, 1, channelStats(t, getStats(t, n, ""), "t", "c").E2eProcessingLatency.Count,
		"half a window on, the FIN's half is the previous one: still counted")
	fake.Advance(time.Minute)
	stats := getStats(t, n, "")
	require.Equal(t, 0, channelStats(t, stats, "t", "c").E2eProcessingLatency.Count, "a whole window on")
	require.Equal(t, []LatencyPercentile{{Quantile: 1, Value: 0}},
		channelStats(t, stats, "t", "c").E2eProcessingLatency.Percentiles)
}

// A FIN's time is read once per socket read (v2Session.finTime): a FIN that
// arrives in a later read than the previous FIN gets a fresh time, not the
// previous read's.
func TestE2EFINInALaterReadGetsAFreshTime(t *testing.T) {
	fake := clock.NewFake(time.Now())
	n := startDaemon(t, func(o *Options) {
		o.Clock = fake
		o.E2EProcessingLatencyPercentiles = []float64{1}
	})
	publish(t, n, "t", "a", "b")
	consumer := dialV2(t, n)
	consumer.subscribe("t", "c")
	consumer.send("RDY 2")
	msgs := consumer.readMessages(2)

	fake.Advance(time.Second)
	consumer.fin(msgs[0].ID)
	first := waitForStats(t, n, "the first FIN counted", func(s statsResponse) bool {
		return channelStats(t, s, "t", "c").E2eProcessingLatency.Count == 1
	})
	// Bounds, not equality: the percentiles are estimates (nsqd/metrics/e2e),
	// and the test's clock started a moment before the messages' timestamps.
	require.Less(t, channelStats(t, first, "t", "c").E2eProcessingLatency.Percentiles[0].Value, float64(2*time.Second))

	// The first FIN's read is over (it was counted), so this one needs
	// another read and must not reuse the first one's time.
	fake.Advance(10 * time.Second)
	consumer.fin(msgs[1].ID)
	second := waitForStats(t, n, "the second FIN counted", func(s statsResponse) bool {
		return channelStats(t, s, "t", "c").E2eProcessingLatency.Count == 2
	})
	require.Greater(t, channelStats(t, second, "t", "c").E2eProcessingLatency.Percentiles[0].Value, float64(9*time.Second))
}

// Configured but not yet measured: zeros per percentile, as upstream's
// output shows. A topic without channels has nothing to merge
// and reports null percentiles, as upstream.
func TestE2EStatsJSONBeforeAnyFIN(t *testing.T) {
	n := startDaemon(t, func(o *Options) { o.E2EProcessingLatencyPercentiles = []float64{0.99, 1} })
	_, err := n.GetTopic("lonely")
	require.NoError(t, err)
	topic, err := n.GetTopic("t")
	require.NoError(t, err)
	_, err = topic.GetChannel("c")
	require.NoError(t, err)

	status, body := httpGet(t, n, "/stats?format=json")
	require.Equal(t, http.StatusOK, status)
	lonely := firstElement(t, rawField(t, body, "topics"))
	require.Equal(t, `"lonely"`, string(rawField(t, lonely, "topic_name")))
	require.JSONEq(t, `{"count":0,"percentiles":null}`, string(rawField(t, lonely, "e2e_processing_latency")))

	status, body = httpGet(t, n, "/stats?format=json&topic=t")
	require.Equal(t, http.StatusOK, status)
	topicJSON := firstElement(t, rawField(t, body, "topics"))
	want := `{"count":0,"percentiles":[{"quantile":1,"value":0},{"quantile":0.99,"value":0}]}`
	require.JSONEq(t, want, string(rawField(t, topicJSON, "e2e_processing_latency")))
	channelJSON := firstElement(t, rawField(t, topicJSON, "channels"))
	require.JSONEq(t, want, string(rawField(t, channelJSON, "e2e_processing_latency")))
}

func TestE2EStatsTextShowsHumanDurations(t *testing.T) {
	n := startDaemon(t, func(o *Options) { o.E2EProcessingLatencyPercentiles = []float64{1, 0.5} })
	publish(t, n, "t", "m")
	consumeAndFIN(t, n, "t", "c", 1, 20*time.Millisecond)
	stats := waitForStats(t, n, "the FIN counted", func(s statsResponse) bool {
		return channelStats(t, s, "t", "c").E2eProcessingLatency.Count == 1
	})
	want := channelStats(t, stats, "t", "c").E2eProcessingLatency.String()
	require.Regexp(t, `^\d+\.\dms, \d+\.\dms$`, want)

	status, body := httpGet(t, n, "/stats")
	require.Equal(t, http.StatusOK, status)
	text := string(body)
	require.Contains(t, text, "msgs: 1        e2e%: "+want+"\n", "topic and channel lines")
	require.Equal(t, 2, strings.Count(text, "e2e%: "+want+"\n"))
}

func TestE2EConfigValuesAreSortedPercentilesAndWindow(t *testing.T) {
	n := startDaemon(t, func(o *Options) {
		o.E2EProcessingLatencyPercentiles = []float64{0.5, 1, 0.99}
		o.E2EProcessingLatencyWindowTime = 90 * time.Second
	})
	status, body := httpGet(t, n, "/config/e2e_processing_latency_percentiles")
	requireOK(t, "[1,0.99,0.5]", status, body)
	status, body = httpGet(t, n, "/config/e2e_processing_latency_window_time")
	requireOK(t, "90000000000", status, body)
	require.Equal(t, []float64{0.5, 1, 0.99}, n.opts.E2EProcessingLatencyPercentiles, "the caller's Options are not changed")
}

func TestE2EConfigPercentilesDefaultToEmptyList(t *testing.T) {
	n := startDaemon(t, nil)
	status, body := httpGet(t, n, "/config/e2e_processing_latency_percentiles")
	requireOK(t, "[]", status, body)
}
