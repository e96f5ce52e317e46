package prometheus

import (
	"net/http"

	"github.com/nsqgo/nsq/internal/metricsutil"
	"github.com/nsqgo/nsq/internal/protocol"
	"github.com/prometheus/client_golang/prometheus"
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

func newDesc(name, help string, labels []string) *prometheus.Desc {
	return prometheus.NewDesc(name, help, labels, nil)
}

var (
	topicDepthDesc         = newDesc("nsq_topic_depth", "Messages held by the topic (memory and disk) waiting for a channel.", topicLabels)
	topicBackendDepthDesc  = newDesc("nsq_topic_backend_depth", "Messages of the topic held on disk.", topicLabels)
	topicPausedDesc        = newDesc("nsq_topic_paused", "1 while the topic is paused.", topicLabels)
	topicMessagesDesc      = newDesc("nsq_topic_messages_total", "Messages published to the topic.", topicLabels)
	topicMessageBytesDesc  = newDesc("nsq_topic_message_bytes_total", "Body bytes published to the topic.", topicLabels)
	topicDroppedDesc       = newDesc("nsq_topic_messages_dropped_total", "Messages an ephemeral topic dropped because its memory queue was full.", topicLabels)
	topicDiskSkippedDesc   = newDesc("nsq_topic_disk_skipped_records_total", "Damaged disk records skipped by the topic's queue since start.", topicLabels)
	channelDepthDesc       = newDesc("nsq_channel_depth", "Ready messages of the channel (memory and disk).", channelLabels)
	channelBackendDesc     = newDesc("nsq_channel_backend_depth", "Ready messages of the channel held on disk.", channelLabels)
	channelInFlightDesc    = newDesc("nsq_channel_in_flight_count", "Messages sent to consumers and not yet finished, requeued or timed out.", channelLabels)
	channelDeferredDesc    = newDesc("nsq_channel_deferred_count", "Deferred messages (DPUB, REQ with a delay) not yet due.", channelLabels)
	channelClientsDesc     = newDesc("nsq_channel_client_count", "Consumers subscribed to the channel.", channelLabels)
	channelPausedDesc      = newDesc("nsq_channel_paused", "1 while the channel is paused.", channelLabels)
	channelOldestAgeDesc   = newDesc("nsq_channel_oldest_message_age_seconds", "Time since the message at the head of the channel's memory queue was published; 0 when the memory queue is empty.", channelLabels)
	channelMessagesDesc    = newDesc("nsq_channel_messages_total", "Messages the channel received from its topic.", channelLabels)
	channelRequeuedDesc    = newDesc("nsq_channel_requeued_total", "Messages requeued by consumers (REQ).", channelLabels)
	channelTimedOutDesc    = newDesc("nsq_channel_timed_out_total", "In-flight messages that timed out.", channelLabels)
	channelFinishedDesc    = newDesc("nsq_channel_finished_total", "Messages finished (FIN) by consumers.", channelLabels)
	channelDroppedDesc     = newDesc("nsq_channel_messages_dropped_total", "Messages an ephemeral channel dropped because its memory queue was full.", channelLabels)
	channelDiskSkippedDesc = newDesc("nsq_channel_disk_skipped_records_total", "Damaged disk records skipped by the channel's queues since start.", channelLabels)
	channelZoneLocalDesc   = newDesc("nsq_channel_zone_local_messages_total", "Messages delivered to consumers in nsqd's zone (topology experiment only).", channelLabels)
	channelRegionLocalDesc = newDesc("nsq_channel_region_local_messages_total", "Messages delivered to consumers in nsqd's region but another zone (topology experiment only).", channelLabels)
	channelGlobalDesc      = newDesc("nsq_channel_global_messages_total", "Messages delivered to consumers outside nsqd's zone and region (topology experiment only).", channelLabels)
	channelE2EDesc         = newDesc("nsq_channel_e2e_processing_latency_seconds", "Time from publish to FIN.", channelLabels)
	publishErrorsDesc      = newDesc("nsq_publish_errors_total", "Publishes refused, by protocol and the error code the publisher saw.", []string{"protocol", "reason"})
	fsyncDesc              = newDesc("nsq_disk_queue_fsync_duration_seconds", "Duration of the disk queues' data fsyncs.", nil)
	healthyDesc            = newDesc("nsq_healthy", "1 while /ping answers OK (the last disk write succeeded).", nil)
	clientsDesc            = newDesc("nsq_clients", "TCP connections (producers and consumers).", nil)
	topicsDesc             = newDesc("nsq_topics", "Topics, including ephemeral ones.", nil)
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
func NewCollector(cfg Config) prometheus.Collector { return collector{cfg} }

type collector struct{ cfg Config }

func (collector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{
		topicDepthDesc, topicBackendDepthDesc, topicPausedDesc, topicMessagesDesc, topicMessageBytesDesc,
		topicDroppedDesc, topicDiskSkippedDesc,
		channelDepthDesc, channelBackendDesc, channelInFlightDesc, channelDeferredDesc, channelClientsDesc,
		channelPausedDesc, channelOldestAgeDesc, channelMessagesDesc, channelRequeuedDesc, channelTimedOutDesc,
		channelFinishedDesc, channelDroppedDesc, channelDiskSkippedDesc, channelE2EDesc,
		channelZoneLocalDesc, channelRegionLocalDesc, channelGlobalDesc,
		publishErrorsDesc, fsyncDesc, healthyDesc, clientsDesc, topicsDesc,
	} {
		ch <- d
	}
	for _, d := range boundDescs { // bounds.go
		ch <- d
	}
	for _, d := range deadDescs { // dead.go
		ch <- d
	}
}

func (c collector) Collect(ch chan<- prometheus.Metric) {
	snap := c.cfg.Snapshot()
	for _, t := range snap.Topics {
		name := t.Stats.TopicName
		if c.cfg.ExcludeEphemeral && protocol.IsEphemeral(name) {
			continue
		}
		ts := &t.Stats
		gauge(ch, topicDepthDesc, float64(ts.Depth), name)
		gauge(ch, topicBackendDepthDesc, float64(ts.BackendDepth), name)
		gauge(ch, topicPausedDesc, boolValue(ts.Paused), name)
		counter(ch, topicMessagesDesc, float64(ts.MessageCount), name)
		counter(ch, topicMessageBytesDesc, float64(ts.MessageBytes), name)
		counter(ch, topicDroppedDesc, float64(ts.DroppedCount), name)
		counter(ch, topicDiskSkippedDesc, float64(ts.DiskSkippedRecords), name)
		collectTopicBound(ch, t)
		for i := range t.Channels {
			if c.cfg.ExcludeEphemeral && protocol.IsEphemeral(t.Channels[i].Stats.ChannelName) {
				continue
			}
			collectChannel(ch, name, &t.Channels[i])
		}
	}
	for key, count := range snap.PublishErrors {
		counter(ch, publishErrorsDesc, float64(count), key.Protocol, key.Reason)
	}
	if snap.Fsync != nil {
		if m, err := snap.Fsync.metric(fsyncDesc); err == nil {
			ch <- m
		}
	}
	gauge(ch, healthyDesc, boolValue(snap.Healthy))
	gauge(ch, clientsDesc, float64(snap.Clients))
	gauge(ch, topicsDesc, float64(len(snap.Topics)))
}

// collectChannel reports one channel: the /stats snapshot plus what /stats
// does not show (finish count, the head's age, the latency histogram).
func collectChannel(ch chan<- prometheus.Metric, topic string, c *Channel) {
	cs := &c.Stats
	t, name := topic, cs.ChannelName
	gauge(ch, channelDepthDesc, float64(cs.Depth), t, name)
	gauge(ch, channelBackendDesc, float64(cs.BackendDepth), t, name)
	gauge(ch, channelInFlightDesc, float64(cs.InFlightCount), t, name)
	gauge(ch, channelDeferredDesc, float64(cs.DeferredCount), t, name)
	gauge(ch, channelClientsDesc, float64(cs.ClientCount), t, name)
	gauge(ch, channelPausedDesc, boolValue(cs.Paused), t, name)
	gauge(ch, channelOldestAgeDesc, max(c.OldestReadyAge.Seconds(), 0), t, name)
	counter(ch, channelMessagesDesc, float64(cs.MessageCount), t, name)
	counter(ch, channelRequeuedDesc, float64(cs.RequeueCount), t, name)
	counter(ch, channelTimedOutDesc, float64(cs.TimeoutCount), t, name)
	counter(ch, channelFinishedDesc, float64(c.FinishCount), t, name)
	counter(ch, channelDroppedDesc, float64(cs.DroppedCount), t, name)
	counter(ch, channelDiskSkippedDesc, float64(cs.DiskSkippedRecords), t, name)
	collectChannelBound(ch, t, c)
	if c.TopologyAware {
		counter(ch, channelZoneLocalDesc, float64(cs.ZoneLocalMsgCount), t, name)
		counter(ch, channelRegionLocalDesc, float64(cs.RegionLocalMsgCount), t, name)
		counter(ch, channelGlobalDesc, float64(cs.GlobalMsgCount), t, name)
	}
	collectDead(ch, t, c) // dead.go
	if c.Latency != nil {
		if m, err := c.Latency.metric(channelE2EDesc, t, name); err == nil {
			ch <- m
		}
	}
}

func gauge(ch chan<- prometheus.Metric, desc *prometheus.Desc, v float64, labels ...string) {
	ch <- prometheus.MustNewConstMetric(desc, prometheus.GaugeValue, v, labels...)
}

func counter(ch chan<- prometheus.Metric, desc *prometheus.Desc, v float64, labels ...string) {
	ch <- prometheus.MustNewConstMetric(desc, prometheus.CounterValue, v, labels...)
}

func boolValue(b bool) float64 {
	if b {
		return 1
	}
	return 0
}
