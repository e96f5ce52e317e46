package nsqd

import (
	"io"
	"testing"
)

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
