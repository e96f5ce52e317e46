package nsqd

import (
	"bufio"
	"encoding/binary"
	"io"
	"net"
	"testing"
	"time"

	"github.com/golang/snappy"
	"github.com/klauspost/compress/flate"
	"github.com/nsqgo/nsq/internal/protocol"
	"github.com/stretchr/testify/require"
)

// Delivery throughput over a compressed stream, to set against
// BenchmarkConsume (bench_test.go), which is the same over a plain one.

// consumeCompressed is consumeAll over a stream IDENTIFY switched to
// compression: encode wraps the socket for writing, decode for reading.
func consumeCompressed(b *testing.B, n *NSQD, identify string, count int,
	encode func(io.Writer) flushWriter, decode func(io.Reader) io.Reader) {
	conn, err := net.Dial("tcp", n.RealTCPAddr().String())
	require.NoError(b, err)
	defer conn.Close()
	conn.SetDeadline(time.Now().Add(time.Minute))
	conn.Write(append([]byte(protocol.MagicV2), command("IDENTIFY", []byte(identify))...))
	raw := bufio.NewReader(conn)
	var head [8]byte
	if _, err := io.ReadFull(raw, head[:]); err != nil {
		b.Fatal(err)
	}
	raw.Discard(int(binary.BigEndian.Uint32(head[:4])) - 4) // the JSON reply

	reader := bufio.NewReaderSize(decode(raw), 64*1024)
	writer := encode(conn)
	readFrame := func(buf []byte) (int32, []byte) {
		if _, err := io.ReadFull(reader, head[:]); err != nil {
			b.Fatal(err)
		}
		data := buf[:binary.BigEndian.Uint32(head[:4])-4]
		if _, err := io.ReadFull(reader, data); err != nil {
			b.Fatal(err)
		}
		return int32(binary.BigEndian.Uint32(head[4:])), data
	}
	buf := make([]byte, 4096)
	if _, data := readFrame(buf); string(data) != "OK" {
		b.Fatalf("upgrade answered %q", data)
	}
	writer.Write([]byte("SUB bench ch\nRDY 2500\n"))
	writer.Flush()
	fin := []byte("FIN 0123456789abcdef\n")
	for got := 0; got < count; {
		frameType, data := readFrame(buf)
		if frameType != protocol.FrameTypeMessage {
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

func benchmarkConsumeCompressed(b *testing.B, identify string,
	encode func(io.Writer) flushWriter, decode func(io.Reader) io.Reader) {
	n := startDaemon(b, func(o *Options) { o.MemQueueSize = 100_000_000; o.Logger = io.Discard })
	topic, _ := n.GetTopic("bench")
	topic.GetChannel("ch")
	const batch = 200
	batches := (b.N + batch - 1) / batch
	publishBatches(b, n, "bench", batches, batch, 200)
	b.SetBytes(200)
	b.ReportAllocs()
	b.ResetTimer()
	consumeCompressed(b, n, identify, batches*batch, encode, decode)
}

func BenchmarkConsumeSnappy(b *testing.B) {
	benchmarkConsumeCompressed(b, `{"feature_negotiation":true,"snappy":true}`,
		func(w io.Writer) flushWriter { return snappy.NewBufferedWriter(w) },
		func(r io.Reader) io.Reader { return snappy.NewReader(r) })
}

func BenchmarkConsumeDeflate(b *testing.B) {
	benchmarkConsumeCompressed(b, `{"feature_negotiation":true,"deflate":true,"deflate_level":1}`,
		func(w io.Writer) flushWriter { fw, _ := flate.NewWriter(w, 1); return fw },
		func(r io.Reader) io.Reader { return flate.NewReader(r) })
}
