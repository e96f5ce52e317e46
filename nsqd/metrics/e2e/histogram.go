package e2e

import (
	"math"
	"math/bits"
)

// End-to-end latencies are counted in a log-linear histogram: values below
// 2^subBits ns get a bucket each, and every power of two above that is
// split into 2^subBits equal buckets. A bucket's width is therefore at
// most 1/32 of its lower bound, so a percentile read from it is within
// 3.2% of the exact one, whatever the traffic, with a fixed number of
// counters. Upstream uses a CKMS stream (perks) instead; a histogram was
// chosen because recording is one atomic add (no lock, no allocation),
// merging channels into their topic is exact (counters add), and memory
// does not grow with traffic.
const (
	subBits = 5
	sub     = 1 << subBits
	// maxExp is the highest power of two with buckets of its own:
	// latencies of 2^48 ns (about 78 hours) and more share one overflow
	// bucket, the last. The exact maximum is tracked separately, so even
	// they are reported faithfully as the 100th percentile.
	maxExp  = 47
	buckets = (maxExp-subBits+2)*sub + 1
)

// bucket is the bucket index of a latency in ns (v >= 0).
func bucket(v int64) int {
	if v < sub {
		return int(v)
	}
	exp := bits.Len64(uint64(v)) - 1
	if exp > maxExp {
		return buckets - 1
	}
	mantissa := int(v>>(exp-subBits)) & (sub - 1)
	return (exp-subBits+1)*sub + mantissa
}

// bucketHigh is the largest latency that falls in bucket i. Reporting
// the upper edge means a percentile is never under-reported: the value
// shown is at least the true one and at most 1/32 above it.
func bucketHigh(i int) int64 {
	if i < sub {
		return int64(i)
	}
	if i == buckets-1 {
		return math.MaxInt64
	}
	exp := i/sub + subBits - 1
	mantissa := int64(i % sub)
	shift := exp - subBits
	low := (int64(sub) + mantissa) << shift
	return low + int64(1)<<shift - 1
}

// histogram is a plain (non-atomic) sum of recorder windows: the
// scratch a stats request merges a channel, or all of a topic's channels,
// into before reading percentiles.
type histogram struct {
	counts [buckets]uint64
	total  uint64
	max    int64
}

func (h *histogram) reset() {
	clear(h.counts[:])
	h.total = 0
	h.max = 0
}

// quantile is the nearest-rank percentile q in (0, 1]: the smallest
// recorded latency with at least q of the samples at or below it, read as
// its bucket's upper edge and capped by the exact maximum.
func (h *histogram) quantile(q float64) float64 {
	if h.total == 0 {
		return 0
	}
	// The small tolerance keeps 0.99*100 (98.99999...) at rank 99 rather
	// than letting a float artefact push it down a rank.
	rank := uint64(math.Ceil(q*float64(h.total) - 1e-9))
	rank = min(max(rank, 1), h.total)
	var seen uint64
	for i, c := range h.counts {
		seen += c
		if seen >= rank {
			return float64(min(bucketHigh(i), h.max))
		}
	}
	return float64(h.max)
}

// stats renders the histogram as /stats reports it, one entry per
// configured percentile in the configured (descending) order.
func (h *histogram) stats(percentiles []float64) Summary {
	out := Summary{
		Count:       int(h.total),
		Percentiles: make([]Percentile, len(percentiles)),
	}
	for i, q := range percentiles {
		out.Percentiles[i] = Percentile{Quantile: q, Value: h.quantile(q)}
	}
	return out
}
