package nsqd

// deadStatsd sends a channel's dead-path keys (channel_dead.go) as statsd
// lines, named as in /stats: dead_count a gauge, the rest counters sent as
// deltas. Only for a channel whose dead path is on (DeadCount set), so
// that with every rule off the packets are upstream's.
func (m *statsdMetrics) deadStatsd(base string, now, last DeadStats) {
	if now.DeadCount == nil {
		return
	}
	m.gauge(*now.DeadCount, base, ".dead_count")
	m.counter(counterDelta(now.DeadLetteredMaxAttempts, last.DeadLetteredMaxAttempts), base, ".dead_lettered_max_attempts_count")
	m.counter(counterDelta(now.DeadLetteredExpired, last.DeadLetteredExpired), base, ".dead_lettered_expired_count")
	m.counter(counterDelta(now.DeadLetteredOverflow, last.DeadLetteredOverflow), base, ".dead_lettered_overflow_count")
	m.counter(counterDelta(now.ExpiredCount, last.ExpiredCount), base, ".expired_count")
	m.counter(counterDelta(now.DeadDroppedCount, last.DeadDroppedCount), base, ".dead_dropped_count")
}
