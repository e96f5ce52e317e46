package prometheus

import "github.com/nsqgo/nsq/internal/promexpo"

// The dead path's series (issue 12), reported only for a channel whose dead
// path is on (the daemon leaves Stats.Dead.DeadCount nil otherwise:
// nsqd/channel_dead.go, deadPathOn), so that with every rule off /metrics
// is what it was. They add SeriesDeadPerChannel series to such a channel.
const SeriesDeadPerChannel = 1 + 3 + 1 + 2 + 1

var (
	channelDeadDepthDesc    = gaugeDesc("nsq_channel_dead_depth", "Messages in the channel's dead set.", channelLabels)
	channelDeadLetteredDesc = counterDesc("nsq_channel_dead_lettered_total",
		"Messages the channel gave up on and stored in its dead set or published to its dead_letter_topic, by reason (max_attempts, expired, overflow).",
		append(channelLabels[:len(channelLabels):len(channelLabels)], "reason"))
	channelExpiredDesc     = counterDesc("nsq_channel_expired_total", "Messages older than their TTL when they would have been delivered.", channelLabels)
	channelDeadDroppedDesc = counterDesc("nsq_channel_dead_dropped_total",
		"Dead messages dropped: by the dead set's bound (cause max_dead_depth) or on a channel with no dead set and no dead_letter_topic (cause no_dead_set).",
		append(channelLabels[:len(channelLabels):len(channelLabels)], "cause"))
	channelDeadErrorsDesc = counterDesc("nsq_channel_dead_letter_errors_total", "Deaths postponed because the dead set write or dead_letter_topic publish failed (the messages were kept).", channelLabels)
)

// collectDead reports the channel's dead path, when it is on.
func collectDead(s *promexpo.Scrape, topic string, c *Channel) {
	d := &c.Stats.Dead
	if d.DeadCount == nil {
		return
	}
	t, name := topic, c.Stats.ChannelName
	s.Value(channelDeadDepthDesc, float64(*d.DeadCount), t, name)
	// The reason labels are nsqd/queue's DeadReason names.
	s.Value(channelDeadLetteredDesc, float64(d.DeadLetteredMaxAttempts), t, name, "max_attempts")
	s.Value(channelDeadLetteredDesc, float64(d.DeadLetteredExpired), t, name, "expired")
	s.Value(channelDeadLetteredDesc, float64(d.DeadLetteredOverflow), t, name, "overflow")
	s.Value(channelExpiredDesc, float64(d.ExpiredCount), t, name)
	s.Value(channelDeadDroppedDesc, float64(c.DeadDropped.MaxDeadDepth), t, name, "max_dead_depth")
	s.Value(channelDeadDroppedDesc, float64(c.DeadDropped.NoDeadSet), t, name, "no_dead_set")
	s.Value(channelDeadErrorsDesc, float64(d.DeadErrorCount), t, name)
}
