package prometheus

import (
	"github.com/nsqgo/nsq/internal/promexpo"
	"github.com/nsqgo/nsq/nsqd/stats"
)

// The bounds' series in /metrics (issue 12), from the counters /stats reads
// (nsqd/stats/queue.go). An object reports them once it has a bound or has
// counted something, so a node with every bound off exposes no new series.
var (
	topicRejectedDesc = counterDesc("nsq_topic_messages_rejected_total",
		"Messages a full topic (reject-new) refused, by the limit that refused them.", []string{"topic", "limit"})
	topicOverflowDroppedDesc = counterDesc("nsq_topic_messages_overflow_dropped_total",
		"Messages drop-oldest dropped from a full topic.", topicLabels)
	channelRejectedDesc = counterDesc("nsq_channel_messages_rejected_total",
		"Messages a full channel (reject-new) refused, by the limit that refused them.", []string{"topic", "channel", "limit"})
	channelOverflowDroppedDesc = counterDesc("nsq_channel_messages_overflow_dropped_total",
		"Messages drop-oldest moved from a full channel to its dead set (or dead_letter_topic).", channelLabels)
	channelRedrivenDesc = counterDesc("nsq_channel_messages_redriven_total",
		"Dead messages moved back to the channel by /channel/dead/redrive.", channelLabels)
)

func collectTopicBound(s *promexpo.Scrape, t Topic) {
	b := t.Stats.QueueBounds
	if !t.Bounded && b == (stats.QueueBounds{}) {
		return
	}
	name := t.Stats.TopicName
	s.Value(topicRejectedDesc, float64(b.RejectedMaxDepthCount), name, "max_depth")
	s.Value(topicRejectedDesc, float64(b.RejectedMaxBytesCount), name, "max_bytes")
	s.Value(topicOverflowDroppedDesc, float64(b.OverflowDroppedCount), name)
}

func collectChannelBound(s *promexpo.Scrape, topic string, c *Channel) {
	b := c.Stats.QueueBounds
	if !c.Bounded && b == (stats.QueueBounds{}) {
		return
	}
	t, name := topic, c.Stats.ChannelName
	s.Value(channelRejectedDesc, float64(b.RejectedMaxDepthCount), t, name, "max_depth")
	s.Value(channelRejectedDesc, float64(b.RejectedMaxBytesCount), t, name, "max_bytes")
	s.Value(channelOverflowDroppedDesc, float64(b.OverflowDroppedCount), t, name)
	s.Value(channelRedrivenDesc, float64(b.RedrivenCount), t, name)
}
