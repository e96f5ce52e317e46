package nsqd

import (
	"fmt"
	"io"
	"sync"
	"testing"
	"time"
)

// BenchmarkPublishDiskWriterShape is the publish phase of bench/compare.sh's
// disk shape in-process: MPUBs of 200 messages of 200 bytes, each
// connection waiting for the OK of one before it sends the next (as
// upstream's bench_writer, which has two connections), one channel and
// --mem-queue-size=0, so every message is written to the channel's disk
// queue and fsynced every --sync-every records. One op is one message.
// cpu-ns/op is the whole process's CPU per message (the publishers'
// included: the same in an A/B comparison), us/batch the time one
// connection waits for its OK, from sending an MPUB to reading the
// answer (README, "Disk phase: one publish batch's round trip").
func BenchmarkPublishDiskWriterShape(b *testing.B) {
	for _, publishers := range []int{1, 2} {
		b.Run(fmt.Sprintf("publishers=%d", publishers), func(b *testing.B) {
			n := startDaemon(b, func(o *Options) { o.MemQueueSize = 0; o.Logger = io.Discard })
			topic, _ := n.GetTopic("bench")
			topic.GetChannel("ch")
			const batch = 200
			batches := (b.N + batch - 1) / batch
			b.SetBytes(200)
			b.ReportAllocs()
			b.ResetTimer()
			cpu := processCPU(b)
			start := time.Now()
			var wg sync.WaitGroup
			for p := 0; p < publishers; p++ {
				share := batches / publishers
				if p == 0 {
					share += batches % publishers
				}
				wg.Add(1)
				go func() {
					defer wg.Done()
					publishBatches(b, n, "bench", share, batch, 200)
				}()
			}
			wg.Wait()
			elapsed := time.Since(start)
			b.StopTimer()
			b.ReportMetric(float64(processCPU(b)-cpu)/float64(b.N), "cpu-ns/op")
			b.ReportMetric(float64(elapsed.Microseconds())*float64(publishers)/float64(batches), "us/batch")
		})
	}
}
