package e2e

import (
	"cmp"
	"errors"
	"fmt"
	"slices"
	"sync"
	"time"
)

// Summary is a topic's or channel's end-to-end processing latency: how
// many samples the window holds and the configured percentiles. Without
// percentiles configured upstream reports {"count":0,"percentiles":null},
// which is the zero value.
type Summary struct {
	Count       int
	Percentiles []Percentile
}

// Percentile is one percentile; Value is in nanoseconds. The key order
// matches upstream, which encodes a map and so sorts the keys.
type Percentile struct {
	Quantile float64 `json:"quantile"`
	Value    float64 `json:"value"`
}

// Config is the validated --e2e-processing-latency-* setting, shared by
// every channel of a daemon.
type Config struct {
	// percentiles, sorted descending as upstream reports them; empty
	// means latencies are not tracked at all.
	percentiles []float64
	half        int64 // half of the window, ns
	// scratch recycles the merge histograms of /stats and statsd, which
	// are too large (11 KiB) to allocate per channel per request.
	scratch sync.Pool
}

// Validate applies upstream's start-up check, with its message. NaN is
// refused too (upstream's v <= 0 || v > 1 lets it through). A window that
// is not positive is refused when percentiles are set: upstream would spin
// forever moving its window on the first FIN.
func Validate(percentiles []float64, window time.Duration) error {
	for _, v := range percentiles {
		if !(v > 0 && v <= 1) {
			return fmt.Errorf("invalid E2E processing latency percentile: %v", v)
		}
	}
	if len(percentiles) > 0 && window <= 0 {
		return errors.New("--e2e-processing-latency-window-time must be > 0")
	}
	return nil
}

// NewConfig copies the percentiles (the caller's slice is left as given)
// and sorts them descending, whatever order a library caller used.
func NewConfig(percentiles []float64, window time.Duration) *Config {
	sorted := slices.Clone(percentiles)
	slices.SortFunc(sorted, func(a, b float64) int { return cmp.Compare(b, a) })
	cfg := &Config{
		percentiles: sorted,
		half:        max(int64(window/2), 1),
	}
	cfg.scratch.New = func() any { return new(histogram) }
	return cfg
}

// Enabled reports whether latencies are tracked.
func (cfg *Config) Enabled() bool { return cfg != nil && len(cfg.percentiles) > 0 }

// NewRecorder is a new channel's recorder, or nil when nothing is tracked
// so that FIN skips even reading the clock.
func (cfg *Config) NewRecorder() *Recorder {
	if !cfg.Enabled() {
		return nil
	}
	return NewRecorder(cfg.half)
}

// Percentiles is the /config value: never null, as upstream's binary
// reports an unset list as [].
func (cfg *Config) Percentiles() []float64 {
	if !cfg.Enabled() {
		return []float64{}
	}
	return cfg.percentiles
}

// Summarize merges the recorders' windows as they stand at now and reads
// the percentiles from the merge; the zero Summary when nothing is
// tracked. A nil recorder adds nothing.
func (cfg *Config) Summarize(now time.Time, recorders ...*Recorder) Summary {
	if !cfg.Enabled() {
		return Summary{}
	}
	h := cfg.scratch.Get().(*histogram)
	defer cfg.scratch.Put(h)
	h.reset()
	at := now.UnixNano()
	for _, l := range recorders {
		l.addTo(h, at)
	}
	return h.stats(cfg.percentiles)
}
