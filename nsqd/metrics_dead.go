package nsqd

import (
	"github.com/nsqgo/nsq/nsqd/queue"
	"github.com/prometheus/client_golang/prometheus"
)

// The dead path's series (issue 12), reported only for a channel whose dead
// path is on (channel_dead.go, deadPathOn): with every rule off, /metrics
// is what it was. They add metricsSeriesDeadPerChannel series to such a
// channel.
const metricsSeriesDeadPerChannel = 1 + 3 + 1 + 2 + 1

var (
	channelDeadDepthDesc    = newDesc("nsq_channel_dead_depth", "Messages in the channel's dead set.", channelLabels)
	channelDeadLetteredDesc = newDesc("nsq_channel_dead_lettered_total",
		"Messages the channel gave up on and stored in its dead set or published to its dead_letter_topic, by reason (max_attempts, expired, overflow).",
		append(channelLabels[:len(channelLabels):len(channelLabels)], "reason"))
	channelExpiredDesc     = newDesc("nsq_channel_expired_total", "Messages older than their TTL when they would have been delivered.", channelLabels)
	channelDeadDroppedDesc = newDesc("nsq_channel_dead_dropped_total",
		"Dead messages dropped: by the dead set's bound (cause max_dead_depth) or on a channel with no dead set and no dead_letter_topic (cause no_dead_set).",
		append(channelLabels[:len(channelLabels):len(channelLabels)], "cause"))
	channelDeadErrorsDesc = newDesc("nsq_channel_dead_letter_errors_total", "Deaths postponed because the dead set write or dead_letter_topic publish failed (the messages were kept).", channelLabels)

	deadDescs = []*prometheus.Desc{channelDeadDepthDesc, channelDeadLetteredDesc, channelExpiredDesc, channelDeadDroppedDesc, channelDeadErrorsDesc}
)

// collectDead reports the channel's dead path, when it is on.
func (c *Channel) collectDead(ch chan<- prometheus.Metric) {
	if !c.deadPathOn() {
		return
	}
	t, name := c.topicName, c.name
	gauge(ch, channelDeadDepthDesc, float64(c.deadDepth()), t, name)
	for _, r := range []queue.DeadReason{queue.DeadMaxAttempts, queue.DeadExpired, queue.DeadOverflow} {
		counter(ch, channelDeadLetteredDesc, float64(c.deadLettered(r)), t, name, r.String())
	}
	counter(ch, channelExpiredDesc, float64(c.dead.expired.Load()), t, name)
	counter(ch, channelDeadDroppedDesc, float64(c.dead.droppedBound.Load()), t, name, "max_dead_depth")
	counter(ch, channelDeadDroppedDesc, float64(c.dead.droppedNoSet.Load()), t, name, "no_dead_set")
	counter(ch, channelDeadErrorsDesc, float64(c.dead.failed.Load()), t, name)
}
