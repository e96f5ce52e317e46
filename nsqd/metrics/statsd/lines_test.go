package statsd

import (
	"strings"
	"testing"

	"github.com/nsqgo/nsq/nsqd/metrics/e2e"
	"github.com/stretchr/testify/require"
)

// renderStatsd runs one push into a single large datagram and returns its
// lines (without newlines) and the counters for the next push.
func renderStatsd(snap Snapshot, mem *Mem, last Counters, excludeEphemeral bool) ([]string, Counters) {
	snap.Mem = mem
	packets, _, next := Render(snap, "p.", excludeEphemeral, 1<<20, last)
	var lines []string
	for _, packet := range packets {
		lines = append(lines, strings.Split(strings.TrimSuffix(string(packet), "\n"), "\n")...)
	}
	return lines, next
}

func sampleStatsdStats() Snapshot {
	return Snapshot{Topics: []Topic{{
		Name: "t", Depth: 4, BackendDepth: 1, MessageCount: 10, MessageBytes: 100,
		Latency: []e2e.Percentile{{Quantile: 1, Value: 9000.7}, {Quantile: 0.99, Value: 8000}},
		Channels: []Channel{{
			Name: "c", Depth: 2, BackendDepth: 1, InFlightCount: 3, DeferredCount: 5,
			MessageCount: 7, RequeueCount: 2, TimeoutCount: 1, ClientCount: 6,
			Latency: []e2e.Percentile{{Quantile: 1, Value: 9000}, {Quantile: 0.99, Value: 8000}},
		}},
	}}}
}

