package stats

import (
	"strconv"
	"strings"

	"github.com/nsqgo/nsq/nsqd/metrics/e2e"
)

// Latency is the end-to-end processing latency summary of a topic or
// channel: how many samples the window holds and the configured
// percentiles. Without --e2e-processing-latency-percentile upstream reports
// {"count":0,"percentiles":null}, which is the zero value.
type Latency struct {
	Count       int          `json:"count"`
	Percentiles []Percentile `json:"percentiles"`
}

// Percentile is one percentile; Value is in nanoseconds
// (nsqd/metrics/e2e computes them).
type Percentile = e2e.Percentile

// String renders the values for the text /stats, as upstream: human
// durations joined by ", ", empty when nothing is tracked.
func (l Latency) String() string {
	parts := make([]string, 0, len(l.Percentiles))
	for _, p := range l.Percentiles {
		parts = append(parts, nanosecondsToHuman(p.Value))
	}
	return strings.Join(parts, ", ")
}

// nanosecondsToHuman is upstream's rendering: one decimal, in the largest
// of s, ms, us and ns that the value strictly exceeds one of (so exactly
// 1000ns prints as "1000.0ns", as upstream's does).
func nanosecondsToHuman(v float64) string {
	suffix := "ns"
	switch {
	case v > 1e9:
		v, suffix = v/1e9, "s"
	case v > 1e6:
		v, suffix = v/1e6, "ms"
	case v > 1e3:
		v, suffix = v/1e3, "us"
	}
	return strconv.FormatFloat(v, 'f', 1, 64) + suffix
}
