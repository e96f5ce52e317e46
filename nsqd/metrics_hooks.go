package nsqd

import (
	"errors"
	"net/http"
	"time"

	"github.com/nsqgo/nsq/nsqd/metrics/e2e"
	"github.com/nsqgo/nsq/nsqd/metrics/prometheus"
	"github.com/nsqgo/nsq/nsqd/metrics/statsd"
	"github.com/nsqgo/nsq/nsqd/stats"
)

// The daemon's ties to its metrics packages, all in this file: a channel's
// FIN hook feeds the e2e percentile window (nsqd/metrics/e2e) and /metrics'
// latency histogram (nsqd/metrics/prometheus), /stats reads the
// percentiles back, the statsd pusher (nsqd/metrics/statsd) is given a
// snapshot of /stats each round, and the Prometheus collector one of /stats
// and the counters /stats does not show each scrape. Refused publishes are
// counted here for both protocols. Time comes from the daemon's clock.

// finLatency is what a channel records each FIN's publish-to-FIN latency
// into; either recorder is nil when its option is off.
type finLatency struct {
	window    *e2e.Recorder         // --e2e-processing-latency-percentile
	histogram *prometheus.Histogram // --metrics-e2e-histogram
}

func (n *NSQD) newFinLatency() finLatency {
	l := finLatency{window: n.e2e.NewRecorder()}
	if n.opts.MetricsE2EHistogram {
		l.histogram = prometheus.NewHistogram(prometheus.E2ELatencyBounds)
	}
	return l
}

// recording says whether FIN's latency is recorded at all, so that a
// connection reads no clock for a channel that records nothing.
func (l *finLatency) recording() bool { return l.window != nil || l.histogram != nil }

// recordE2E is FIN's hook: it counts the time from publishedAt to now, the
// FIN's time. A connection reads that time once per socket read, not once
// per FIN (v2Session.finTime, protocol_v2.go): a clock read costs about as
// much as the rest of a FIN. It allocates nothing and takes no lock shared
// beyond this channel (see e2e.Recorder.Record).
func (c *Channel) recordE2E(publishedAt, now int64) {
	l := &c.latency
	if l.window != nil {
		l.window.Record(now, publishedAt)
	}
	if l.histogram != nil {
		l.histogram.Observe(time.Duration(now - publishedAt))
	}
}

// e2eStats is the channel's e2e_processing_latency; without percentiles
// configured it is upstream's {"count":0,"percentiles":null}.
func (c *Channel) e2eStats() LatencyStats {
	return latencyStats(c.nsqd.e2e.Summarize(c.nsqd.clock.Now(), c.latency.window))
}

// e2eStats merges every channel of the topic, whatever channel filter the
// stats request has, as upstream does. A topic without channels reports
// {"count":0,"percentiles":null} even when percentiles are configured,
// again as upstream (it has no stream to merge).
func (t *Topic) e2eStats() LatencyStats {
	cfg := t.nsqd.e2e
	if !cfg.Enabled() {
		return LatencyStats{}
	}
	channels := t.Channels()
	if len(channels) == 0 {
		return LatencyStats{}
	}
	recorders := make([]*e2e.Recorder, len(channels))
	for i, c := range channels {
		recorders[i] = c.latency.window
	}
	return latencyStats(cfg.Summarize(t.nsqd.clock.Now(), recorders...))
}

func latencyStats(s e2e.Summary) LatencyStats {
	return stats.Latency{Count: s.Count, Percentiles: s.Percentiles}
}

// statsdLoop pushes the metrics every --statsd-interval until Exit. Main
// starts it (only with --statsd-address set) and Exit waits for it.
func (n *NSQD) statsdLoop() {
	statsd.Run(statsd.Config{
		Address:          n.opts.StatsdAddress,
		Interval:         n.opts.StatsdInterval,
		PacketSize:       n.opts.StatsdUDPPacketSize,
		Prefix:           n.statsdPrefix,
		ExcludeEphemeral: n.opts.StatsdExcludeEphemeral,
		Snapshot:         n.statsdSnapshot,
		Logf:             n.logf,
		Clock:            n.clock,
	}, n.exitCh)
}

