// Command bench_reader measures nsqd delivery throughput: one connection per
// GOMAXPROCS (or --connections) on the same channel, each over raw TCP (no
// client library), FINishing every message until --runfor elapses, then
// prints upstream bench_reader's one-line report. With --topics=N,
// connection i reads <topic>_<i mod N>.
package main

import (
	"bufio"
	"bytes"
	"errors"
	"flag"
	"fmt"
	"log"
	"os"
	"time"

	"github.com/nsqgo/nsq/bench/internal/benchutil"
)

var (
	runfor     = flag.Duration("runfor", 10*time.Second, "duration of time to run")
	tcpAddress = flag.String("nsqd-tcp-address", "127.0.0.1:4150", "<addr>:<port> to connect to nsqd")
	size       = flag.Int("size", 200, "size of messages")
	topic      = flag.String("topic", "sub_bench", "topic to receive messages on")
	channel    = flag.String("channel", "ch", "channel to receive messages on")
	deadline   = flag.String("deadline", "", "deadline to start the benchmark run (2006-01-02 15:04:05, local time)")
	rdy        = flag.Int("rdy", 2500, "RDY count to use")
	conns      = flag.Int("connections", 0, "consumer connections (default GOMAXPROCS, as upstream)")
	topics     = flag.Int("topics", 1, "read this many topics, <topic>_0 .. <topic>_N-1, when > 1")
)

func main() {
	flag.Parse()
	log.SetPrefix("[bench_reader] ")
	// Connect, IDENTIFY and SUB every worker first so setup is not timed.
	benchutil.Run(*deadline, *size, *conns, func(g *benchutil.Gate, i int) int64 {
		return subWorker(g, benchutil.TopicName(*topic, *topics, i))
	})
}

func subWorker(g *benchutil.Gate, topic string) int64 {
	conn := benchutil.Dial(*tcpAddress)
	defer conn.Close()
	fr := benchutil.NewFrameReader(bufio.NewReaderSize(conn, 64<<10), 1024)
	w := bufio.NewWriterSize(conn, 64<<10)

	w.Write(benchutil.Hello("reader"))
	fmt.Fprintf(w, "SUB %s %s\n", topic, *channel)
	if err := w.Flush(); err != nil {
		log.Fatal(err)
	}
	for _, cmd := range []string{"IDENTIFY", "SUB"} {
		if typ, data, err := fr.Next(); err != nil || typ != benchutil.FrameTypeResponse || string(data) != "OK" {
			log.Fatalf("%s failed: %v %s", cmd, err, data)
		}
	}
	g.Wait(conn)

	// The read deadline ends the run; a read cut short by it is not counted.
	conn.SetReadDeadline(time.Now().Add(*runfor))
	fmt.Fprintf(w, "RDY %d\n", *rdy)
	var n int64
	for {
		if err := w.Flush(); err != nil {
			log.Fatal(err)
		}
		// Drain every complete frame already buffered before flushing again,
		// so one write carries a batch of FINs.
		for {
			typ, data, err := fr.Next()
			if errors.Is(err, os.ErrDeadlineExceeded) {
				return n
			} else if err != nil {
				log.Fatal(err)
			}
			if typ == benchutil.FrameTypeMessage {
				finish(w, data)
				n++
			} else if typ == benchutil.FrameTypeResponse && string(data) == "_heartbeat_" {
				w.WriteString("NOP\n")
			} else if typ == benchutil.FrameTypeError && !bytes.HasPrefix(data, []byte("E_FIN_FAILED ")) {
				log.Fatalf("error frame: %s", data) // all but *_FAILED are fatal
			}
			if !fr.FrameBuffered() {
				break
			}
		}
	}
}

// finish queues FIN for a message frame's data (ID at bytes 10..26).
func finish(w *bufio.Writer, msg []byte) {
	if len(msg) < 26 {
		log.Fatalf("short message frame (%d bytes)", len(msg))
	}
	w.WriteString("FIN ")
	w.Write(msg[10:26])
	w.WriteByte('\n')
}
