package timermetrics

import (
	"math"
	"slices"
	"sync"
	"time"
)

// Metrics collects request durations for one destination (or all).
type Metrics struct {
	every  int
	prefix string
	logf   func(format string, args ...any)

	mu      sync.Mutex
	timings []time.Duration
}

// New returns metrics that log through logf every `every` requests, each
// line starting with prefix; every <= 0 disables them.
func New(every int, prefix string, logf func(format string, args ...any)) *Metrics {
	return &Metrics{every: every, prefix: prefix, logf: logf}
}

// Status records a request that started at start and has just ended.
func (m *Metrics) Status(start time.Time) {
	if m == nil || m.every <= 0 {
		return
	}
	took := time.Since(start)
	m.mu.Lock()
	m.timings = append(m.timings, took)
	if len(m.timings) < m.every {
		m.mu.Unlock()
		return
	}
	batch := m.timings
	m.timings = make([]time.Duration, 0, m.every)
	m.mu.Unlock()
	// Sorting and logging happen outside the lock so that concurrent
	// requests are not held up by the report.
	m.logf("%s finished %d - 99th: %.02fms - 95th: %.02fms - avg: %.02fms",
		m.prefix, len(batch), ms(percentile(batch, 99)), ms(percentile(batch, 95)), ms(mean(batch)))
}

// percentile is the nearest-rank percentile of d (sorted in place).
func percentile(d []time.Duration, p float64) time.Duration {
	slices.Sort(d)
	rank := int(math.Ceil(p / 100 * float64(len(d))))
	return d[min(max(rank-1, 0), len(d)-1)]
}

func mean(d []time.Duration) time.Duration {
	var total time.Duration
	for _, v := range d {
		total += v
	}
	return total / time.Duration(len(d))
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }
