package nsqd

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/nsqgo/nsq/internal/protocol"
	"github.com/stretchr/testify/require"
)

// loopbackPair returns both ends of a TCP connection on 127.0.0.1.
func loopbackPair(t testing.TB) (server, peer net.Conn) {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	defer l.Close()
	accepted := make(chan net.Conn, 1)
	go func() {
		conn, _ := l.Accept()
		accepted <- conn
	}()
	peer, err = net.Dial("tcp", l.Addr().String())
	require.NoError(t, err)
	select {
	case server = <-accepted:
	case <-time.After(5 * time.Second):
		t.Fatal("no connection accepted")
	}
	require.NotNil(t, server)
	t.Cleanup(func() { server.Close(); peer.Close() })
	return server, peer
}

// writingClient is a client writing to conn the way newClient sets it up.
func writingClient(conn net.Conn) *client {
	c := &client{conn: conn, transport: conn, socket: newSocketIO(conn)}
	c.heartbeatInterval.Store(int64(30 * time.Second))
	c.deadlined = &deadlineConn{client: c}
	c.writer = bufio.NewWriterSize(c.deadlined, defaultBufferSize)
	return c
}

// mixedBatch is messages of sizes around the vectored threshold and the
// output buffer's size, each body a distinct pattern.
func mixedBatch(sizes []int) []Message {
	batch := make([]Message, len(sizes))
	for i, size := range sizes {
		body := make([]byte, size)
		for j := range body {
			body[j] = byte(i*31 + j*7)
		}
		batch[i] = Message{Body: body, Timestamp: int64(i) << 30, Attempts: uint16(i + 1)}
		protocol.FormatID(uint64(i)*977, &batch[i].ID)
	}
	return batch
}

// A batch mixing big and small bodies, after a response still in the
// output buffer, reaches the peer byte for byte as the frames encoded one
// by one, over a TCP socket (vectored) and over a pipe (no writev: the
// pieces are written one by one).
func TestWriteBatchMixesVectoredAndBufferedFramesInOrder(t *testing.T) {
	sizes := []int{200, vectorMinBody, vectorMinBody - 1, 64 << 10, 65 << 10, 1, defaultBufferSize, 3 * defaultBufferSize, 100}
	for i := 0; i < 40; i++ {
		sizes = append(sizes, 64<<10) // past vectorMaxBytes: split into several writes
	}
	sizes = append(sizes, 10, 20, 9000, 30)
	batch := mixedBatch(sizes)

	want := protocol.AppendFrame(nil, protocol.FrameTypeResponse, protocol.OK)
	for i := range batch {
		m := &batch[i]
		want = protocol.AppendMessageFrame(want, m.Timestamp, m.Attempts, &m.ID, m.Body)
	}
	want = protocol.AppendFrame(want, protocol.FrameTypeResponse, protocol.Heartbeat)

	pipeServer, pipePeer := net.Pipe()
	t.Cleanup(func() { pipeServer.Close(); pipePeer.Close() })
	tcpServer, tcpPeer := loopbackPair(t)
	for name, ends := range map[string][2]net.Conn{"tcp": {tcpServer, tcpPeer}, "pipe": {pipeServer, pipePeer}} {
		t.Run(name, func(t *testing.T) {
			c := writingClient(ends[0])
			got := make(chan []byte, 1)
			go func() {
				ends[1].SetReadDeadline(time.Now().Add(20 * time.Second))
				b := make([]byte, len(want))
				n, _ := io.ReadFull(ends[1], b)
				got <- b[:n]
			}()
			require.NoError(t, c.sendFrame(protocol.FrameTypeResponse, protocol.OK))
			c.writeMu.Lock()
			err := c.writeBatchLocked(batch)
			c.writeMu.Unlock()
			require.NoError(t, err)
			require.NoError(t, c.sendFrame(protocol.FrameTypeResponse, protocol.Heartbeat))
			require.NoError(t, c.flushNow())
			out := <-got
			if !bytes.Equal(out, want) {
				t.Fatalf("peer read %d bytes, want %d, first difference at %d", len(out), len(want), firstDiff(out, want))
			}
			require.NotNil(t, c.vector.heads, "no frame went by reference")
			if n := len(c.vector.bufs); n != 0 {
				t.Fatalf("%d pieces still pending after the batch", n)
			}
			for i, piece := range c.vector.backing[:cap(c.vector.backing)] {
				if piece != nil {
					t.Fatalf("piece %d still references a body after the write", i)
				}
			}
		})
	}
}