// statsdSnapshot is one push's figures: /stats without clients, and the
// memory section with --statsd-mem-stats.
func (n *NSQD) statsdSnapshot() statsd.Snapshot {
	current := n.GetStats("", "", false)
	snap := statsd.Snapshot{Topics: make([]statsd.Topic, len(current.Topics))}
	for i, t := range current.Topics {
		topic := statsd.Topic{
			Name:         t.TopicName,
			MessageCount: t.MessageCount,
			MessageBytes: t.MessageBytes,
			Depth:        t.Depth,
			BackendDepth: t.BackendDepth,
			Latency:      t.E2eProcessingLatency.Percentiles,
			Channels:     make([]statsd.Channel, len(t.Channels)),
			Bounds:       statsdBounds(t.QueueBounds),
		}
		for j, c := range t.Channels {
			topic.Channels[j] = statsd.Channel{
				Name:          c.ChannelName,
				MessageCount:  c.MessageCount,
				RequeueCount:  c.RequeueCount,
				TimeoutCount:  c.TimeoutCount,
				Depth:         c.Depth,
				BackendDepth:  c.BackendDepth,
				InFlightCount: c.InFlightCount,
				DeferredCount: c.DeferredCount,
				ClientCount:   c.ClientCount,
				Latency:       c.E2eProcessingLatency.Percentiles,
				Dead:          statsdDead(c.Dead),
				Bounds:        statsdBounds(c.QueueBounds),
			}
		}
		snap.Topics[i] = topic
	}
	if n.opts.StatsdMemStats {
		ms := stats.ReadMemory()
		snap.Mem = &statsd.Mem{
			HeapObjects:       ms.HeapObjects,
			HeapIdleBytes:     ms.HeapIdleBytes,
			HeapInUseBytes:    ms.HeapInUseBytes,
			HeapReleasedBytes: ms.HeapReleasedBytes,
			GCPauseUsec100:    ms.GCPauseUsec100,
			GCPauseUsec99:     ms.GCPauseUsec99,
			GCPauseUsec95:     ms.GCPauseUsec95,
			NextGCBytes:       ms.NextGCBytes,
			GCTotalRuns:       ms.GCTotalRuns,
		}
	}
	return snap
}

// statsdBounds is a topic's or channel's bound counters (nsqd/stats/queue.go)
// for the statsd push, which sends them only once one is non-zero.
func statsdBounds(b QueueBounds) statsd.Bounds {
	return statsd.Bounds{
		RejectedMaxDepth: b.RejectedMaxDepthCount,
		RejectedMaxBytes: b.RejectedMaxBytesCount,
		OverflowDropped:  b.OverflowDroppedCount,
		Redriven:         b.RedrivenCount,
		DeadEmptied:      b.DeadEmptiedCount,
	}
}

// statsdDead is a channel's dead-path figures (channel_dead.go) for the
// statsd push; nil for a channel whose dead path is off (DeadCount unset),
// so that with every rule off the packets are upstream's.
func statsdDead(d DeadStats) *statsd.Dead {
	if d.DeadCount == nil {
		return nil
	}
	return &statsd.Dead{
		Count:               *d.DeadCount,
		LetteredMaxAttempts: d.DeadLetteredMaxAttempts,
		LetteredExpired:     d.DeadLetteredExpired,
		LetteredOverflow:    d.DeadLetteredOverflow,
		Expired:             d.ExpiredCount,
		Dropped:             d.DeadDroppedCount,
	}
}

// statsdHTTPPort is the port in the statsd prefix's host key:
// --broadcast-http-port, else the bound HTTP port (upstream parses
// --http-address, which gives 0 for an ephemeral port), else 0 when HTTP
// is disabled.
func (n *NSQD) statsdHTTPPort() int {
	if n.opts.BroadcastHTTPPort != 0 {
		return n.opts.BroadcastHTTPPort
	}
	if addr := n.RealHTTPAddr(); addr != nil {
		return addr.Port
	}
	return 0
}

