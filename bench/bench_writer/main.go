// Command bench_writer measures nsqd publish throughput: one connection per
// GOMAXPROCS, each sending MPUB batches over raw TCP (no client library) for
// --runfor, then prints upstream bench_writer's one-line report.
package main

import (
	"bufio"
	"encoding/binary"
	"flag"
	"fmt"
	"io"
	"log"
	"net"
	"runtime"
	"sync"
	"sync/atomic"
	"time"
)

var (
	runfor     = flag.Duration("runfor", 10*time.Second, "duration of time to run")
	tcpAddress = flag.String("nsqd-tcp-address", "127.0.0.1:4150", "<addr>:<port> to connect to nsqd")
	topic      = flag.String("topic", "sub_bench", "topic to receive messages on")
	size       = flag.Int("size", 200, "size of messages")
	batchSize  = flag.Int("batch-size", 200, "batch size of messages")
	deadline   = flag.String("deadline", "", "deadline to start the benchmark run (2006-01-02 15:04:05, local time)")
)

// pipelineDepth is how many MPUBs a connection may have awaiting their OK.
// Upstream's writer waits for each OK before the next MPUB; 1 keeps our
// figures comparable with upstream's.
const pipelineDepth = 1

var totalMsgCount atomic.Int64

func main() {
	flag.Parse()
	log.SetPrefix("[bench_writer] ")
	if *size < 1 || *batchSize < 1 {
		log.Fatal("--size and --batch-size must be >= 1")
	}
	cmd := mpubCommand(*topic, *size, *batchSize)

	// Connect and IDENTIFY every worker first so setup is not timed.
	start := make(chan struct{})
	var ready, done sync.WaitGroup
	for range runtime.GOMAXPROCS(0) {
		ready.Add(1)
		done.Add(1)
		go func() {
			defer done.Done()
			pubWorker(cmd, &ready, start)
		}()
	}
	ready.Wait()
	sleepUntilDeadline(*deadline)

	begin := time.Now()
	close(start)
	done.Wait()
	report(time.Since(begin), totalMsgCount.Load(), *size)
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

func pubWorker(cmd []byte, ready *sync.WaitGroup, start <-chan struct{}) {
	conn, err := net.DialTimeout("tcp", *tcpAddress, time.Second)
	if err != nil {
		log.Fatal(err)
	}
	defer conn.Close()
	r := bufio.NewReader(conn)
	ident := `{"client_id":"writer","hostname":"writer","user_agent":"bench_writer/nsqgo"}`
	hello := binary.BigEndian.AppendUint32([]byte("  V2IDENTIFY\n"), uint32(len(ident)))
	if _, err := conn.Write(append(hello, ident...)); err != nil {
		log.Fatal(err)
	}
	if typ, data, err := readFrame(r); err != nil || typ != 0 {
		log.Fatalf("IDENTIFY failed: %v %s", err, data)
	}
	ready.Done()
	waitStart(conn, start)

	// The responder goroutine frees a pipeline slot per OK; the loop below
	// takes one before each MPUB, so at most pipelineDepth are outstanding.
	slots := make(chan struct{}, pipelineDepth)
	acked := make(chan int64)
	var closing atomic.Bool
	go func() {
		var n int64
		for {
			typ, data, err := readFrame(r)
			switch {
			case err != nil && closing.Load():
				acked <- n // we closed the connection after the last OK
				return
			case err != nil:
				log.Fatal(err)
			case typ == 1:
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
	totalMsgCount.Add(<-acked)
}

// readFrame reads one nsqd frame: int32 size, int32 type, data.
func readFrame(r *bufio.Reader) (int32, []byte, error) {
	var hdr [8]byte
	if _, err := io.ReadFull(r, hdr[:]); err != nil {
		return 0, nil, err
	}
	size := binary.BigEndian.Uint32(hdr[:4])
	if size < 4 || size > 64<<20 {
		return 0, nil, fmt.Errorf("bad frame size %d", size)
	}
	data := make([]byte, size-4)
	_, err := io.ReadFull(r, data)
	return int32(binary.BigEndian.Uint32(hdr[4:])), data, err
}

// waitStart blocks until the run begins. A --deadline may be far away and
// nsqd drops connections silent for 2 x heartbeat interval, so send NOPs.
func waitStart(conn net.Conn, start <-chan struct{}) {
	t := time.NewTicker(15 * time.Second)
	defer t.Stop()
	for {
		select {
		case <-start:
			return
		case <-t.C:
			if _, err := conn.Write([]byte("NOP\n")); err != nil {
				log.Fatal(err)
			}
		}
	}
}

func sleepUntilDeadline(s string) {
	if s == "" {
		return
	}
	t, err := time.ParseInLocation("2006-01-02 15:04:05", s, time.Local)
	if err != nil {
		log.Fatal(err)
	}
	d := time.Until(t)
	log.Printf("sleeping until %s (%s)", t, d)
	time.Sleep(d)
}

// report prints upstream's line verbatim (same log prefix and format).
func report(d time.Duration, n int64, size int) {
	log.Printf("duration: %s - %.03fmb/s - %.03fops/s - %.03fus/op",
		d,
		float64(n*int64(size))/d.Seconds()/1024/1024,
		float64(n)/d.Seconds(),
		float64(d/time.Microsecond)/float64(n))
}
