package e2e

import (
	"math"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/stretchr/testify/require"
)

// The bucket of v must hold v (v above the previous bucket's upper edge,
// at most its own) and be no wider than 1/32 of v, which is what bounds
// the error of a reported percentile.
func TestBucketHoldsValueWithinOneThirtySecond(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	values := []int64{0, 1, 31, 32, 33, 63, 64, 65, 1000, 1 << 20, 1<<48 - 1}
	for v := int64(0); v < 4096; v++ {
		values = append(values, v)
	}
	for range 100000 {
		values = append(values, rng.Int64N(1<<48))
	}
	// Plain comparisons, not require: over 100,000 values testify's
	// reflection and argument boxing took 2-6 s under -race, now 0.1 s.
	for _, v := range values {
		b := bucket(v)
		if b >= buckets-1 {
			t.Fatalf("v=%d is in the overflow bucket %d", v, b)
		}
		high := bucketHigh(b)
		if v > high {
			t.Fatalf("v=%d is above its bucket %d's upper edge %d", v, b, high)
		}
		if b > 0 && v <= bucketHigh(b-1) {
			t.Fatalf("v=%d is not above bucket %d's lower edge %d", v, b, bucketHigh(b-1))
		}
		if high-v > v/32 {
			t.Fatalf("v=%d bucket %d (upper edge %d) is too wide", v, b, high)
		}
	}
}

func TestBucketsGrowWithTheValue(t *testing.T) {
	prev := 0
	for v := int64(0); v < 1<<20; v += 7 {
		b := bucket(v)
		require.GreaterOrEqual(t, b, prev, "v=%d", v)
		prev = b
	}
}

func TestHugeLatenciesShareTheOverflowBucket(t *testing.T) {
	require.Equal(t, buckets-2, bucket(1<<48-1))
	require.Equal(t, buckets-1, bucket(1<<48))
	require.Equal(t, buckets-1, bucket(math.MaxInt64))
	require.Equal(t, int64(math.MaxInt64), bucketHigh(buckets-1))
}

// Against the exact nearest-rank percentile of the same samples, the
// reported value is never lower and at most 1/32 higher.
func TestQuantileIsNearestRankWithinOneThirtySecond(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	for _, n := range []int{1, 2, 7, 100, 1000, 25000} {
		h := new(histogram)
		samples := make([]int64, n)
		for i := range samples {
			// Log-normal around 1ms: the shape of real latencies.
			samples[i] = int64(math.Exp(rng.NormFloat64()*1.5 + math.Log(1e6)))
			h.counts[bucket(samples[i])]++
			h.total++
			h.max = max(h.max, samples[i])
		}
		slices.Sort(samples)
		for _, q := range []float64{1, 0.999, 0.99, 0.95, 0.5, 0.01} {
			rank := int(math.Ceil(q*float64(n) - 1e-9))
			exact := float64(samples[max(rank, 1)-1])
			got := h.quantile(q)
			require.GreaterOrEqual(t, got, exact, "n=%d q=%v", n, q)
			require.LessOrEqual(t, got, exact*(1+1.0/32), "n=%d q=%v", n, q)
		}
	}
}

func TestQuantileOfOneIsTheExactMaximum(t *testing.T) {
	h := new(histogram)
	for _, v := range []int64{5_000_000, 123_456_789} {
		h.counts[bucket(v)]++
		h.total++
		h.max = max(h.max, v)
	}
	require.Equal(t, 123_456_789.0, h.quantile(1))
}

// 0.99 × 100 is 98.99999... in floating point; the rank must still be 99,
// so the 100th (largest) sample is not reported as the 99th percentile.
func TestQuantileRankSurvivesFloatRounding(t *testing.T) {
	h := new(histogram)
	for v := int64(1); v <= 100; v++ {
		h.counts[bucket(v)]++
		h.total++
		h.max = v
	}
	require.Equal(t, 99.0, h.quantile(0.99))
	require.Equal(t, 50.0, h.quantile(0.5))
}

func TestStatsOfEmptyHistogramAreZeroPerPercentile(t *testing.T) {
	got := new(histogram).stats([]float64{1, 0.5})
	require.Equal(t, Summary{Count: 0, Percentiles: []Percentile{
		{Quantile: 1, Value: 0}, {Quantile: 0.5, Value: 0},
	}}, got)
}