// metrics is the daemon's /metrics: the handler (the Prometheus collector
// and the Go, process and build-info collectors) and the fsync histogram
// the disk queues record into (backend_disk.go).
type metrics struct {
	handler http.Handler
	fsync   fsyncHistogram
}

// fsyncHistogram is nsq_disk_queue_fsync_duration_seconds; observe is the
// disk queues' SyncObserver.
type fsyncHistogram struct{ *prometheus.Histogram }

func (h fsyncHistogram) observe(d time.Duration) { h.Observe(d) }

func newMetrics(n *NSQD) *metrics {
	m := &metrics{fsync: fsyncHistogram{prometheus.NewHistogram(prometheus.FsyncBounds)}}
	m.handler = prometheus.Handler(func(format string, args ...any) { n.logf(errorLevel, format, args...) },
		prometheus.Config{Snapshot: n.metricsSnapshot, ExcludeEphemeral: n.opts.MetricsExcludeEphemeral})
	return m
}

// metricsSnapshot is one scrape's figures: every topic's and channel's
// /stats (without clients) and what /stats does not show.
func (n *NSQD) metricsSnapshot() prometheus.Snapshot {
	now := n.clock.Now()
	topics := n.Topics()
	snap := prometheus.Snapshot{
		Topics:        make([]prometheus.Topic, len(topics)),
		PublishErrors: n.publishErrors.Snapshot(),
		Fsync:         n.metrics.fsync.Histogram,
		Healthy:       n.healthError() == nil,
		Clients:       n.clientCount(),
	}
	for i, t := range topics {
		channels := t.Channels()
		pt := prometheus.Topic{
			Stats:    t.stats(nil),
			Bounded:  t.policy().Bounded(),
			Channels: make([]prometheus.Channel, len(channels)),
		}
		for j, c := range channels {
			pt.Channels[j] = c.collect(now)
		}
		snap.Topics[i] = pt
	}
	return snap
}

// collect is one channel's share of a scrape: its /stats and the head's
// age, each read under Channel.mu once, and lock-free counters.
func (c *Channel) collect(now time.Time) prometheus.Channel {
	pc := prometheus.Channel{
		Stats:         c.stats("", false),
		FinishCount:   c.finishCount.Load(),
		TopologyAware: c.topologyAware,
		Bounded:       c.policy().Bounded(),
		DeadDropped: prometheus.DeadDropped{
			MaxDeadDepth: c.dead.droppedBound.Load(),
			NoDeadSet:    c.dead.droppedNoSet.Load(),
		},
		Latency: c.latency.histogram,
	}
	c.mu.Lock()
	if m, ok := c.queue.OldestReady(); ok {
		pc.OldestReadyAge = now.Sub(time.Unix(0, m.Timestamp))
	}
	c.mu.Unlock()
	return pc
}

// clientCount is the number of TCP connections.
func (n *NSQD) clientCount() int {
	n.clientsMu.Lock()
	defer n.clientsMu.Unlock()
	return len(n.clients)
}

// countTCPPublish passes a PUB, MPUB or DPUB result through, counting a
// refusal by its error code.
func (s *v2Session) countTCPPublish(response []byte, err error) ([]byte, error) {
	if err != nil {
		reason := "other"
		var perr *protocolError
		if errors.As(err, &perr) {
			reason = publishErrorReason(err, perr.code) // topic_bound.go
		}
		s.n.publishErrors.add("tcp", reason)
	}
	return response, err
}

// publishErrors is the daemon's count of refused publishes
// (nsq_publish_errors_total) by protocol and error code.
type publishErrors struct{ prometheus.PublishErrors }

// add counts a publish refused with reason (the error code or V1 error
// message the publisher saw) on protocol ("tcp" or "http").
func (p *publishErrors) add(protocol, reason string) { p.Add(protocol, reason) }
