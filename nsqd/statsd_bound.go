package nsqd

import "github.com/nsqgo/nsq/nsqd/metrics/statsd"

// statsdBounds is a topic's or channel's bound counters (stats_bound.go)
// for the statsd push, which sends them only once one is non-zero.
func statsdBounds(b QueueBounds) statsd.Bounds {
	return statsd.Bounds{
		RejectedMaxDepth: b.RejectedMaxDepthCount,
		RejectedMaxBytes: b.RejectedMaxBytesCount,
		OverflowDropped:  b.OverflowDroppedCount,
		Redriven:         b.RedrivenCount,
		DeadEmptied:      b.DeadEmptiedCount,
	}
}
