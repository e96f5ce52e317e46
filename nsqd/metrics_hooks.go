package nsqd

import (
	"time"

	"github.com/nsqgo/nsq/nsqd/metrics/e2e"
)

// The daemon's ties to the latency metrics: a channel's FIN hook feeds the
// e2e percentile window (nsqd/metrics/e2e) and /metrics' histogram
// (metrics_histogram.go), and /stats reads the percentiles back. Time comes
// from the daemon's clock.

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

// recordE2E is FIN's hook: it counts the time since the message was
// published. It allocates nothing and takes no lock shared beyond this
// channel (see e2e.Recorder.Record), and reads no clock when nothing is
// recorded.
func (c *Channel) recordE2E(publishedAt int64) {
	l := &c.latency
	if l.window == nil && l.histogram == nil {
		return
	}
	now := c.nsqd.clock.Now().UnixNano()
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
