package prometheus

import (
	"sync/atomic"
	"time"

	"github.com/nsqgo/nsq/internal/promexpo"
)

// Histogram is a cumulative histogram of durations with fixed
// bounds, the shape Prometheus histograms have, recorded with plain atomic
// adds (no lock, no allocation, no metric-library call) and read into a
// const histogram only when /metrics is scraped.
//
// Unlike the e2e percentile recorder (nsqd/metrics/e2e) it never forgets: a
// Prometheus histogram must only grow so that rate() and
// histogram_quantile() work across scrapes and nodes.
type Histogram struct {
	bounds    []time.Duration // upper bounds, ascending; shared, never written
	boundsSec []float64       // the same in seconds, as /metrics reports them
	counts    []atomic.Uint64 // counts[i]: samples <= bounds[i] and > bounds[i-1]; last: above every bound
	sumUS     atomic.Uint64   // sum of samples in microseconds: ns would overflow in weeks at high rates
	// last is the bucket of the latest sample that needed a search:
	// successive FINs of a channel mostly share a bucket (a backlog drained
	// seconds after publishing is past 12 of the 18 e2e bounds), so Observe
	// tries it first instead of comparing against every bound below it.
	last atomic.Uint32
	_    [0]func() // not comparable, not copyable by accident
}

// E2ELatencyBounds cover consumers that FIN within a millisecond up to
// messages that waited an hour. 18 buckets keep a channel to 21 series.
var E2ELatencyBounds = SecondsBounds(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5,
	1, 2.5, 5, 10, 30, 60, 300, 900, 3600)

// FsyncBounds span a page-cache flush on fast NVMe (100µs) to a stalled
// disk (10s).
var FsyncBounds = SecondsBounds(0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05,
	0.1, 0.25, 0.5, 1, 2.5, 10)

func SecondsBounds(seconds ...float64) []time.Duration {
	out := make([]time.Duration, len(seconds))
	for i, s := range seconds {
		out[i] = time.Duration(s * float64(time.Second))
	}
	return out
}

func NewHistogram(bounds []time.Duration) *Histogram {
	h := &Histogram{bounds: bounds, boundsSec: make([]float64, len(bounds)), counts: make([]atomic.Uint64, len(bounds)+1)}
	for i, b := range bounds {
		h.boundsSec[i] = b.Seconds()
	}
	return h
}

// observe counts one sample; a negative one (clocks that disagree) counts
// as zero.
func (h *Histogram) Observe(d time.Duration) {
	d = max(d, 0)
	h.counts[h.bucket(d)].Add(1)
	h.sumUS.Add(uint64(d / time.Microsecond))
}

// HistogramRun counts a burst of samples into a histogram with one atomic
// add per run of consecutive samples in the same bucket and one for their
// sum, instead of two adds per sample: a consumer's FINs arrive in bursts
// whose latencies mostly share a bucket. A run's samples show in the
// histogram when the next sample leaves its bucket, the last run's and
// the sum at Flush; once Flush returns the histogram holds exactly what
// Observe of each sample would have given.
type HistogramRun struct {
	h      *Histogram
	bucket int
	n      uint64 // samples in bucket not added yet
	sumUS  uint64 // microseconds not added yet
}

// Run begins a run of samples for h. A nil h gives a run that counts
// nothing, so a caller without a histogram needs no second loop.
func (h *Histogram) Run() HistogramRun { return HistogramRun{h: h} }

// Observe counts one sample of the run, as Histogram.Observe would.
func (r *HistogramRun) Observe(d time.Duration) {
	if r.h == nil {
		return
	}
	d = max(d, 0)
	i := r.h.bucket(d)
	if i != r.bucket && r.n > 0 {
		r.h.counts[r.bucket].Add(r.n)
		r.n = 0
	}
	r.bucket = i
	r.n++
	r.sumUS += uint64(d / time.Microsecond)
}

// Flush adds what the run has counted to the histogram.
func (r *HistogramRun) Flush() {
	if r.n > 0 {
		r.h.counts[r.bucket].Add(r.n)
		r.n = 0
	}
	if r.sumUS > 0 {
		r.h.sumUS.Add(r.sumUS)
		r.sumUS = 0
	}
}

// bucket is the index of the first bound d does not exceed (len(bounds):
// above them all).
func (h *Histogram) bucket(d time.Duration) int {
	i := int(h.last.Load())
	if (i == len(h.bounds) || d <= h.bounds[i]) && (i == 0 || d > h.bounds[i-1]) {
		return i
	}
	i = 0
	for i < len(h.bounds) && d > h.bounds[i] {
		i++
	}
	h.last.Store(uint32(i))
	return i
}

// maxBounds is the most bounds a histogram has for a scrape to read it
// without allocating (E2ELatencyBounds has 18).
const maxBounds = 32

// snapshot reads the histogram as Prometheus wants it into cumulative
// (len(bounds) long): per upper bound the samples at most that long, then
// the total and the sum in seconds.
func (h *Histogram) snapshot(cumulative []uint64) (count uint64, sum float64) {
	for i := range h.bounds {
		count += h.counts[i].Load()
		cumulative[i] = count
	}
	count += h.counts[len(h.bounds)].Load()
	return count, float64(h.sumUS.Load()) / 1e6
}

// collect adds the histogram to a scrape.
func (h *Histogram) collect(s *promexpo.Scrape, desc *promexpo.Desc, labels ...string) {
	var buf [maxBounds]uint64
	cumulative := buf[:0]
	if len(h.bounds) > maxBounds {
		cumulative = make([]uint64, 0, len(h.bounds))
	}
	cumulative = cumulative[:len(h.bounds)]
	count, sum := h.snapshot(cumulative)
	s.Histogram(desc, h.boundsSec, cumulative, count, sum, labels...)
}
