package nsqd

// boundStatsd sends a topic's or channel's bound counters (stats_bound.go)
// as statsd counters (deltas), named as in /stats. Only once one of them is
// non-zero, so that with every bound off the packets are upstream's.
func (m *statsdMetrics) boundStatsd(base string, now, last QueueBounds) {
	if now == (QueueBounds{}) {
		return
	}
	m.counter(counterDelta(now.RejectedMaxDepthCount, last.RejectedMaxDepthCount), base, ".rejected_max_depth_count")
	m.counter(counterDelta(now.RejectedMaxBytesCount, last.RejectedMaxBytesCount), base, ".rejected_max_bytes_count")
	m.counter(counterDelta(now.OverflowDroppedCount, last.OverflowDroppedCount), base, ".overflow_dropped_count")
	if now.RedrivenCount+now.DeadEmptiedCount+last.RedrivenCount+last.DeadEmptiedCount > 0 {
		m.counter(counterDelta(now.RedrivenCount, last.RedrivenCount), base, ".redriven_count")
		m.counter(counterDelta(now.DeadEmptiedCount, last.DeadEmptiedCount), base, ".dead_emptied_count")
	}
}
