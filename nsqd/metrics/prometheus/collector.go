package prometheus

import (
	"net/http"

	"github.com/nsqgo/nsq/internal/metricsutil"
	"github.com/nsqgo/nsq/internal/promexpo"
	"github.com/nsqgo/nsq/internal/protocol"
)

// Gauge names are those of lovoo/nsq_exporter so existing dashboards keep
// working; counters that the exporter reported as gauges are true counters
// here, named *_total.
//
// Labels are topic and channel only (publish errors add protocol and a
// bounded reason), so the series count is bounded by the topology:
// SeriesPerTopic per topic and SeriesPerChannel per channel, plus the fixed
// process, Go and daemon series (README "Prometheus metrics").
const (
	SeriesPerTopic = 7
	// 13 gauges and counters, then the latency histogram: a bucket per
	// bound and +Inf, _sum and _count.
	SeriesPerChannel = 13 + 18 + 1 + 2
)

var (
	topicLabels   = []string{"topic"}
	channelLabels = []string{"topic", "channel"}
)

func gaugeDesc(name, help string, labels []string) *promexpo.Desc {
	return promexpo.NewDesc(promexpo.Gauge, name, help, labels...)
}

func counterDesc(name, help string, labels []string) *promexpo.Desc {
	return promexpo.NewDesc(promexpo.Counter, name, help, labels...)
}

func histogramDesc(name, help string, labels []string) *promexpo.Desc {
	return promexpo.NewDesc(promexpo.Histogram, name, help, labels...)
}

var (
	topicDepthDesc         = gaugeDesc("nsq_topic_depth", "Messages held by the topic (memory and disk) waiting for a channel.", topicLabels)
	topicBackendDepthDesc  = gaugeDesc("nsq_topic_backend_depth", "Messages of the topic held on disk.", topicLabels)
	topicPausedDesc        = gaugeDesc("nsq_topic_paused", "1 while the topic is paused.", topicLabels)
	topicMessagesDesc      = counterDesc("nsq_topic_messages_total", "Messages published to the topic.", topicLabels)
	topicMessageBytesDesc  = counterDesc("nsq_topic_message_bytes_total", "Body bytes published to the topic.", topicLabels)
	topicDroppedDesc       = counterDesc("nsq_topic_messages_dropped_total", "Messages an ephemeral topic dropped because its memory queue was full.", topicLabels)
	topicDiskSkippedDesc   = counterDesc("nsq_topic_disk_skipped_records_total", "Damaged disk records skipped by the topic's queue since start.", topicLabels)
	channelDepthDesc       = gaugeDesc("nsq_channel_depth", "Ready messages of the channel (memory and disk).", channelLabels)
	channelBackendDesc     = gaugeDesc("nsq_channel_backend_depth", "Ready messages of the channel held on disk.", channelLabels)
	channelInFlightDesc    = gaugeDesc("nsq_channel_in_flight_count", "Messages sent to consumers and not yet finished, requeued or timed out.", channelLabels)
	channelDeferredDesc    = gaugeDesc("nsq_channel_deferred_count", "Deferred messages (DPUB, REQ with a delay) not yet due.", channelLabels)
	channelClientsDesc     = gaugeDesc("nsq_channel_client_count", "Consumers subscribed to the channel.", channelLabels)
	channelPausedDesc      = gaugeDesc("nsq_channel_paused", "1 while the channel is paused.", channelLabels)
	channelOldestAgeDesc   = gaugeDesc("nsq_channel_oldest_message_age_seconds", "Time since the message at the head of the channel's memory queue was published; 0 when the memory queue is empty.", channelLabels)
	channelMessagesDesc    = counterDesc("nsq_channel_messages_total", "Messages the channel received from its topic.", channelLabels)
	channelRequeuedDesc    = counterDesc("nsq_channel_requeued_total", "Messages requeued by consumers (REQ).", channelLabels)
	channelTimedOutDesc    = counterDesc("nsq_channel_timed_out_total", "In-flight messages that timed out.", channelLabels)
	channelFinishedDesc    = counterDesc("nsq_channel_finished_total", "Messages finished (FIN) by consumers.", channelLabels)
	channelDroppedDesc     = counterDesc("nsq_channel_messages_dropped_total", "Messages an ephemeral channel dropped because its memory queue was full.", channelLabels)
	channelDiskSkippedDesc = counterDesc("nsq_channel_disk_skipped_records_total", "Damaged disk records skipped by the channel's queues since start.", channelLabels)
	channelZoneLocalDesc   = counterDesc("nsq_channel_zone_local_messages_total", "Messages delivered to consumers in nsqd's zone (topology experiment only).", channelLabels)
	channelRegionLocalDesc = counterDesc("nsq_channel_region_local_messages_total", "Messages delivered to consumers in nsqd's region but another zone (topology experiment only).", channelLabels)
	channelGlobalDesc      = counterDesc("nsq_channel_global_messages_total", "Messages delivered to consumers outside nsqd's zone and region (topology experiment only).", channelLabels)
	channelE2EDesc         = histogramDesc("nsq_channel_e2e_processing_latency_seconds", "Time from publish to FIN.", channelLabels)
	publishErrorsDesc      = counterDesc("nsq_publish_errors_total", "Publishes refused, by protocol and the error code the publisher saw.", []string{"protocol", "reason"})
	fsyncDesc              = histogramDesc("nsq_disk_queue_fsync_duration_seconds", "Duration of the disk queues' data fsyncs.", nil)
	healthyDesc            = gaugeDesc("nsq_healthy", "1 while /ping answers OK (the last disk write succeeded).", nil)
	clientsDesc            = gaugeDesc("nsq_clients", "TCP connections (producers and consumers).", nil)
	topicsDesc             = gaugeDesc("nsq_topics", "Topics, including ephemeral ones.", nil)
)

