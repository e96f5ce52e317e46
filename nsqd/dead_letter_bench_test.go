package nsqd

import (
	"io"
	"testing"
	"time"
)

// BenchmarkPublishThenConsumeDeadPathOn is BenchmarkPublishThenConsume
// with --max-attempts and --msg-ttl set and nothing dying: what checking
// the two rules on every message costs. Compare the two in one run:
//
//	go test -run '^$' -bench 'BenchmarkPublishThenConsume' -count 5 ./nsqd/
func BenchmarkPublishThenConsumeDeadPathOn(b *testing.B) {
	n := startDaemon(b, func(o *Options) {
		o.MemQueueSize = 100_000_000
		o.Logger = io.Discard
		o.MaxAttempts = 10
		o.MsgTTL = time.Hour
	})
	topic, _ := n.GetTopic("bench")
	topic.GetChannel("ch")
	const batch = 200
	batches := (b.N + batch - 1) / batch
	b.SetBytes(200)
	b.ReportAllocs()
	b.ResetTimer()
	publishBatches(b, n, "bench", batches, batch, 200)
	consumeAll(b, n, "bench", "ch", batches*batch)
}
