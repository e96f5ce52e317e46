package nsqd

import (
	"bufio"
	"encoding/binary"
	"io"
	"net"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/nsqgo/nsq/internal/protocol"
)

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

// BenchmarkInFlightFinBursts is BenchmarkInFlightDeliverThenFinish with the
// FINs applied as a consumer's bursts are (v2Session.applyFins): chunks of
// finApplyChunk through removeEach, at RDY 2500, in delivery order. "warm"
// keeps only the table in the cache; "cold" also writes a line in every 64
// of a 256 KB buffer after each batch's delivery (6.4 MB while a message is
// in flight, more than this machine's 2 MB of L2 per core), as the bodies,
// frames and other connections do in the daemon, so that a FIN finds its
// slot out of the core's cache.
func BenchmarkInFlightFinBursts(b *testing.B) {
	for _, cache := range []string{"warm", "cold"} {
		b.Run(cache, func(b *testing.B) {
			const batch, window = 100, 2500
			var f inFlight
			const pool = 164 * batch
			ids := testMessages(pool, 1<<40)
			var evict []byte
			if cache == "cold" {
				evict = make([]byte, 256<<10)
			}
			var found [finApplyChunk]bool
			var scratch [finApplyChunk]Message
			finished := 0
			b.ReportAllocs()
			b.ResetTimer()
			cpu := processCPU(b)
			for delivered := 0; delivered < b.N; delivered += batch {
				start := delivered % pool
				msgs := ids[start : start+min(batch, b.N-delivered)]
				f.add(msgs, int64(delivered), 1<<40)
				for i := 0; i < len(evict); i += 64 {
					evict[i]++
				}
				for finished+window <= delivered+len(msgs) {
					end := min(finished+batch, b.N)
					var fins [finApplyChunk]protocol.MessageID
					for i := finished; i < end; i += finApplyChunk {
						n := min(finApplyChunk, end-i)
						for k := range n {
							fins[k] = ids[(i+k)%pool].ID
						}
						got := f.removeEach(fins[:n], found[:n], scratch[:0])
						if len(got) != n {
							b.Fatalf("FIN'd %d of %d", len(got), n)
						}
						clear(got)
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

// BenchmarkConsumeReaderShape is the consume phase of bench/compare.sh's
// memory and disk shapes in-process: a channel filled by MPUBs of 200
// messages of 200 bytes (through memory, or all through disk), then drained
// by two connections at RDY 2500 that answer as upstream's bench_reader
// does (consumeLikeBenchReader). cpu-ns/op is the process's CPU per message
// consumed, the consumers' included (the same in an A/B comparison).
func BenchmarkConsumeReaderShape(b *testing.B) {
	for _, shape := range []struct {
		name     string
		memQueue int64
	}{{"memory", 100_000_000}, {"disk", 0}} {
		b.Run(shape.name, func(b *testing.B) {
			n := startDaemon(b, func(o *Options) { o.MemQueueSize = shape.memQueue; o.Logger = io.Discard })
			topic, _ := n.GetTopic("bench")
			topic.GetChannel("ch")
			const batch, conns = 200, 2
			batches := (b.N + batch - 1) / batch
			publishBatches(b, n, "bench", batches, batch, 200)
			total := batches * batch
			b.SetBytes(200)
			b.ReportAllocs()
			b.ResetTimer()
			cpu := processCPU(b)
			var wg sync.WaitGroup
			var consumed atomic.Int64
			sockets := make([]net.Conn, conns)
			for i := range sockets {
				conn, err := net.Dial("tcp", n.RealTCPAddr().String())
				if err != nil {
					b.Fatal(err)
				}
				defer conn.Close()
				sockets[i] = conn
			}
			// The connection that consumes the last message closes them all:
			// the others may be blocked reading.
			var once sync.Once
			closeAll := func() {
				once.Do(func() {
					for _, c := range sockets {
						c.Close()
					}
				})
			}
			for _, conn := range sockets {
				wg.Add(1)
				go func() {
					defer wg.Done()
					consumeLikeBenchReader(b, conn, "bench", "ch", &consumed, int64(total), closeAll)
				}()
			}
			wg.Wait()
			b.ReportMetric(float64(processCPU(b)-cpu)/float64(total), "cpu-ns/op")
		})
	}
}

// consumeLikeBenchReader is one connection of upstream's bench_reader: RDY
// 2500, a FIN for every message into a 4 KB buffer, flushed when full and
// after every FIN in the last quarter of each 2500 messages, so the daemon
// sees bursts of FINs and then many reads of one FIN each. Once the
// connections together consumed total, it calls done and returns.
func consumeLikeBenchReader(b *testing.B, conn net.Conn, topic, channel string, consumed *atomic.Int64, total int64, done func()) {
	const rdy = 2500
	conn.Write([]byte(protocol.MagicV2 + "SUB " + topic + " " + channel + "\nRDY 2500\n"))
	reader := bufio.NewReaderSize(conn, 16*1024)
	writer := bufio.NewWriterSize(conn, 4*1024)
	var head [8]byte
	buf := make([]byte, 4096)
	fin := []byte("FIN 0123456789abcdef\n")
	conn.SetReadDeadline(time.Now().Add(time.Minute))
	for mine := 0; consumed.Load() < total; {
		if _, err := io.ReadFull(reader, head[:]); err != nil {
			if consumed.Load() < total {
				b.Error(err)
			}
			return
		}
		size := int(binary.BigEndian.Uint32(head[:4])) - 4
		if size > len(buf) {
			buf = make([]byte, size)
		}
		data := buf[:size]
		if _, err := io.ReadFull(reader, data); err != nil {
			b.Error(err)
			return
		}
		if binary.BigEndian.Uint32(head[4:]) != uint32(protocol.FrameTypeMessage) {
			continue
		}
		copy(fin[4:20], data[10:26])
		writer.Write(fin)
		mine++
		if mine%rdy >= rdy*3/4 {
			writer.Flush()
		}
		if consumed.Add(1) >= total {
			writer.Flush()
			done()
			return
		}
	}
}
