package nsqd

import (
	"testing"
	"time"

	"github.com/nsqgo/nsq/internal/clock"
	"github.com/nsqgo/nsq/nsqd/metrics/e2e"
	"github.com/nsqgo/nsq/nsqd/metrics/prometheus"
	"github.com/stretchr/testify/require"
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

// A connection's runs of FINs count exactly what recording each FIN does,
// in both recorders, once flushed, and nothing before.
func TestLatencyRunCountsWhatEachFINWould(t *testing.T) {
	newChannel := func() *Channel {
		c := benchChannel()
		c.latency.histogram = prometheus.NewHistogram(prometheus.E2ELatencyBounds)
		return c
	}
	direct, batched := newChannel(), newChannel()
	base := time.Now().UnixNano()
	var run latencyRun
	for i, f := range []struct{ published, now int64 }{
		{base, base + 5e9}, {base, base + 5e9}, {base, base + 5e9}, // one MPUB in one read
		{base + 1, base + 5e9},                         // another batch
		{base + 1, base + 6e9}, {base + 1, base + 6e9}, // the same batch, a later read
		{base + 9e9, base + 6e9}, // clocks that disagree
	} {
		direct.recordE2E(f.published, f.now)
		run.add(batched, f.published, f.now)
		if i == 2 {
			require.Zero(t, batched.latency.histogram.Count(), "a run is counted when flushed")
		}
	}
	run.flush()
	require.Equal(t, direct.latency.histogram, batched.latency.histogram)
	require.Equal(t, direct.latency.window, batched.latency.window)
	require.Equal(t, uint64(7), batched.latency.histogram.Count())
	run.flush()
	require.Equal(t, uint64(7), batched.latency.histogram.Count(), "a flushed run is not counted twice")
}

// FINs are counted before the daemon answers anything sent after them, so
// a client that sees a response can rely on its FINs being in /stats.
func TestE2EFINsAreCountedBeforeTheNextResponse(t *testing.T) {
	n := startDaemon(t, func(o *Options) { o.E2EProcessingLatencyPercentiles = []float64{1} })
	publish(t, n, "t", "a", "b", "c")
	consumer := dialV2(t, n)
	consumer.subscribe("t", "c")
	consumer.send("RDY 3")
	msgs := consumer.readMessages(3)
	var burst []byte
	for _, m := range msgs {
		burst = append(burst, "FIN "+string(m.ID[:])+"\n"...)
	}
	consumer.sendRaw(append(burst, "FIN 0000000000000000\n"...)) // one read, ending in a failing FIN
	consumer.expectError("E_FIN_FAILED FIN 0000000000000000 failed ID not in flight")
	require.Equal(t, 3, channelStats(t, getStats(t, n, ""), "t", "c").E2eProcessingLatency.Count)
}
