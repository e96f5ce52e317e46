package nsqd

import (
	"testing"
	"time"

	"github.com/nsqgo/nsq/internal/clock"
	"github.com/nsqgo/nsq/nsqd/metrics/e2e"
)

// benchChannel is a channel with only what FIN's latency hook touches.
func benchChannel() *Channel {
	return &Channel{
		nsqd:    &NSQD{clock: clock.Real()},
		latency: finLatency{window: e2e.NewRecorder(int64(5 * time.Minute))},
	}
}

// BenchmarkE2ERecord is the per-FIN cost of latency tracking: one atomic
// add and a maximum check (the FIN's time is read by the connection, once
// per socket read: v2Session.finTime). The parallel variant is many
// consumers of one channel FINning at once.
func BenchmarkE2ERecord(b *testing.B) {
	b.Run("serial", func(b *testing.B) {
		c := benchChannel()
		published := time.Now().UnixNano()
		b.ReportAllocs()
		for b.Loop() {
			c.recordE2E(published, published+int64(time.Millisecond))
		}
	})
	b.Run("parallel", func(b *testing.B) {
		c := benchChannel()
		published := time.Now().UnixNano()
		b.ReportAllocs()
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				c.recordE2E(published, published+int64(time.Millisecond))
			}
		})
	})
}

// The FIN path must not allocate per message, with tracking on or off.
func TestE2ERecordDoesNotAllocate(t *testing.T) {
	published := time.Now().UnixNano()
	for name, c := range map[string]*Channel{"tracking": benchChannel(), "off": {}} {
		if allocs := testing.AllocsPerRun(1000, func() { c.recordE2E(published, published+int64(time.Millisecond)) }); allocs != 0 {
			t.Errorf("%s: %v allocations per FIN", name, allocs)
		}
	}
}
