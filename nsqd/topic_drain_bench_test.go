package nsqd

import (
	"fmt"
	"io"
	"runtime"
	"slices"
	"testing"
	"time"

	"github.com/nsqgo/nsq/internal/diskqueue"
	"github.com/nsqgo/nsq/nsqd/queue"
	"github.com/stretchr/testify/require"
)

// slowReads is a topic's disk queue whose reads take readDelay longer: a
// cold page cache or a busy device. Writes go straight through.
type slowReads struct {
	queue.Disk
	readDelay time.Duration
}

func (s slowReads) Read(max int) ([]diskqueue.Record, error) {
	time.Sleep(s.readDelay)
	return s.Disk.Read(max)
}

// BenchmarkPublisherWhileTopicDrains measures what a topic's disk backlog
// being handed to its channel costs a publisher of the same topic. Each
// iteration builds a topic with a disk backlog and no channel, then creates
// a channel (which starts the drain) and publishes batches while the drain
// reads (up to maxBatches); then, the drained topic deleted, it publishes
// as many batches to a fresh topic with one channel and no backlog. The consumer of the channel takes nothing: the drain is the
// only reader of the topic's disk. Reported, over all iterations:
// draining-msgs/s, idle-msgs/s and their ratio (1.0: the publisher does
// not notice the drain), and p50-ratio, the same ratio from the median
// duration of one publish.
//
// "disk" reads the real disk queue (page cache); "slowdisk" adds 1 ms to
// every read of the topic's backend, as a cold cache or a busy device would.
//
//	go test -run '^$' -bench PublisherWhileTopicDrains -benchtime 3x ./nsqd/
func BenchmarkPublisherWhileTopicDrains(b *testing.B) {
	for _, shape := range []struct {
		name      string
		readDelay time.Duration
	}{{"disk", 0}, {"slowdisk", time.Millisecond}} {
		b.Run(shape.name, func(b *testing.B) {
			benchPublisherWhileTopicDrains(b, shape.readDelay)
		})
	}
}

func benchPublisherWhileTopicDrains(b *testing.B, readDelay time.Duration) {
	const (
		backlog   = 500_000
		fillBatch = 1000
		pubBatch  = 100
		// maxBatches bounds a phase, so that both phases add about as
		// much to the channel's memory (and to the heap the collector
		// scans) whatever the speed of either side.
		maxBatches = 2000
	)
	n := startDaemon(b, func(o *Options) {
		o.Logger = io.Discard
		o.MemQueueSize = 0
	})
	body := make([]byte, 64)
	fill := make([]Message, fillBatch)
	msgs := make([]Message, pubBatch)
	for i := range fill {
		fill[i].Body = body
	}
	for i := range msgs {
		msgs[i].Body = body
	}
	var drainingMsgs, idleMsgs int
	var drainingTime, idleTime time.Duration
	var drainingBatch, idleBatch []time.Duration // each publish's duration
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		b.StopTimer()
		// Nothing runs on this daemon between iterations, so the bound
		// can be set directly: zero while the backlog is written (all of
		// it goes to the topic's disk), then high enough that the
		// channel keeps everything in memory and the drain's only disk
		// I/O is its read.
		n.opts.MemQueueSize = 0
		topic, err := n.GetTopic(fmt.Sprintf("a%d", i))
		require.NoError(b, err)
		if readDelay > 0 {
			swapTopicBackend(topic, func(q queue.Disk) queue.Disk { return slowReads{q, readDelay} })
		}
		for j := 0; j < backlog/fillBatch; j++ {
			require.NoError(b, topic.PutMessages(fill))
		}
		require.EqualValues(b, backlog, topic.BackendDepth())
		n.opts.MemQueueSize = 1 << 30
		b.StartTimer()

		_, err = topic.GetChannel("slow")
		require.NoError(b, err)
		start := time.Now()
		batches := 0
		for batches < maxBatches && topic.BackendDepth() > 0 {
			t0 := time.Now()
			require.NoError(b, topic.PutMessages(msgs))
			drainingBatch = append(drainingBatch, time.Since(t0))
			batches++
		}
		drainingTime += time.Since(start)
		drainingMsgs += batches * pubBatch
		if batches < 10 {
			b.Fatalf("the drain ended after %d batches: the backlog is too small to measure", batches)
		}

		b.StopTimer()
		waitFor(b, "the drain to end", func() bool {
			topic.mu.RLock()
			defer topic.mu.RUnlock()
			return !topic.draining && topic.BackendDepth() == 0
		})
		// The idle phase runs on a fresh topic once the drained one and
		// its channel's memory are gone: a heap the size of the backlog
		// would slow it (collection, fresh pages) for reasons other than
		// the drain, and flatter the ratio.
		require.NoError(b, n.DeleteExistingTopic(topic.Name()))
		runtime.GC()
		idleTopic, err := n.GetTopic(fmt.Sprintf("b%d", i))
		require.NoError(b, err)
		_, err = idleTopic.GetChannel("slow")
		require.NoError(b, err)
		b.StartTimer()
		start = time.Now()
		for j := 0; j < batches; j++ {
			t0 := time.Now()
			require.NoError(b, idleTopic.PutMessages(msgs))
			idleBatch = append(idleBatch, time.Since(t0))
		}
		idleTime += time.Since(start)
		idleMsgs += batches * pubBatch

		b.StopTimer()
		require.NoError(b, n.DeleteExistingTopic(idleTopic.Name()))
		runtime.GC()
		b.StartTimer()
	}
	draining := float64(drainingMsgs) / drainingTime.Seconds()
	idle := float64(idleMsgs) / idleTime.Seconds()
	b.ReportMetric(draining, "draining-msgs/s")
	b.ReportMetric(idle, "idle-msgs/s")
	b.ReportMetric(draining/idle, "ratio")
	// The median publish is steadier than the mean on a shared machine:
	// a publisher descheduled for a while moves the mean, not the median.
	b.ReportMetric(float64(median(idleBatch))/float64(median(drainingBatch)), "p50-ratio")
}

