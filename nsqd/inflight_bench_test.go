package nsqd

import (
	"io"
	"syscall"
	"testing"
)

// processCPU is the process's user + system CPU time in ns. On a machine
// shared with other jobs wall time per op swings several-fold with their
// load; CPU time per op does not, so the benchmarks report both.
func processCPU(b *testing.B) int64 {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		b.Fatal(err)
	}
	return ru.Utime.Nano() + ru.Stime.Nano()
}

// BenchmarkInFlightDeliverThenFinish is a consumer's in-flight bookkeeping
// per message at RDY 2500: batches of 100 delivered (add), each FIN'd
// (remove) a window of 2500 later, in delivery order ("ordered") or with
// every batch finished back to front ("shuffled"), as concurrent handlers
// answer. One op is one message delivered and finished.
func BenchmarkInFlightDeliverThenFinish(b *testing.B) {
	for _, order := range []string{"ordered", "shuffled"} {
		b.Run(order, func(b *testing.B) {
			const batch, window = 100, 2500
			var f inFlight
			// IDs come round again long after they were finished.
			const pool = 164 * batch
			ids := testMessages(pool, 1<<40)
			finished := 0
			b.ReportAllocs()
			b.ResetTimer()
			cpu := processCPU(b)
			for delivered := 0; delivered < b.N; delivered += batch {
				start := delivered % pool
				msgs := ids[start : start+min(batch, b.N-delivered)]
				f.add(msgs, int64(delivered), 1<<40)
				for finished+window <= delivered+len(msgs) {
					end := min(finished+batch, b.N)
					if order == "ordered" {
						for i := finished; i < end; i++ {
							f.remove(ids[i%pool].ID)
						}
					} else {
						for i := end - 1; i >= finished; i-- {
							f.remove(ids[i%pool].ID)
						}
					}
					finished = end
				}
			}
			b.ReportMetric(float64(processCPU(b)-cpu)/float64(b.N), "cpu-ns/op")
		})
	}
}

// BenchmarkConsumeCPU is BenchmarkConsume (a channel filled by MPUBs of 200,
// then drained by one consumer at RDY 2500 FINning each message, batched per
// read) reporting the process's CPU per message as well: the in-flight table
// and the FIN's latency recording are in this path. The consumer runs in the
// same process, so cpu-ns/op includes its work too.
func BenchmarkConsumeCPU(b *testing.B) {
	n := startDaemon(b, func(o *Options) { o.MemQueueSize = 100_000_000; o.Logger = io.Discard })
	topic, _ := n.GetTopic("bench")
	topic.GetChannel("ch")
	const batch = 200
	batches := (b.N + batch - 1) / batch
	publishBatches(b, n, "bench", batches, batch, 200)
	b.ReportAllocs()
	b.ResetTimer()
	cpu := processCPU(b)
	consumeAll(b, n, "bench", "ch", batches*batch)
	b.ReportMetric(float64(processCPU(b)-cpu)/float64(batches*batch), "cpu-ns/op")
}