// Once the client's header arena exists, writing a batch of big frames
// allocates nothing.
func TestWriteBatchOfBigFramesAllocatesNothing(t *testing.T) {
	server, peer := loopbackPair(t)
	go io.Copy(io.Discard, peer)
	c := writingClient(server)
	batch := mixedBatch([]int{64 << 10, 64 << 10, 200, 16 << 10, 64 << 10})
	write := func() {
		c.writeMu.Lock()
		defer c.writeMu.Unlock()
		if err := c.writeBatchLocked(batch); err != nil {
			t.Fatal(err)
		}
	}
	write()
	if allocs := testing.AllocsPerRun(50, write); allocs != 0 {
		t.Fatalf("%v allocations per batch", allocs)
	}
}

// Big and small bodies published over TCP arrive intact at a consumer,
// in order, through the daemon's delivery path.
func TestBigBodiesArriveIntact(t *testing.T) {
	n := startDaemon(t, nil)
	sizes := []int{64 << 10, 100, vectorMinBody, 200 << 10, 5, 64 << 10, 64 << 10, 9 << 10, 1 << 10}
	for i := 0; i < 30; i++ {
		sizes = append(sizes, 64<<10+i)
	}
	bodies := make([]string, len(sizes))
	for i, size := range sizes {
		pattern := fmt.Sprintf("<%d:%d>", i, size)
		bodies[i] = strings.Repeat(pattern, size/len(pattern)+1)[:size]
	}
	producer := dialV2(t, n)
	producer.mpub("big", bodies[:20]...)
	for _, body := range bodies[20:] {
		producer.pub("big", body)
	}
	consumer := dialV2(t, n)
	consumer.subscribe("big", "ch")
	consumer.send(fmt.Sprintf("RDY %d", len(bodies)))
	for i, m := range consumer.readMessages(len(bodies)) {
		if string(m.Body) != bodies[i] {
			t.Fatalf("message %d: %d bytes, want %d (%q...)", i, len(m.Body), len(bodies[i]), bodies[i][:8])
		}
		consumer.fin(m.ID)
	}
}

// BenchmarkWriteBatch writes delivery batches to a loopback socket drained
// by another goroutine: "buffered" is every frame through the output
// buffer (writeMessageLocked, the path before vectored writes and the one
// TLS and compressed connections take), "vectored" is writeBatchLocked.
// One op is one message.
func BenchmarkWriteBatch(b *testing.B) {
	for _, size := range []int{1 << 10, 16 << 10, 64 << 10} {
		batch := mixedBatch(make([]int, 64))
		for i := range batch {
			batch[i].Body = make([]byte, size)
		}
		for _, path := range []string{"buffered", "vectored"} {
			b.Run(fmt.Sprintf("%dKB/%s", size>>10, path), func(b *testing.B) {
				server, peer := loopbackPair(b)
				drained := make(chan struct{})
				go func() {
					io.Copy(io.Discard, peer)
					close(drained)
				}()
				c := writingClient(server)
				b.SetBytes(int64(size))
				b.ReportAllocs()
				b.ResetTimer()
				cpuBefore := processCPU(b)
				for done := 0; done < b.N; done += len(batch) {
					part := batch[:min(len(batch), b.N-done)]
					c.writeMu.Lock()
					var err error
					if path == "vectored" {
						err = c.writeBatchLocked(part)
					} else {
						for i := range part {
							if err = c.writeMessageLocked(&part[i]); err != nil {
								break
							}
						}
					}
					if err == nil {
						err = c.flushLocked()
					}
					c.writeMu.Unlock()
					if err != nil {
						b.Fatal(err)
					}
				}
				b.StopTimer()
				// CPU time drifts less than wall time on a busy machine;
				// it includes the draining reader, the same for both paths.
				b.ReportMetric(float64(processCPU(b)-cpuBefore)/float64(b.N), "cpu-ns/op")
				server.Close()
				<-drained
			})
		}
	}
}
