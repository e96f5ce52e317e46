package nsqd

import (
	"io"
	"testing"
)

// BenchmarkPublishDisk is BenchmarkPublish through disk
// (--mem-queue-size=0): every message is written to the channel's backlog
// (and the topic hands it over at once). One op is one message.
func BenchmarkPublishDisk(b *testing.B) {
	n := startDaemon(b, func(o *Options) { o.MemQueueSize = 0; o.Logger = io.Discard })
	topic, _ := n.GetTopic("bench")
	topic.GetChannel("ch")
	const batch = 200
	b.SetBytes(200)
	b.ReportAllocs()
	b.ResetTimer()
	publishBatches(b, n, "bench", (b.N+batch-1)/batch, batch, 200)
}

// BenchmarkConsumeDisk is BenchmarkConsume through disk: the channel's
// backlog is filled first, then read, delivered and FIN'd.
func BenchmarkConsumeDisk(b *testing.B) {
	n := startDaemon(b, func(o *Options) { o.MemQueueSize = 0; o.Logger = io.Discard })
	topic, _ := n.GetTopic("bench")
	topic.GetChannel("ch")
	const batch = 200
	batches := (b.N + batch - 1) / batch
	publishBatches(b, n, "bench", batches, batch, 200)
	b.SetBytes(200)
	b.ReportAllocs()
	b.ResetTimer()
	consumeAll(b, n, "bench", "ch", batches*batch)
}

// BenchmarkConsumeDisk64K is BenchmarkConsumeDisk with 64 KB bodies (MPUB
// batches of 50), records larger than the small read slabs
// (internal/diskqueue/readmem.go). One op is one message.
func BenchmarkConsumeDisk64K(b *testing.B) {
	n := startDaemon(b, func(o *Options) { o.MemQueueSize = 0; o.Logger = io.Discard })
	topic, _ := n.GetTopic("bench")
	topic.GetChannel("ch")
	const batch, size = 50, 64 << 10
	batches := (b.N + batch - 1) / batch
	publishBatches(b, n, "bench", batches, batch, size)
	b.SetBytes(size)
	b.ReportAllocs()
	b.ResetTimer()
	consumeAll(b, n, "bench", "ch", batches*batch)
}
