package nsqd

import (
	"fmt"
	"io"
	"runtime"
	"sync"
	"testing"
)

// put queues msgs in c as its topic's fan-out does, from the topic's
// records (tests publish to a channel directly).
func (c *Channel) put(msgs []Message) error {
	t, err := c.nsqd.GetExistingTopic(c.topicName)
	if err != nil {
		return err
	}
	shared := t.records.Copy(msgs)
	defer shared.Release()
	_, err = c.putShared(shared)
	return err
}

// fanoutChannels are the channels of compare.sh's fan-out shape.
var fanoutChannels = []string{"metrics", "spam_analysis", "archive"}

// BenchmarkPublishFanout is BenchmarkPublish with the fan-out shape's three
// channels on the topic: MPUBs of 200 messages of 200 bytes over a socket,
// each message queued in every channel. One op is one message published.
func BenchmarkPublishFanout(b *testing.B) {
	n := startDaemon(b, func(o *Options) { o.MemQueueSize = 100_000_000; o.Logger = io.Discard })
	topic, _ := n.GetTopic("clicks")
	for _, name := range fanoutChannels {
		topic.GetChannel(name)
	}
	const batch = 200
	b.SetBytes(200)
	b.ReportAllocs()
	b.ResetTimer()
	publishBatches(b, n, "clicks", (b.N+batch-1)/batch, batch, 200)
}

// BenchmarkTopicFanOutPutTake is the fan-out part of the hot path with no
// socket: a batch of 200 messages published to a topic with three channels,
// then taken in batches and finished from each. One op is one message
// published (and delivered three times).
func BenchmarkTopicFanOutPutTake(b *testing.B) {
	n := startDaemon(b, func(o *Options) { o.MemQueueSize = 100_000_000; o.Logger = io.Discard })
	topic, _ := n.GetTopic("clicks")
	var channels []*Channel
	for _, name := range fanoutChannels {
		c, _ := topic.GetChannel(name)
		channels = append(channels, c)
	}
	const batch = 200
	msgs := make([]Message, batch)
	body := make([]byte, 200)
	taker := &client{}
	dst := make([]Message, 0, maxDeliveryBatch)
	b.SetBytes(200)
	b.ReportAllocs()
	b.ResetTimer()
	// The whole process's CPU: the collection of what a batch leaves
	// behind runs on other goroutines (inflight_bench_test.go).
	cpu := processCPU(b)
	defer func() { b.ReportMetric(float64(processCPU(b)-cpu)/float64(b.N), "cpu-ns/op") }()
	for done := 0; done < b.N; done += batch {
		for i := range msgs {
			msgs[i] = Message{Body: body}
		}
		if err := topic.PutMessages(msgs); err != nil {
			b.Fatal(err)
		}
		for _, ch := range channels {
			for got := 0; got < batch; {
				dst, _ = ch.take(dst[:0], maxDeliveryBatch, taker)
				now := ch.now() // one clock read per batch, as a FIN per socket read
				for i := range dst {
					ch.finished(&dst[i], now)
				}
				got += len(dst)
				clear(dst)
			}
		}
	}
}

// BenchmarkPublishChannels publishes MPUBs of 200 messages of 200 bytes
// over a socket to a topic with 1, 3 or 10 channels, nobody consuming, as
// compare.sh's memory and fan-out shapes do. Besides ns/op it reports the
// daemon's CPU per message published (cpu-ns/op, the whole process) and
// the heap the queued messages keep (heap-B/msg, after a collection).
func BenchmarkPublishChannels(b *testing.B) {
	for _, channels := range []int{1, 3, 10} {
		b.Run(fmt.Sprintf("channels=%d", channels), func(b *testing.B) {
			n := startDaemon(b, func(o *Options) { o.MemQueueSize = 100_000_000; o.Logger = io.Discard })
			topic, _ := n.GetTopic("clicks")
			for i := 0; i < channels; i++ {
				topic.GetChannel(fmt.Sprintf("c%d", i))
			}
			const batch = 200
			var before runtime.MemStats
			runtime.GC()
			runtime.ReadMemStats(&before)
			b.SetBytes(200)
			b.ReportAllocs()
			b.ResetTimer()
			cpu := processCPU(b) // inflight_bench_test.go
			publishBatches(b, n, "clicks", (b.N+batch-1)/batch, batch, 200)
			cpu = processCPU(b) - cpu
			b.StopTimer()
			var after runtime.MemStats
			runtime.GC()
			runtime.ReadMemStats(&after)
			b.ReportMetric(float64(cpu)/float64(b.N), "cpu-ns/op")
			b.ReportMetric(float64(int64(after.HeapAlloc)-int64(before.HeapAlloc))/float64(b.N), "heap-B/msg")
		})
	}
}

// BenchmarkPublishFanoutDisk is the fan-out shape once the channels' memory
// is full: MPUBs of 200 messages of 200 bytes from two connections at once
// (one for publishers=1, as compare.sh's bench_writer), to a topic with three channels and
// --mem-queue-size=0, so that every channel writes every message to its
// own disk queue (and fsyncs every --sync-every records). One op is one
// message published; cpu-ns/op is the whole process's CPU per message.
func BenchmarkPublishFanoutDisk(b *testing.B) {
	for _, shape := range []struct {
		name       string
		batch      int
		syncEvery  int64
		publishers int
		fanoutLog  bool // --fanout-log: the batch written once, to the topic log
	}{
		{"batch=200", 200, 0, 2, false},
		{"batch=1", 1, 0, 2, false},
		// Every batch fsyncs every channel's queue: what the overlap of
		// the channels' fdatasyncs saves, alone.
		{"batch=200/sync=every-batch", 200, 200, 2, false},
		// The ceiling: no fsync but at a segment's end.
		{"batch=200/sync=rarely", 200, 1 << 40, 2, false},
		// compare.sh's fan-out shape past its memory: one publisher
		// waiting for each MPUB's answer.
		{"batch=200/publishers=1", 200, 0, 1, false},
		{"batch=200/fanout-log", 200, 0, 2, true},
		{"batch=200/publishers=1/fanout-log", 200, 0, 1, true},
	} {
		batch := shape.batch
		b.Run(shape.name, func(b *testing.B) {
			n := startDaemon(b, func(o *Options) {
				o.MemQueueSize = 0
				o.Logger = io.Discard
				o.FanoutLog = shape.fanoutLog
				if shape.syncEvery > 0 {
					o.SyncEvery = shape.syncEvery
				}
			})
			topic, _ := n.GetTopic("clicks")
			for _, name := range fanoutChannels {
				topic.GetChannel(name)
			}
			publishers := shape.publishers
			batches := (b.N + batch - 1) / batch
			b.SetBytes(200)
			b.ReportAllocs()
			b.ResetTimer()
			cpu := processCPU(b)
			var wg sync.WaitGroup
			for p := 0; p < publishers; p++ {
				share := batches / publishers
				if p == 0 {
					share += batches % publishers
				}
				wg.Add(1)
				go func() {
					defer wg.Done()
					publishBatches(b, n, "clicks", share, batch, 200)
				}()
			}
			wg.Wait()
			b.StopTimer()
			b.ReportMetric(float64(processCPU(b)-cpu)/float64(b.N), "cpu-ns/op")
		})
	}
}