// Config is what the collector reads.
type Config struct {
	// Snapshot is called once per scrape.
	Snapshot func() Snapshot
	// ExcludeEphemeral leaves #ephemeral topics and channels out
	// (--metrics-exclude-ephemeral).
	ExcludeEphemeral bool
}

// Handler serves /metrics: the daemon's series, and the Go, process and
// build-info collectors every daemon serves. A failing collector is logged
// through logf.
func Handler(logf func(format string, args ...any), cfg Config) http.Handler {
	return metricsutil.Handler(logf, NewCollector(cfg))
}

// NewCollector is the daemon's own collector, for a registry of the
// caller's.
func NewCollector(cfg Config) promexpo.Collector { return collector{cfg} }

type collector struct{ cfg Config }

func (c collector) Collect(s *promexpo.Scrape) error {
	snap := c.cfg.Snapshot()
	for _, t := range snap.Topics {
		name := t.Stats.TopicName
		if c.cfg.ExcludeEphemeral && protocol.IsEphemeral(name) {
			continue
		}
		ts := &t.Stats
		s.Value(topicDepthDesc, float64(ts.Depth), name)
		s.Value(topicBackendDepthDesc, float64(ts.BackendDepth), name)
		s.Value(topicPausedDesc, boolValue(ts.Paused), name)
		s.Value(topicMessagesDesc, float64(ts.MessageCount), name)
		s.Value(topicMessageBytesDesc, float64(ts.MessageBytes), name)
		s.Value(topicDroppedDesc, float64(ts.DroppedCount), name)
		s.Value(topicDiskSkippedDesc, float64(ts.DiskSkippedRecords), name)
		collectTopicBound(s, t) // bounds.go
		for i := range t.Channels {
			if c.cfg.ExcludeEphemeral && protocol.IsEphemeral(t.Channels[i].Stats.ChannelName) {
				continue
			}
			collectChannel(s, name, &t.Channels[i])
		}
	}
	for key, count := range snap.PublishErrors {
		s.Value(publishErrorsDesc, float64(count), key.Protocol, key.Reason)
	}
	if snap.Fsync != nil {
		snap.Fsync.collect(s, fsyncDesc)
	}
	s.Value(healthyDesc, boolValue(snap.Healthy))
	s.Value(clientsDesc, float64(snap.Clients))
	s.Value(topicsDesc, float64(len(snap.Topics)))
	return nil
}

// collectChannel reports one channel: the /stats snapshot plus what /stats
// does not show (finish count, the head's age, the latency histogram).
func collectChannel(s *promexpo.Scrape, topic string, c *Channel) {
	cs := &c.Stats
	t, name := topic, cs.ChannelName
	s.Value(channelDepthDesc, float64(cs.Depth), t, name)
	s.Value(channelBackendDesc, float64(cs.BackendDepth), t, name)
	s.Value(channelInFlightDesc, float64(cs.InFlightCount), t, name)
	s.Value(channelDeferredDesc, float64(cs.DeferredCount), t, name)
	s.Value(channelClientsDesc, float64(cs.ClientCount), t, name)
	s.Value(channelPausedDesc, boolValue(cs.Paused), t, name)
	s.Value(channelOldestAgeDesc, max(c.OldestReadyAge.Seconds(), 0), t, name)
	s.Value(channelMessagesDesc, float64(cs.MessageCount), t, name)
	s.Value(channelRequeuedDesc, float64(cs.RequeueCount), t, name)
	s.Value(channelTimedOutDesc, float64(cs.TimeoutCount), t, name)
	s.Value(channelFinishedDesc, float64(c.FinishCount), t, name)
	s.Value(channelDroppedDesc, float64(cs.DroppedCount), t, name)
	s.Value(channelDiskSkippedDesc, float64(cs.DiskSkippedRecords), t, name)
	collectChannelBound(s, t, c) // bounds.go
	if c.TopologyAware {
		s.Value(channelZoneLocalDesc, float64(cs.ZoneLocalMsgCount), t, name)
		s.Value(channelRegionLocalDesc, float64(cs.RegionLocalMsgCount), t, name)
		s.Value(channelGlobalDesc, float64(cs.GlobalMsgCount), t, name)
	}
	collectDead(s, t, c) // dead.go
	if c.Latency != nil {
		c.Latency.collect(s, channelE2EDesc, t, name)
	}
}

func boolValue(b bool) float64 {
	if b {
		return 1
	}
	return 0
}
