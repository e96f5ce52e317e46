package nsqd

import (
	"time"

	"github.com/nsqgo/nsq/nsqd/metrics/e2e"
	"github.com/nsqgo/nsq/nsqd/metrics/statsd"
)

// The daemon's ties to its metrics packages: a channel's FIN hook feeds the
// e2e percentile window (nsqd/metrics/e2e) and /metrics' histogram
// (metrics_histogram.go), /stats reads the percentiles back, and the statsd
// pusher (nsqd/metrics/statsd) is given a snapshot of /stats each round.
// Time comes from the daemon's clock.

// finLatency is what a channel records each FIN's publish-to-FIN latency
// into; either recorder is nil when its option is off.
type finLatency struct {
	window    *e2e.Recorder      // --e2e-processing-latency-percentile
	histogram *durationHistogram // --metrics-e2e-histogram
}

func (n *NSQD) newFinLatency() finLatency {
	l := finLatency{window: n.e2e.NewRecorder()}
	if n.opts.MetricsE2EHistogram {
		l.histogram = newDurationHistogram(e2eLatencyBounds)
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
		l.histogram.observe(time.Duration(now - publishedAt))
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
	return LatencyStats{Count: s.Count, Percentiles: s.Percentiles}
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
	stats := n.GetStats("", "", false)
	snap := statsd.Snapshot{Topics: make([]statsd.Topic, len(stats.Topics))}
	for i, t := range stats.Topics {
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
		ms := readMemStats()
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
