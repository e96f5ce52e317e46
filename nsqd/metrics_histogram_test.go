package nsqd

import (
	"testing"
	"time"
)

// The cost a FIN pays for the /metrics latency histogram (beside reading
// the clock): compare with BenchmarkE2ERecord.
func BenchmarkDurationHistogramObserve(b *testing.B) {
	h := newDurationHistogram(e2eLatencyBounds)
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		d := 3 * time.Millisecond
		for pb.Next() {
			h.observe(d)
		}
	})
}
