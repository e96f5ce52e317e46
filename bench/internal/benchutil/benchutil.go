package benchutil

import (
	"bufio"
	"encoding/binary"
	"fmt"
	"io"
	"log"
	"net"
	"runtime"
	"sync"
	"sync/atomic"
	"time"
)

// Frame types of the nsqd V2 protocol.
const (
	FrameTypeResponse int32 = 0
	FrameTypeError    int32 = 1
	FrameTypeMessage  int32 = 2
)

// Gate holds every worker back until the run begins.
type Gate struct {
	ready *sync.WaitGroup
	start <-chan struct{}
}

// Wait reports the worker ready and blocks until the run begins. A
// --deadline may be far away and nsqd drops connections silent for
// 2 x heartbeat interval, so it sends NOPs on conn meanwhile.
func (g *Gate) Wait(conn net.Conn) {
	g.ready.Done()
	t := time.NewTicker(15 * time.Second)
	defer t.Stop()
	for {
		select {
		case <-g.start:
			return
		case <-t.C:
			if _, err := conn.Write([]byte("NOP\n")); err != nil {
				log.Fatal(err)
			}
		}
	}
}

// Run runs worker on the given number of goroutines (GOMAXPROCS when
// workers < 1, as upstream's tools), passing each its index. Each worker
// sets up its connection and then calls g.Wait, so setup is not timed; once
// every worker is ready and deadline (if any) has come, Run times the
// workers until the last one returns and reports the sum of the message
// counts they return, for messages of size bytes.
func Run(deadline string, size, workers int, worker func(g *Gate, index int) int64) {
	if workers < 1 {
		workers = runtime.GOMAXPROCS(0)
	}
	start := make(chan struct{})
	var ready, done sync.WaitGroup
	var total atomic.Int64
	g := &Gate{ready: &ready, start: start}
	for i := range workers {
		ready.Add(1)
		done.Add(1)
		go func() {
			defer done.Done()
			total.Add(worker(g, i))
		}()
	}
	ready.Wait()
	sleepUntilDeadline(deadline)

	begin := time.Now()
	close(start)
	done.Wait()
	report(time.Since(begin), total.Load(), size)
}

// sleepUntilDeadline waits for --deadline (2006-01-02 15:04:05, local
// time); "" does not wait.
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

// TopicName is the topic worker index uses: name itself when topics <= 1,
// else name_<index mod topics>, so N workers spread over the topics evenly.
func TopicName(name string, topics, index int) string {
	if topics <= 1 {
		return name
	}
	return fmt.Sprintf("%s_%d", name, index%topics)
}

// Dial connects to nsqd's TCP address, exiting on failure.
func Dial(addr string) net.Conn {
	conn, err := net.DialTimeout("tcp", addr, time.Second)
	if err != nil {
		log.Fatal(err)
	}
	return conn
}

// Hello is the V2 magic followed by an IDENTIFY naming the client after
// role ("reader", "writer"). feature_negotiation is off, so nsqd answers
// it with a plain OK.
func Hello(role string) []byte {
	ident := fmt.Sprintf(`{"client_id":%q,"hostname":%q,"user_agent":"bench_%s/nsqgo"}`, role, role, role)
	b := binary.BigEndian.AppendUint32([]byte("  V2IDENTIFY\n"), uint32(len(ident)))
	return append(b, ident...)
}

// FrameReader reads nsqd frames (int32 size, int32 type, data) into one
// reused buffer, so steady-state reading allocates nothing per message.
type FrameReader struct {
	r   *bufio.Reader
	buf []byte
}

// NewFrameReader reads frames from r, starting with a buffer of bufSize
// bytes (grown for larger frames).
func NewFrameReader(r *bufio.Reader, bufSize int) *FrameReader {
	return &FrameReader{r: r, buf: make([]byte, bufSize)}
}

// Next returns the next frame; data is valid only until the next call.
func (f *FrameReader) Next() (typ int32, data []byte, err error) {
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

// FrameBuffered reports whether a whole frame can be read without blocking.
func (f *FrameReader) FrameBuffered() bool {
	n := f.r.Buffered()
	if n < 4 {
		return false
	}
	p, _ := f.r.Peek(4)
	return n >= 4+int(binary.BigEndian.Uint32(p))
}
