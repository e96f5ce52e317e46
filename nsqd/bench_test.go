package nsqd

import (
	"bufio"
	"encoding/binary"
	"io"
	"net"
	"testing"
	"time"

	"github.com/nsqgo/nsq/internal/protocol"
	"github.com/stretchr/testify/require"
)

// mpubPayload builds one MPUB command of batch messages of size bytes.
func mpubPayload(topic string, batch, size int) []byte {
	body := make([]byte, size)
	for i := range body {
		body[i] = 'a' + byte(i%26)
	}
	inner := binary.BigEndian.AppendUint32(nil, uint32(batch))
	for i := 0; i < batch; i++ {
		inner = binary.BigEndian.AppendUint32(inner, uint32(size))
		inner = append(inner, body...)
	}
	cmd := []byte("MPUB " + topic + "\n")
	cmd = binary.BigEndian.AppendUint32(cmd, uint32(len(inner)))
	return append(cmd, inner...)
}

// publishBatches sends MPUBs one at a time, waiting for each OK, as
// upstream's bench_writer does.
func publishBatches(b *testing.B, n *NSQD, topic string, batches, batch, size int) {
	conn, err := net.Dial("tcp", n.RealTCPAddr().String())
	require.NoError(b, err)
	defer conn.Close()
	conn.Write([]byte(protocol.MagicV2))
	payload := mpubPayload(topic, batch, size)
	reader := bufio.NewReader(conn)
	var head [8]byte
	for i := 0; i < batches; i++ {
		if _, err := conn.Write(payload); err != nil {
			b.Fatal(err)
		}
		for {
			if _, err := io.ReadFull(reader, head[:]); err != nil {
				b.Fatal(err)
			}
			data := make([]byte, binary.BigEndian.Uint32(head[:4])-4)
			io.ReadFull(reader, data)
			if string(data) == "OK" {
				break
			}
			if binary.BigEndian.Uint32(head[4:]) == uint32(protocol.FrameTypeError) {
				b.Fatalf("publish failed: %s", data)
			}
		}
	}
}

// consumeAll reads count messages, FINing each, batching FINs per read.
func consumeAll(b *testing.B, n *NSQD, topic, channel string, count int) {
	conn, err := net.Dial("tcp", n.RealTCPAddr().String())
	require.NoError(b, err)
	defer conn.Close()
	conn.Write([]byte(protocol.MagicV2 + "SUB " + topic + " " + channel + "\nRDY 2500\n"))
	reader := bufio.NewReaderSize(conn, 64*1024)
	writer := bufio.NewWriterSize(conn, 64*1024)
	var head [8]byte
	buf := make([]byte, 4096)
	fin := []byte("FIN 0123456789abcdef\n")
	conn.SetReadDeadline(time.Now().Add(time.Minute))
	for got := 0; got < count; {
		if _, err := io.ReadFull(reader, head[:]); err != nil {
			b.Fatal(err)
		}
		size := int(binary.BigEndian.Uint32(head[:4])) - 4
		if size > len(buf) {
			buf = make([]byte, size)
		}
		data := buf[:size]
		io.ReadFull(reader, data)
		if binary.BigEndian.Uint32(head[4:]) != uint32(protocol.FrameTypeMessage) {
			continue
		}
		copy(fin[4:20], data[10:26])
		writer.Write(fin)
		got++
		if reader.Buffered() < 8 {
			writer.Flush()
		}
	}
	writer.Flush()
}

// BenchmarkPublishThenConsume is the in-process shape of bench.sh: MPUBs of
// 200 messages of 200 bytes, then one consumer FINs them all. One op is one
// message.
func BenchmarkPublishThenConsume(b *testing.B) {
	n := startDaemon(b, func(o *Options) { o.MemQueueSize = 100_000_000; o.Logger = io.Discard })
	topic, _ := n.GetTopic("bench")
	topic.GetChannel("ch")
	const batch = 200
	batches := (b.N + batch - 1) / batch
	b.SetBytes(200)
	b.ReportAllocs()
	b.ResetTimer()
	publishBatches(b, n, "bench", batches, batch, 200)
	consumeAll(b, n, "bench", "ch", batches*batch)
}

// BenchmarkPublish measures the publish path alone.
func BenchmarkPublish(b *testing.B) {
	n := startDaemon(b, func(o *Options) { o.MemQueueSize = 100_000_000; o.Logger = io.Discard })
	topic, _ := n.GetTopic("bench")
	topic.GetChannel("ch")
	const batch = 200
	b.SetBytes(200)
	b.ReportAllocs()
	b.ResetTimer()
	publishBatches(b, n, "bench", (b.N+batch-1)/batch, batch, 200)
}

// BenchmarkConsume measures delivery alone: the channel is filled first.
func BenchmarkConsume(b *testing.B) {
	n := startDaemon(b, func(o *Options) { o.MemQueueSize = 100_000_000; o.Logger = io.Discard })
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

// BenchmarkConsumeSizes measures delivery of 1 KB and 64 KB messages (the
// bench-compare shapes size1k and size64k): the channel is filled first.
func BenchmarkConsumeSizes(b *testing.B) {
	for _, shape := range []struct {
		name        string
		size, batch int
	}{{"1KB", 1 << 10, 200}, {"64KB", 64 << 10, 50}} {
		b.Run(shape.name, func(b *testing.B) {
			n := startDaemon(b, func(o *Options) { o.MemQueueSize = 100_000_000; o.Logger = io.Discard })
			topic, _ := n.GetTopic("bench")
			topic.GetChannel("ch")
			batches := (b.N + shape.batch - 1) / shape.batch
			publishBatches(b, n, "bench", batches, shape.batch, shape.size)
			b.SetBytes(int64(shape.size))
			b.ReportAllocs()
			b.ResetTimer()
			consumeAll(b, n, "bench", "ch", batches*shape.batch)
		})
	}
}
