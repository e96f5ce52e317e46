package prometheus

import (
	"github.com/nsqgo/nsq/nsqd/stats"
	"github.com/prometheus/client_golang/prometheus"
)

// The bounds' series in /metrics (issue 12), from the counters /stats reads
// (nsqd/stats/queue.go). An object reports them once it has a bound or has
// counted something, so a node with every bound off exposes no new series.
var (
	topicRejectedDesc = newDesc("nsq_topic_messages_rejected_total",
		"Messages a full topic (reject-new) refused, by the limit that refused them.", []string{"topic", "limit"})
	topicOverflowDroppedDesc = newDesc("nsq_topic_messages_overflow_dropped_total",
		"Messages drop-oldest dropped from a full topic.", topicLabels)
	channelRejectedDesc = newDesc("nsq_channel_messages_rejected_total",
		"Messages a full channel (reject-new) refused, by the limit that refused them.", []string{"topic", "channel", "limit"})
	channelOverflowDroppedDesc = newDesc("nsq_channel_messages_overflow_dropped_total",
		"Messages drop-oldest moved from a full channel to its dead set (or dead_letter_topic).", channelLabels)
	channelRedrivenDesc = newDesc("nsq_channel_messages_redriven_total",
		"Dead messages moved back to the channel by /channel/dead/redrive.", channelLabels)
)

var boundDescs = []*prometheus.Desc{
	topicRejectedDesc, topicOverflowDroppedDesc, channelRejectedDesc, channelOverflowDroppedDesc, channelRedrivenDesc,
}

func collectTopicBound(ch chan<- prometheus.Metric, t Topic) {
	b := t.Stats.QueueBounds
	if !t.Bounded && b == (stats.QueueBounds{}) {
		return
	}
	name := t.Stats.TopicName
	counter(ch, topicRejectedDesc, float64(b.RejectedMaxDepthCount), name, "max_depth")
	counter(ch, topicRejectedDesc, float64(b.RejectedMaxBytesCount), name, "max_bytes")
	counter(ch, topicOverflowDroppedDesc, float64(b.OverflowDroppedCount), name)
}

func collectChannelBound(ch chan<- prometheus.Metric, topic string, c *Channel) {
	b := c.Stats.QueueBounds
	if !c.Bounded && b == (stats.QueueBounds{}) {
		return
	}
	t, name := topic, c.Stats.ChannelName
	counter(ch, channelRejectedDesc, float64(b.RejectedMaxDepthCount), t, name, "max_depth")
	counter(ch, channelRejectedDesc, float64(b.RejectedMaxBytesCount), t, name, "max_bytes")
	counter(ch, channelOverflowDroppedDesc, float64(b.OverflowDroppedCount), t, name)
	counter(ch, channelRedrivenDesc, float64(b.RedrivenCount), t, name)
}
