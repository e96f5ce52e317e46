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
	cumulative := make([]uint64, 3)
	count, sum := h.snapshot(cumulative)
	require.Equal(t, []float64{0.001, 0.01, 1}, h.boundsSec)
	require.Equal(t, []uint64{3, 4, 4}, cumulative)
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

// Every sample lands in the bucket of the first bound it does not exceed,
// whatever bucket the sample before it took: bounds themselves, values
// either side of them, and jumps in both directions.
func TestDurationHistogramBucketsEachSampleWhateverCameBefore(t *testing.T) {
	bounds := SecondsBounds(0.001, 0.01, 1)
	values := []time.Duration{0, time.Millisecond, time.Millisecond + 1, 10 * time.Millisecond, 10*time.Millisecond + 1, time.Second, time.Second + 1, time.Hour}
	bucketOf := []int{0, 0, 1, 1, 2, 2, 3, 3}
	for b, before := range values {
		for i, d := range values {
			h := NewHistogram(bounds)
			h.Observe(before)
			h.Observe(d)
			want := make([]uint64, len(bounds)+1)
			want[bucketOf[b]]++
			want[bucketOf[i]]++
			got := make([]uint64, len(h.counts))
			for j := range h.counts {
				got[j] = h.counts[j].Load()
			}
			require.Equal(t, want, got, "%v after %v", d, before)
		}
	}
}

// A run of samples counted with HistogramRun ends up, once flushed, with
// the buckets and the sum that Observe of each sample gives, through runs
// of one bucket, jumps between buckets both ways and negative samples.
func TestHistogramRunCountsAsObserveEach(t *testing.T) {
	bounds := SecondsBounds(0.001, 0.01, 1)
	samples := []time.Duration{
		5 * time.Microsecond, 7 * time.Microsecond, time.Millisecond, // one bucket
		2 * time.Second, 3 * time.Second, // above every bound
		-time.Millisecond, 1500 * time.Microsecond, // negative, then back down
		10 * time.Millisecond, 10*time.Millisecond + 1, 999 * time.Microsecond,
		time.Hour, time.Hour,
	}
	each := NewHistogram(bounds)
	for _, d := range samples {
		each.Observe(d)
	}
	batched := NewHistogram(bounds)
	run := batched.Run()
	for _, d := range samples {
		run.Observe(d)
	}
	run.Flush()
	want := make([]uint64, len(bounds))
	wantCount, wantSum := each.snapshot(want)
	got := make([]uint64, len(bounds))
	count, sum := batched.snapshot(got)
	require.Equal(t, want, got)
	require.Equal(t, wantCount, count)
	require.Equal(t, wantSum, sum)
	require.Equal(t, each.counts[len(bounds)].Load(), batched.counts[len(bounds)].Load())
	run.Flush() // an empty run adds nothing
	count, _ = batched.snapshot(got)
	require.Equal(t, wantCount, count)

	// A run of no histogram (a channel without /metrics' latency) counts
	// nothing and does not fail.
	var none *Histogram
	idle := none.Run()
	idle.Observe(time.Second)
	idle.Flush()
}
