package e2e

import (
	"sync"
	"sync/atomic"
)

// Recorder records one channel's end-to-end processing latencies (FIN
// time minus publish time) over a sliding window, as upstream's quantile
// package does: two half-window buckets, the older one dropped as a new
// one starts, so a query sees between half and all of the window.
//
// Halves are aligned to multiples of the half-window since the Unix epoch
// and tagged with their number, so a query simply ignores a half whose
// number is neither the current nor the previous one; nothing needs to
// move the window on a timer.
//
// Recording is lock-free: an atomic add to one counter and, rarely, a CAS
// on the maximum. Only the first sample of a new half takes resetMu, to
// clear the counters it reuses. Memory is fixed (two histograms, about
// 22 KiB) whatever the traffic, and is only spent when percentiles are
// configured.
type Recorder struct {
	half    int64 // ns; at least 1
	resetMu sync.Mutex
	windows [2]window
}

// window is one half of the sliding window.
type window struct {
	epoch  atomic.Int64 // half-window number the counts belong to
	max    atomic.Int64
	counts [buckets]atomic.Uint64
}

func NewRecorder(half int64) *Recorder {
	return &Recorder{half: max(half, 1)}
}

// record counts one latency. now and publishedAt are ns since the epoch;
// a negative difference (clocks that disagree, say after messages moved
// hosts) counts as zero rather than corrupting the histogram.
func (l *Recorder) Record(now, publishedAt int64) {
	v := max(now-publishedAt, 0)
	epoch := now / l.half
	w := &l.windows[epoch&1]
	if current := w.epoch.Load(); current != epoch {
		if current > epoch {
			// Another FIN with a later clock reading already reused this
			// half: the sample belongs to a window that has expired.
			return
		}
		l.rotate(w, epoch)
	}
	w.counts[bucket(v)].Add(1)
	for {
		m := w.max.Load()
		if v <= m || w.max.CompareAndSwap(m, v) {
			return
		}
	}
}

// rotate clears a half for reuse by a later half-window. The epoch is
// published last, so a concurrent record for the same half-window waits
// on the mutex rather than adding to counters about to be cleared.
func (l *Recorder) rotate(w *window, epoch int64) {
	l.resetMu.Lock()
	defer l.resetMu.Unlock()
	if w.epoch.Load() >= epoch {
		return
	}
	for i := range w.counts {
		w.counts[i].Store(0)
	}
	w.max.Store(0)
	w.epoch.Store(epoch)
}

// addTo adds the halves that are still inside the window at now to h. A
// nil recorder (percentiles not configured) adds nothing.
func (l *Recorder) addTo(h *histogram, now int64) {
	if l == nil {
		return
	}
	epoch := now / l.half
	for i := range l.windows {
		w := &l.windows[i]
		if e := w.epoch.Load(); e != epoch && e != epoch-1 {
			continue
		}
		for j := range w.counts {
			c := w.counts[j].Load()
			h.counts[j] += c
			h.total += c
		}
		h.max = max(h.max, w.max.Load())
	}
}
