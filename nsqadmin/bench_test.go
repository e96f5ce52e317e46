package nsqadmin

import (
	"strconv"
	"testing"
	"time"
)

// BenchmarkHistoryRecord is one poll of a cluster at the default series
// cap (2000 topics plus channels) into full rings.
func BenchmarkHistoryRecord(b *testing.B) {
	opts := NewOptions()
	h := newHistory(opts.HistoryInterval, opts.HistoryRetention, opts.HistoryMaxSeries)
	samples := map[seriesKey]sample{}
	for i := range 200 {
		topic := "topic" + strconv.Itoa(i)
		samples[seriesKey{topic: topic}] = sample{messageCount: int64(i)}
		for j := range 9 {
			samples[seriesKey{topic: topic, channel: "ch" + strconv.Itoa(j)}] = sample{messageCount: int64(j)}
		}
	}
	now := time.Unix(1_700_000_000, 0)
	for range h.capacity {
		now = now.Add(opts.HistoryInterval)
		h.record(now, samples)
	}
	b.ReportAllocs()
	b.ResetTimer()
	for range b.N {
		now = now.Add(opts.HistoryInterval)
		h.record(now, samples)
	}
}

// BenchmarkTopicAggregate sums one topic with 20 channels over 10 nodes,
// as GET /api/topics/:topic does.
func BenchmarkTopicAggregate(b *testing.B) {
	var nodes []nsqdTopic
	for range 10 {
		t := nsqdTopic{TopicName: "t", Depth: 5, MessageCount: 100}
		for j := range 20 {
			t.Channels = append(t.Channels, nsqdChannel{ChannelName: "ch" + strconv.Itoa(j), Depth: 3, MessageCount: 100})
		}
		nodes = append(nodes, t)
	}
	now := time.Now()
	b.ReportAllocs()
	b.ResetTimer()
	for range b.N {
		agg := newTopicAggregate("t")
		for i, t := range nodes {
			agg.add(nodeTopicStats(t, "127.0.0.1:"+strconv.Itoa(4151+i), "host"+strconv.Itoa(i), now))
		}
	}
}
