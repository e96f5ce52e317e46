// Command bench_reader measures nsqd delivery throughput: one connection per
// GOMAXPROCS on the same channel, each over raw TCP (no client library),
// FINishing every message until --runfor elapses, then prints upstream
// bench_reader's one-line report.
package main

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"errors"
	"flag"
	"fmt"
	"io"
	"log"
	"net"
	"os"
	"runtime"
	"sync"
	"sync/atomic"
	"time"
)

var (
	runfor     = flag.Duration("runfor", 10*time.Second, "duration of time to run")
	tcpAddress = flag.String("nsqd-tcp-address", "127.0.0.1:4150", "<addr>:<port> to connect to nsqd")
	size       = flag.Int("size", 200, "size of messages")
	topic      = flag.String("topic", "sub_bench", "topic to receive messages on")
	channel    = flag.String("channel", "ch", "channel to receive messages on")
	deadline   = flag.String("deadline", "", "deadline to start the benchmark run (2006-01-02 15:04:05, local time)")
	rdy        = flag.Int("rdy", 2500, "RDY count to use")
)

var totalMsgCount atomic.Int64

func main() {
	flag.Parse()
	log.SetPrefix("[bench_reader] ")

	// Connect, IDENTIFY and SUB every worker first so setup is not timed.
	start := make(chan struct{})
	var ready, done sync.WaitGroup
	for range runtime.GOMAXPROCS(0) {
		ready.Add(1)
		done.Add(1)
		go func() {
			defer done.Done()
			subWorker(&ready, start)
		}()
	}
	ready.Wait()
	sleepUntilDeadline(*deadline)

	begin := time.Now()
	close(start)
	done.Wait()
	report(time.Since(begin), totalMsgCount.Load(), *size)
}

func subWorker(ready *sync.WaitGroup, start <-chan struct{}) {
	conn, err := net.DialTimeout("tcp", *tcpAddress, time.Second)
	if err != nil {
		log.Fatal(err)
	}
	defer conn.Close()
	fr := &frameReader{r: bufio.NewReaderSize(conn, 64<<10), buf: make([]byte, 1024)}
	w := bufio.NewWriterSize(conn, 64<<10)

	// feature_negotiation is off, so IDENTIFY is answered with a plain OK.
	ident := `{"client_id":"reader","hostname":"reader","user_agent":"bench_reader/nsqgo"}`
	w.WriteString("  V2IDENTIFY\n")
	binary.Write(w, binary.BigEndian, uint32(len(ident)))
	w.WriteString(ident)
	fmt.Fprintf(w, "SUB %s %s\n", *topic, *channel)
	if err := w.Flush(); err != nil {
		log.Fatal(err)
	}
	for _, cmd := range []string{"IDENTIFY", "SUB"} {
		if typ, data, err := fr.next(); err != nil || typ != 0 || string(data) != "OK" {
			log.Fatalf("%s failed: %v %s", cmd, err, data)
		}
	}
	ready.Done()
	waitStart(conn, start)

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
			typ, data, err := fr.next()
			if errors.Is(err, os.ErrDeadlineExceeded) {
				totalMsgCount.Add(n)
				return
			} else if err != nil {
				log.Fatal(err)
			}
			if typ == 2 {
				finish(w, data)
				n++
			} else if typ == 0 && string(data) == "_heartbeat_" {
				w.WriteString("NOP\n")
			} else if typ == 1 && !bytes.HasPrefix(data, []byte("E_FIN_FAILED ")) {
				log.Fatalf("error frame: %s", data) // all but *_FAILED are fatal
			}
			if !fr.frameBuffered() {
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

// frameReader reads nsqd frames (int32 size, int32 type, data) into one
// reused buffer, so steady-state reading allocates nothing per message.
type frameReader struct {
	r   *bufio.Reader
	buf []byte
}

// next returns the next frame; data is valid only until the next call.
func (f *frameReader) next() (int32, []byte, error) {
	if _, err := io.ReadFull(f.r, f.buf[:4]); err != nil {
		return 0, nil, err
	}
	size := int(binary.BigEndian.Uint32(f.buf[:4]))
	if size < 4 || size > 64<<20 {
		return 0, nil, fmt.Errorf("bad frame size %d", size)
	}
	if size > cap(f.buf) {
		f.buf = make([]byte, size)
	}
	if _, err := io.ReadFull(f.r, f.buf[:size]); err != nil {
		return 0, nil, err
	}
	return int32(binary.BigEndian.Uint32(f.buf[:4])), f.buf[4:size], nil
}

// frameBuffered reports whether a whole frame can be read without blocking.
func (f *frameReader) frameBuffered() bool {
	n := f.r.Buffered()
	if n < 4 {
		return false
	}
	p, _ := f.r.Peek(4)
	return n >= 4+int(binary.BigEndian.Uint32(p))
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