func TestFirstPushSendsUpstreamNamesTypesAndOrder(t *testing.T) {
	lines, _ := renderStatsd(sampleStatsdStats(), nil, Counters{}, false)
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

func TestCountersAreDeltasSinceTheLastPush(t *testing.T) {
	stats := sampleStatsdStats()
	_, last := renderStatsd(stats, nil, Counters{}, false)

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
func TestCounterBelowItsLastValueIsSentWhole(t *testing.T) {
	_, last := renderStatsd(sampleStatsdStats(), nil, Counters{}, false)
	stats := sampleStatsdStats()
	stats.Topics[0].MessageCount = 2
	lines, _ := renderStatsd(stats, nil, last, false)
	require.Contains(t, lines, "p.topic.t.message_count:2|c")
}

// A topic that went away is forgotten: if it comes back, its first push
// counts from zero.
func TestForgetsTopicsThatAreGone(t *testing.T) {
	_, last := renderStatsd(sampleStatsdStats(), nil, Counters{}, false)
	_, last = renderStatsd(Snapshot{}, nil, last, false)
	require.Empty(t, last.topics)
	require.Empty(t, last.channels)
	lines, _ := renderStatsd(sampleStatsdStats(), nil, last, false)
	require.Contains(t, lines, "p.topic.t.message_count:10|c")
}

func TestExcludeEphemeralSkipsEphemeralTopicsAndChannels(t *testing.T) {
	stats := Snapshot{Topics: []Topic{
		{Name: "e#ephemeral", Channels: []Channel{{Name: "c"}}},
		{Name: "t", Channels: []Channel{{Name: "c#ephemeral"}, {Name: "d"}}},
	}}
	lines, _ := renderStatsd(stats, nil, Counters{}, true)
	joined := strings.Join(lines, "\n")
	require.NotContains(t, joined, "#ephemeral")
	require.Contains(t, lines, "p.topic.t.message_count:0|c")
	require.Contains(t, lines, "p.topic.t.channel.d.clients:0|g")

	lines, _ = renderStatsd(stats, nil, Counters{}, false)
	require.Contains(t, lines, "p.topic.e#ephemeral.message_count:0|c")
	require.Contains(t, lines, "p.topic.e#ephemeral.channel.c.clients:0|g")
	require.Contains(t, lines, "p.topic.t.channel.c#ephemeral.clients:0|g")
}

func TestMemStatsAreGaugesWithGCRunsAsDelta(t *testing.T) {
	mem := &Mem{
		HeapObjects: 1, HeapIdleBytes: 2, HeapInUseBytes: 3, HeapReleasedBytes: 4,
		GCPauseUsec100: 5, GCPauseUsec99: 6, GCPauseUsec95: 7, NextGCBytes: 8, GCTotalRuns: 9,
	}
	lines, last := renderStatsd(Snapshot{}, mem, Counters{}, false)
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
	lines, _ = renderStatsd(Snapshot{}, mem, last, false)
	require.Contains(t, lines, "p.mem.gc_runs:3|c")
}

func TestPercentileSuffixIsQuantileTimesHundredRounded(t *testing.T) {
	for q, want := range map[float64]string{1: "100", 0.99: "99", 0.95: "95", 0.5: "50", 0.999: "100", 0.125: "12"} {
		require.Equal(t, want, percentileSuffix(q), "q=%v", q)
	}
}

// A channel's dead path (issue 12) adds its keys only where it is on:
// dead_count a gauge, the rest counters sent as deltas.
func TestDeadPathLinesOnlyWhereItIsOn(t *testing.T) {
	stats := sampleStatsdStats()
	off, _ := renderStatsd(stats, nil, Counters{}, false)
	for _, line := range off {
		require.False(t, strings.Contains(line, "dead") || strings.Contains(line, "expired"), line)
	}

	stats.Topics[0].Channels[0].Dead = &Dead{Count: 3, LetteredMaxAttempts: 4, Expired: 2, LetteredExpired: 2}
	lines, last := renderStatsd(stats, nil, Counters{}, false)
	require.Contains(t, lines, "p.topic.t.channel.c.dead_count:3|g")
	require.Contains(t, lines, "p.topic.t.channel.c.dead_lettered_max_attempts_count:4|c")
	require.Contains(t, lines, "p.topic.t.channel.c.expired_count:2|c")
	stats.Topics[0].Channels[0].Dead = &Dead{Count: 3, LetteredMaxAttempts: 9, Expired: 2, LetteredExpired: 2}
	lines, _ = renderStatsd(stats, nil, last, false)
	require.Contains(t, lines, "p.topic.t.channel.c.dead_lettered_max_attempts_count:5|c")
	require.Contains(t, lines, "p.topic.t.channel.c.expired_count:0|c")
}

// The bound counters (issue 12) go as deltas, and not at all while zero.
func TestBoundCountersAreDeltasAndAbsentWhenOff(t *testing.T) {
	stats := sampleStatsdStats()
	off, _ := renderStatsd(stats, nil, Counters{}, false)
	for _, line := range off {
		require.NotContains(t, line, "rejected")
		require.NotContains(t, line, "overflow")
	}

	stats.Topics[0].Bounds = Bounds{RejectedMaxDepth: 3}
	stats.Topics[0].Channels[0].Bounds = Bounds{RejectedMaxBytes: 2, OverflowDropped: 5, Redriven: 4}
	first, next := renderStatsd(stats, nil, Counters{}, false)
	for _, want := range []string{
		"p.topic.t.rejected_max_depth_count:3|c",
		"p.topic.t.overflow_dropped_count:0|c",
		"p.topic.t.channel.c.rejected_max_bytes_count:2|c",
		"p.topic.t.channel.c.overflow_dropped_count:5|c",
		"p.topic.t.channel.c.redriven_count:4|c",
	} {
		require.Contains(t, first, want)
	}
	stats.Topics[0].Channels[0].Bounds.OverflowDropped = 7
	second, _ := renderStatsd(stats, nil, next, false)
	require.Contains(t, second, "p.topic.t.channel.c.overflow_dropped_count:2|c")
	require.Contains(t, second, "p.topic.t.rejected_max_depth_count:0|c")
}
