package nsqd

import (
	"slices"
	"testing"

	"github.com/stretchr/testify/require"
)

// The bound counters go to statsd as deltas, and not at all while zero.
func TestStatsdBoundCountersAreDeltasAndAbsentWhenOff(t *testing.T) {
	stats := sampleStatsdStats()
	off, _ := renderStatsd(stats, nil, statsdCounters{}, false)
	for _, line := range off {
		require.NotContains(t, line, "rejected")
		require.NotContains(t, line, "overflow")
	}

	stats.Topics[0].QueueBounds = QueueBounds{RejectedMaxDepthCount: 3}
	stats.Topics[0].Channels[0].QueueBounds = QueueBounds{RejectedMaxBytesCount: 2, OverflowDroppedCount: 5, RedrivenCount: 4}
	first, next := renderStatsd(stats, nil, statsdCounters{}, false)
	for _, want := range []string{
		"p.topic.t.rejected_max_depth_count:3|c",
		"p.topic.t.overflow_dropped_count:0|c",
		"p.topic.t.channel.c.rejected_max_bytes_count:2|c",
		"p.topic.t.channel.c.overflow_dropped_count:5|c",
		"p.topic.t.channel.c.redriven_count:4|c",
	} {
		require.True(t, slices.Contains(first, want), "%s missing from %q", want, first)
	}
	stats.Topics[0].Channels[0].QueueBounds.OverflowDroppedCount = 7
	second, _ := renderStatsd(stats, nil, next, false)
	require.Contains(t, second, "p.topic.t.channel.c.overflow_dropped_count:2|c")
	require.Contains(t, second, "p.topic.t.rejected_max_depth_count:0|c")
}
