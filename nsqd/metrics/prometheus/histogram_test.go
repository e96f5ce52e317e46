package prometheus

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// The cost a FIN pays for the /metrics latency histogram (beside reading
// the clock): compare with BenchmarkE2ERecord.
func BenchmarkDurationHistogramObserve(b *testing.B) {
	h := NewHistogram(E2ELatencyBounds)
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		d := 3 * time.Millisecond
		for pb.Next() {
			h.Observe(d)
		}
	})
}

// The histogram buckets are cumulative and in seconds.
func TestDurationHistogramIsCumulativeInSeconds(t *testing.T) {
	h := NewHistogram(SecondsBounds(0.001, 0.01, 1))
	for _, d := range []time.Duration{500 * time.Microsecond, time.Millisecond, 5 * time.Millisecond, 2 * time.Second, -time.Second} {
		h.Observe(d)
	}
	buckets, count, sum := h.snapshot()
	require.Equal(t, map[float64]uint64{0.001: 3, 0.01: 4, 1: 4}, buckets)
	require.Equal(t, uint64(5), count)
	require.InDelta(t, 2.0065, sum, 1e-9)
}

// One FIN's cost on one connection: a consumer that keeps up (1 ms) and a
// backlog drained seconds after publishing (bench/compare.sh's consume
// phase: every latency is seconds, past most bounds).
func BenchmarkDurationHistogramObserveSerial(b *testing.B) {
	for _, d := range []time.Duration{time.Millisecond, 3 * time.Second} {
		b.Run(d.String(), func(b *testing.B) {
			h := NewHistogram(E2ELatencyBounds)
			b.ReportAllocs()
			for b.Loop() {
				h.Observe(d)
			}
		})
	}
}
