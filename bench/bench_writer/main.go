// Command bench_writer measures nsqd publish throughput: one connection per
// GOMAXPROCS (or --connections), each sending MPUB batches over raw TCP (no
// client library) for --runfor, then prints upstream bench_writer's one-line
// report. With --topics=N, connection i publishes to <topic>_<i mod N>.
package main

import (
	"bufio"
	"encoding/binary"
	"flag"
	"fmt"
	"log"
	"sync/atomic"
	"time"

	"github.com/nsqgo/nsq/bench/internal/benchutil"
)

var (
	runfor     = flag.Duration("runfor", 10*time.Second, "duration of time to run")
	tcpAddress = flag.String("nsqd-tcp-address", "127.0.0.1:4150", "<addr>:<port> to connect to nsqd")
	topic      = flag.String("topic", "sub_bench", "topic to receive messages on")
	size       = flag.Int("size", 200, "size of messages")
	batchSize  = flag.Int("batch-size", 200, "batch size of messages")
	deadline   = flag.String("deadline", "", "deadline to start the benchmark run (2006-01-02 15:04:05, local time)")
	conns      = flag.Int("connections", 0, "publisher connections (default GOMAXPROCS, as upstream)")
	topics     = flag.Int("topics", 1, "publish to this many topics, <topic>_0 .. <topic>_N-1, when > 1")
)

// pipelineDepth is how many MPUBs a connection may have awaiting their OK.
// Upstream's writer waits for each OK before the next MPUB; 1 keeps our
// figures comparable with upstream's.
const pipelineDepth = 1

func main() {
	flag.Parse()
	log.SetPrefix("[bench_writer] ")
	if *size < 1 || *batchSize < 1 {
		log.Fatal("--size and --batch-size must be >= 1")
	}
	// Connect and IDENTIFY every worker first so setup is not timed.
	benchutil.Run(*deadline, *size, *conns, func(g *benchutil.Gate, i int) int64 {
		cmd := mpubCommand(benchutil.TopicName(*topic, *topics, i), *size, *batchSize)
		return pubWorker(cmd, g)
	})
}

// mpubCommand encodes one MPUB once; every batch sends the same bytes.
func mpubCommand(topic string, size, n int) []byte {
	body := 4 + n*(4+size)
	b := fmt.Appendf(nil, "MPUB %s\n", topic)
	b = binary.BigEndian.AppendUint32(b, uint32(body))
	b = binary.BigEndian.AppendUint32(b, uint32(n))
	msg := make([]byte, size)
	for range n {
		b = binary.BigEndian.AppendUint32(b, uint32(size))
		b = append(b, msg...)
	}
	return b
}

func pubWorker(cmd []byte, g *benchutil.Gate) int64 {
	conn := benchutil.Dial(*tcpAddress)
	defer conn.Close()
	fr := benchutil.NewFrameReader(bufio.NewReader(conn), 1024)
	if _, err := conn.Write(benchutil.Hello("writer")); err != nil {
		log.Fatal(err)
	}
	if typ, data, err := fr.Next(); err != nil || typ != benchutil.FrameTypeResponse {
		log.Fatalf("IDENTIFY failed: %v %s", err, data)
	}
	g.Wait(conn)

	// The responder goroutine frees a pipeline slot per OK; the loop below
	// takes one before each MPUB, so at most pipelineDepth are outstanding.
	slots := make(chan struct{}, pipelineDepth)
	acked := make(chan int64)
	var closing atomic.Bool
	go func() {
		var n int64
		for {
			typ, data, err := fr.Next()
			switch {
			case err != nil && closing.Load():
				acked <- n // we closed the connection after the last OK
				return
			case err != nil:
				log.Fatal(err)
			case typ == benchutil.FrameTypeError:
				log.Fatalf("MPUB failed: %s", data)
			case string(data) == "_heartbeat_":
				// net.Conn writes are atomic, so sharing conn is safe.
				conn.Write([]byte("NOP\n"))
			case string(data) == "OK":
				n += int64(*batchSize)
				<-slots
			default:
				log.Fatalf("unexpected frame type %d: %s", typ, data)
			}
		}
	}()

	end := time.Now().Add(*runfor)
	for time.Now().Before(end) {
		slots <- struct{}{}
		if _, err := conn.Write(cmd); err != nil {
			log.Fatal(err)
		}
	}
	for range pipelineDepth { // wait for every outstanding OK
		slots <- struct{}{}
	}
	closing.Store(true)
	conn.Close()
	return <-acked
}
