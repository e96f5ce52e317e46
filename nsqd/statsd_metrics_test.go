package nsqd

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// renderStatsd runs one push into a single large datagram and returns its
// lines (without newlines) and the counters for the next push.
func renderStatsd(stats Stats, mem *MemStats, last statsdCounters, excludeEphemeral bool) ([]string, statsdCounters) {
	m := statsdMetrics{prefix: "p.", excludeEphemeral: excludeEphemeral, packer: newStatsdPacker(1 << 20)}
	next := m.push(stats, mem, last)
	var lines []string
	for _, packet := range m.packer.finish() {
		lines = append(lines, strings.Split(strings.TrimSuffix(string(packet), "\n"), "\n")...)
	}
	return lines, next
}

func sampleStatsdStats() Stats {
	return Stats{Topics: []TopicStats{{
		TopicName: "t", Depth: 4, BackendDepth: 1, MessageCount: 10, MessageBytes: 100,
		E2eProcessingLatency: LatencyStats{Count: 3, Percentiles: []LatencyPercentile{
			{Quantile: 1, Value: 9000.7}, {Quantile: 0.99, Value: 8000},
		}},
		Channels: []ChannelStats{{
			ChannelName: "c", Depth: 2, BackendDepth: 1, InFlightCount: 3, DeferredCount: 5,
			MessageCount: 7, RequeueCount: 2, TimeoutCount: 1, ClientCount: 6,
			E2eProcessingLatency: LatencyStats{Count: 3, Percentiles: []LatencyPercentile{
				{Quantile: 1, Value: 9000}, {Quantile: 0.99, Value: 8000},
			}},
		}},
	}}}
}

func TestStatsdFirstPushSendsUpstreamNamesTypesAndOrder(t *testing.T) {
	lines, _ := renderStatsd(sampleStatsdStats(), nil, statsdCounters{}, false)
	require.Equal(t, []string{
		"p.topic.t.message_count:10|c",
		"p.topic.t.message_bytes:100|c",
		"p.topic.t.depth:4|g",
		"p.topic.t.backend_depth:1|g",
		"p.topic.t.e2e_processing_latency_100:9000|g",
		"p.topic.t.e2e_processing_latency_99:8000|g",
		"p.topic.t.channel.c.message_count:7|c",
		"p.topic.t.channel.c.depth:2|g",
		"p.topic.t.channel.c.backend_depth:1|g",
		"p.topic.t.channel.c.in_flight_count:3|g",
		"p.topic.t.channel.c.deferred_count:5|g",
		"p.topic.t.channel.c.requeue_count:2|c",
		"p.topic.t.channel.c.timeout_count:1|c",
		"p.topic.t.channel.c.clients:6|g",
		"p.topic.t.channel.c.e2e_processing_latency_100:9000|g",
		"p.topic.t.channel.c.e2e_processing_latency_99:8000|g",
	}, lines)
}

func TestStatsdCountersAreDeltasSinceTheLastPush(t *testing.T) {
	stats := sampleStatsdStats()
	_, last := renderStatsd(stats, nil, statsdCounters{}, false)

	lines, last := renderStatsd(stats, nil, last, false)
	require.Contains(t, lines, "p.topic.t.message_count:0|c")
	require.Contains(t, lines, "p.topic.t.message_bytes:0|c")
	require.Contains(t, lines, "p.topic.t.channel.c.message_count:0|c")
	require.Contains(t, lines, "p.topic.t.channel.c.requeue_count:0|c")
	require.Contains(t, lines, "p.topic.t.channel.c.timeout_count:0|c")
	require.Contains(t, lines, "p.topic.t.depth:4|g", "gauges are values, not deltas")

	stats.Topics[0].MessageCount, stats.Topics[0].MessageBytes = 13, 130
	stats.Topics[0].Channels[0].MessageCount = 9
	stats.Topics[0].Channels[0].RequeueCount = 5
	stats.Topics[0].Channels[0].TimeoutCount = 4
	lines, _ = renderStatsd(stats, nil, last, false)
	require.Contains(t, lines, "p.topic.t.message_count:3|c")
	require.Contains(t, lines, "p.topic.t.message_bytes:30|c")
	require.Contains(t, lines, "p.topic.t.channel.c.message_count:2|c")
	require.Contains(t, lines, "p.topic.t.channel.c.requeue_count:3|c")
	require.Contains(t, lines, "p.topic.t.channel.c.timeout_count:3|c")
}

