package nsqd

import (
	"fmt"
	"io"
	"sync"
	"testing"
)

// BenchmarkPublishTopics is compare.sh's topics shape in-process: 100
// topics with a channel each, nobody consuming, and one connection per
// topic publishing MPUBs of 200 messages of 200 bytes, each waiting for its
// OK. One op is one message; cpu-ns/op is the whole process's CPU per
// message (the publishers' included, which no change of the daemon moves).
func BenchmarkPublishTopics(b *testing.B) {
	const topics, batch = 100, 200
	n := startDaemon(b, func(o *Options) { o.MemQueueSize = 100_000_000; o.Logger = io.Discard })
	for i := range topics {
		topic, err := n.GetTopic(fmt.Sprintf("t%d", i))
		if err != nil {
			b.Fatal(err)
		}
		if _, err := topic.GetChannel("ch"); err != nil {
			b.Fatal(err)
		}
	}
	batches := (b.N + batch*topics - 1) / (batch * topics) // per connection
	b.SetBytes(200)
	b.ReportAllocs()
	b.ResetTimer()
	cpu := processCPU(b) // inflight_bench_test.go
	var wg sync.WaitGroup
	for i := range topics {
		wg.Add(1)
		go func() {
			defer wg.Done()
			publishBatches(b, n, fmt.Sprintf("t%d", i), batches, batch, 200)
		}()
	}
	wg.Wait()
	cpu = processCPU(b) - cpu
	b.StopTimer()
	b.ReportMetric(float64(cpu)/float64(batches*batch*topics), "cpu-ns/op")
}
