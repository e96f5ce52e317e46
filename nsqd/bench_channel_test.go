package nsqd

import (
	"io"
	"testing"
	"time"

	"github.com/nsqgo/nsq/internal/protocol"
)

// BenchmarkChannelPutTake is the channel's own part of the hot path, with
// no socket: a batch of 200 messages put, then taken in batches and
// finished. One op is one message.
func BenchmarkChannelPutTake(b *testing.B) {
	n := startDaemon(b, func(o *Options) { o.MemQueueSize = 100_000_000; o.Logger = io.Discard })
	topic, _ := n.GetTopic("bench")
	ch, _ := topic.GetChannel("ch")
	const batch = 200
	msgs := make([]Message, batch)
	body := make([]byte, 200)
	for i := range msgs {
		msgs[i] = Message{Body: body, Timestamp: time.Now().UnixNano()}
		protocol.FormatID(uint64(i), &msgs[i].ID)
	}
	taker := &client{}
	dst := make([]Message, 0, maxDeliveryBatch)
	b.SetBytes(200)
	b.ReportAllocs()
	b.ResetTimer()
	for done := 0; done < b.N; done += batch {
		if err := ch.put(msgs); err != nil {
			b.Fatal(err)
		}
		for got := 0; got < batch; {
			dst, _ = ch.take(dst[:0], maxDeliveryBatch, taker)
			for i := range dst {
				ch.finished(&dst[i], ch.now())
			}
			got += len(dst)
			clear(dst)
		}
	}
}