func median(d []time.Duration) time.Duration {
	slices.Sort(d)
	return d[len(d)/2]
}

// BenchmarkTopicHandOver measures what a topic that holds messages costs
// the first channel: each iteration holds heldMessages 200-byte messages
// on a topic with no channel (published in batches of 200, as upstream's
// bench_writer does), then times GetChannel (the SUB that creates the
// channel) and, for the disk shape, the drain that moves the topic's disk
// backlog to the channel's disk, until the topic holds nothing.
//
//   - memory: held in memory (--mem-queue-size above the count): the
//     hand-over under the topic's write lock, inside GetChannel.
//   - disk: held on disk (--mem-queue-size=0), moved to the channel's disk
//     by the drain.
//
// ns/msg, cpu-ns/msg (the process's user and system CPU time, so the
// drain's and the disk queues' goroutines count) and B/msg (the
// allocator's cumulative count) are per message held.
//
//	go test -run '^$' -bench TopicHandOver -benchmem -benchtime 5x ./nsqd/
func BenchmarkTopicHandOver(b *testing.B) {
	for _, shape := range []struct {
		name    string
		memSize int64
	}{{"memory", 1 << 30}, {"disk", 0}} {
		b.Run(shape.name, func(b *testing.B) {
			benchTopicHandOver(b, shape.memSize)
		})
	}
}

func benchTopicHandOver(b *testing.B, memSize int64) {
	const (
		heldMessages = 200_000
		batch        = 200
	)
	n := startDaemon(b, func(o *Options) {
		o.Logger = io.Discard
		o.MemQueueSize = memSize
	})
	body := make([]byte, 200)
	msgs := make([]Message, batch)
	var elapsed, cpu time.Duration
	var allocated uint64
	var before, after runtime.MemStats
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		b.StopTimer()
		topic, err := n.GetTopic(fmt.Sprintf("h%d", i))
		require.NoError(b, err)
		for j := 0; j < heldMessages/batch; j++ {
			for k := range msgs {
				msgs[k] = Message{Body: body}
			}
			require.NoError(b, topic.PutMessages(msgs))
		}
		require.EqualValues(b, heldMessages, topic.Depth())
		runtime.GC()
		runtime.ReadMemStats(&before)
		cpu0 := processCPU(b)
		b.StartTimer()
		start := time.Now()
		_, err = topic.GetChannel("c")
		require.NoError(b, err)
		for {
			topic.mu.RLock()
			done := !topic.draining && topic.Depth() == 0
			topic.mu.RUnlock()
			if done {
				break
			}
			time.Sleep(100 * time.Microsecond)
		}
		elapsed += time.Since(start)
		b.StopTimer()
		cpu += time.Duration(processCPU(b) - cpu0) // inflight_bench_test.go
		runtime.ReadMemStats(&after)
		allocated += after.TotalAlloc - before.TotalAlloc
		require.NoError(b, n.DeleteExistingTopic(topic.Name()))
		runtime.GC()
		b.StartTimer()
	}
	b.ReportMetric(float64(elapsed.Nanoseconds())/float64(b.N*heldMessages), "ns/msg")
	b.ReportMetric(float64(cpu.Nanoseconds())/float64(b.N*heldMessages), "cpu-ns/msg")
	b.ReportMetric(float64(allocated)/float64(b.N*heldMessages), "B/msg")
}