// A topic deleted and created again between pushes restarts its counters;
// everything it counted since is new, never a negative delta.
func TestStatsdCounterBelowItsLastValueIsSentWhole(t *testing.T) {
	_, last := renderStatsd(sampleStatsdStats(), nil, statsdCounters{}, false)
	stats := sampleStatsdStats()
	stats.Topics[0].MessageCount = 2
	lines, _ := renderStatsd(stats, nil, last, false)
	require.Contains(t, lines, "p.topic.t.message_count:2|c")
}

// A topic that went away is forgotten: if it comes back, its first push
// counts from zero.
func TestStatsdForgetsTopicsThatAreGone(t *testing.T) {
	_, last := renderStatsd(sampleStatsdStats(), nil, statsdCounters{}, false)
	_, last = renderStatsd(Stats{}, nil, last, false)
	require.Empty(t, last.topics)
	require.Empty(t, last.channels)
	lines, _ := renderStatsd(sampleStatsdStats(), nil, last, false)
	require.Contains(t, lines, "p.topic.t.message_count:10|c")
}

func TestStatsdExcludeEphemeralSkipsEphemeralTopicsAndChannels(t *testing.T) {
	stats := Stats{Topics: []TopicStats{
		{TopicName: "e#ephemeral", Channels: []ChannelStats{{ChannelName: "c"}}},
		{TopicName: "t", Channels: []ChannelStats{{ChannelName: "c#ephemeral"}, {ChannelName: "d"}}},
	}}
	lines, _ := renderStatsd(stats, nil, statsdCounters{}, true)
	joined := strings.Join(lines, "\n")
	require.NotContains(t, joined, "#ephemeral")
	require.Contains(t, lines, "p.topic.t.message_count:0|c")
	require.Contains(t, lines, "p.topic.t.channel.d.clients:0|g")

	lines, _ = renderStatsd(stats, nil, statsdCounters{}, false)
	require.Contains(t, lines, "p.topic.e#ephemeral.message_count:0|c")
	require.Contains(t, lines, "p.topic.e#ephemeral.channel.c.clients:0|g")
	require.Contains(t, lines, "p.topic.t.channel.c#ephemeral.clients:0|g")
}

func TestStatsdMemStatsAreGaugesWithGCRunsAsDelta(t *testing.T) {
	mem := &MemStats{
		HeapObjects: 1, HeapIdleBytes: 2, HeapInUseBytes: 3, HeapReleasedBytes: 4,
		GCPauseUsec100: 5, GCPauseUsec99: 6, GCPauseUsec95: 7, NextGCBytes: 8, GCTotalRuns: 9,
	}
	lines, last := renderStatsd(Stats{}, mem, statsdCounters{}, false)
	require.Equal(t, []string{
		"p.mem.heap_objects:1|g",
		"p.mem.heap_idle_bytes:2|g",
		"p.mem.heap_in_use_bytes:3|g",
		"p.mem.heap_released_bytes:4|g",
		"p.mem.gc_pause_usec_100:5|g",
		"p.mem.gc_pause_usec_99:6|g",
		"p.mem.gc_pause_usec_95:7|g",
		"p.mem.next_gc_bytes:8|g",
		"p.mem.gc_runs:9|c",
	}, lines)

	mem.GCTotalRuns = 12
	lines, _ = renderStatsd(Stats{}, mem, last, false)
	require.Contains(t, lines, "p.mem.gc_runs:3|c")
}

func TestStatsdPercentileSuffixIsQuantileTimesHundredRounded(t *testing.T) {
	for q, want := range map[float64]string{1: "100", 0.99: "99", 0.95: "95", 0.5: "50", 0.999: "100", 0.125: "12"} {
		require.Equal(t, want, percentileSuffix(q), "q=%v", q)
	}
}
