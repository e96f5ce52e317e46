package nsqd

import (
	"cmp"
	"errors"
	"fmt"
	"slices"
	"sync"
	"time"
)

// e2eConfig is the validated --e2e-processing-latency-* setting, shared by
// every channel of the daemon.
type e2eConfig struct {
	// percentiles, sorted descending as upstream reports them; empty
	// means latencies are not tracked at all.
	percentiles []float64
	half        int64 // half of the window, ns
	// scratch recycles the merge histograms of /stats and statsd, which
	// are too large (11 KiB) to allocate per channel per request.
	scratch sync.Pool
}

// validateE2EOptions applies upstream's start-up check, with its message.
// NaN is refused too (upstream's v <= 0 || v > 1 lets it through). A
// window that is not positive is refused when percentiles are set: upstream
// would spin forever moving its window on the first FIN.
func validateE2EOptions(opts *Options) error {
	for _, v := range opts.E2EProcessingLatencyPercentiles {
		if !(v > 0 && v <= 1) {
			return fmt.Errorf("invalid E2E processing latency percentile: %v", v)
		}
	}
	if len(opts.E2EProcessingLatencyPercentiles) > 0 && opts.E2EProcessingLatencyWindowTime <= 0 {
		return errors.New("--e2e-processing-latency-window-time must be > 0")
	}
	return nil
}

// newE2EConfig copies the percentiles (the caller's Options are left as
// given) and sorts them descending, whatever order a library caller used.
func newE2EConfig(opts *Options) *e2eConfig {
	percentiles := slices.Clone(opts.E2EProcessingLatencyPercentiles)
	slices.SortFunc(percentiles, func(a, b float64) int { return cmp.Compare(b, a) })
	cfg := &e2eConfig{
		percentiles: percentiles,
		half:        max(int64(opts.E2EProcessingLatencyWindowTime/2), 1),
	}
	cfg.scratch.New = func() any { return new(e2eHistogram) }
	return cfg
}

// enabled reports whether latencies are tracked.
func (cfg *e2eConfig) enabled() bool { return cfg != nil && len(cfg.percentiles) > 0 }

// newLatency is a new channel's recorder, or nil when nothing is tracked
// so that FIN skips even reading the clock.
func (cfg *e2eConfig) newLatency() *e2eLatency {
	if !cfg.enabled() {
		return nil
	}
	return newE2ELatency(cfg.half)
}

// configPercentiles is the /config value: never null, as upstream's
// binary reports an unset list as [].
func (cfg *e2eConfig) configPercentiles() []float64 {
	if !cfg.enabled() {
		return []float64{}
	}
	return cfg.percentiles
}

// summarize merges the recorders' current windows and reads the
// percentiles from the merge.
func (cfg *e2eConfig) summarize(recorders ...*e2eLatency) LatencyStats {
	h := cfg.scratch.Get().(*e2eHistogram)
	defer cfg.scratch.Put(h)
	h.reset()
	now := time.Now().UnixNano()
	for _, l := range recorders {
		l.addTo(h, now)
	}
	return h.stats(cfg.percentiles)
}

// recordE2E is FIN's hook: it counts the time since the message was
// published. It allocates nothing and takes no lock shared beyond this
// channel (see e2eLatency.record).
func (c *Channel) recordE2E(publishedAt int64) {
	if c.e2e == nil && c.e2eHistogram == nil {
		return
	}
	now := time.Now().UnixNano()
	if c.e2e != nil {
		c.e2e.record(now, publishedAt)
	}
	if c.e2eHistogram != nil {
		c.e2eHistogram.observe(time.Duration(now - publishedAt))
	}
}

// e2eStats is the channel's e2e_processing_latency; without percentiles
// configured it is upstream's {"count":0,"percentiles":null}.
func (c *Channel) e2eStats() LatencyStats {
	cfg := c.nsqd.e2e
	if !cfg.enabled() {
		return LatencyStats{}
	}
	return cfg.summarize(c.e2e)
}

// e2eStats merges every channel of the topic, whatever channel filter the
// stats request has, as upstream does. A topic without channels reports
// {"count":0,"percentiles":null} even when percentiles are configured,
// again as upstream (it has no stream to merge).
func (t *Topic) e2eStats() LatencyStats {
	cfg := t.nsqd.e2e
	if !cfg.enabled() {
		return LatencyStats{}
	}
	channels := t.Channels()
	if len(channels) == 0 {
		return LatencyStats{}
	}
	recorders := make([]*e2eLatency, len(channels))
	for i, c := range channels {
		recorders[i] = c.e2e
	}
	return cfg.summarize(recorders...)
}
