// Command bench_latency measures publish-to-delivery latency at a fixed
// offered load: one connection PUBlishes --rate messages a second (paced
// every millisecond, each body starting with its send time), another
// consumes them from --channel and FINs each, and the delivery latency of
// every message sent after --warmup is reported as percentiles. Both ends
// run in this process, so the timestamps share one clock.
//
// A second line splits the latency at nsqd's own timestamp of each
// message (stamped when it accepted the PUB): "in" is the PUB waiting for
// the daemon to read it, "out" the rest (the daemon's queueing and
// delivery, and this tool getting to the frame). It also reports the
// tool's own scheduling delay, so that a spike on a busy machine can be
// told from the daemon's: the publisher's lag behind its schedule (a late
// publisher sends the messages it owes in one burst; each is stamped when
// actually sent, so the lag itself is not counted as latency), and the
// stalls of a probe goroutine that sleeps a millisecond at a time (split.go,
// probe.go). --timeline prints, for every window of that width whose worst
// message took at least --spike, the worst message's parts and the tool's
// stall in the window, with the wall time to set beside a gctrace.
package main

import (
	"bufio"
	"encoding/binary"
	"errors"
	"flag"
	"fmt"
	"log"
	"os"
	"sync/atomic"
	"time"

	"github.com/nsqgo/nsq/bench/internal/benchutil"
)

var (
	runfor     = flag.Duration("runfor", 10*time.Second, "how long to publish")
	warmup     = flag.Duration("warmup", 500*time.Millisecond, "latencies of messages sent before this are not counted")
	tcpAddress = flag.String("nsqd-tcp-address", "127.0.0.1:4150", "<addr>:<port> to connect to nsqd")
	topic      = flag.String("topic", "latency_bench", "topic to publish to")
	channel    = flag.String("channel", "ch", "channel to consume from")
	rate       = flag.Int("rate", 20000, "messages per second to offer")
	size       = flag.Int("size", 200, "message size (at least 8: the send time)")
	rdy        = flag.Int("rdy", 2500, "consumer RDY count")
	grace      = flag.Duration("grace", 5*time.Second, "how long to wait for the last messages after publishing stops")
	spike      = flag.Duration("spike", 50*time.Millisecond, "a message taking this long or longer is slow (counted, and set against the tool's stalls)")
	timelineW  = flag.Duration("timeline", 0, "print the windows of this width (e.g. 100ms) whose worst message was slow; 0: none")
)

// The stall probe's period, and the least overrun it records.
const (
	probePeriod   = time.Millisecond
	probeMinStall = 5 * time.Millisecond
)

func main() {
	flag.Parse()
	log.SetPrefix("[bench_latency] ")
	if *size < 8 || *rate < 1 {
		log.Fatal("--size must be >= 8 and --rate >= 1")
	}
	var seen atomic.Int64
	results := make(chan []sample, 1)
	subscribed := make(chan struct{})
	stop := make(chan struct{})
	go func() { results <- consume(subscribed, stop, &seen) }()
	<-subscribed
	stalls := make(chan []stall, 1)
	go func() { stalls <- probe(probePeriod, probeMinStall, stop, time.Now) }()
	start := time.Now()
	published, lag := publish(start)
	// Wait for the consumer to see everything, at most --grace.
	deadline := time.Now().Add(*grace)
	for seen.Load() < published && time.Now().Before(deadline) {
		time.Sleep(time.Millisecond)
	}
	close(stop)
	samples := <-results
	if n := seen.Load(); n < published {
		log.Fatalf("%d of %d messages not delivered within %s", published-n, published, *grace)
	}
	report(samples, <-stalls, lag, published, time.Since(start))
}

// publish paces PUBs at --rate for --runfor: every millisecond it sends, in
// one write, the messages due by then. It returns how many it sent and how
// far the publisher fell behind its schedule at worst (the due time of the
// oldest message in a write to the write).
func publish(start time.Time) (int64, time.Duration) {
	conn := benchutil.Dial(*tcpAddress)
	defer conn.Close()
	fr := benchutil.NewFrameReader(bufio.NewReader(conn), 1024)
	if _, err := conn.Write(benchutil.Hello("latency")); err != nil {
		log.Fatal(err)
	}
	if typ, data, err := fr.Next(); err != nil || typ != benchutil.FrameTypeResponse {
		log.Fatalf("IDENTIFY failed: %v %s", err, data)
	}
	acks := make(chan error, 1)
	var acked atomic.Int64
	go func() {
		for {
			typ, data, err := fr.Next()
			if err != nil {
				acks <- err
				return
			}
			switch {
			case typ == benchutil.FrameTypeError:
				acks <- fmt.Errorf("PUB failed: %s", data)
				return
			case string(data) == "_heartbeat_":
				conn.Write([]byte("NOP\n"))
			case string(data) == "OK":
				acked.Add(1)
			}
		}
	}()

	header := fmt.Appendf(nil, "PUB %s\n", *topic)
	header = binary.BigEndian.AppendUint32(header, uint32(*size))
	body := make([]byte, *size)
	var out []byte
	tick := time.NewTicker(time.Millisecond)
	defer tick.Stop()
	var sent int64
	var lag time.Duration
	for {
		elapsed := time.Since(start)
		if elapsed >= *runfor {
			break
		}
		due := int64(elapsed.Seconds() * float64(*rate))
		if sent < due {
			lag = max(lag, elapsed-time.Duration(sent)*time.Second/time.Duration(*rate))
		}
		out = out[:0]
		for ; sent < due; sent++ {
			out = append(out, header...)
			out = append(out, body...)
		}
		if len(out) > 0 {
			// Every message of the write is stamped just before it: a
			// late publisher's burst takes a while to build, and the tool
			// being descheduled meanwhile is not the daemon's time.
			stampSendTimes(out, len(header), *size, time.Now().UnixNano())
			if _, err := conn.Write(out); err != nil {
				log.Fatal(err)
			}
		}
		select {
		case err := <-acks:
			log.Fatal(err)
		case <-tick.C:
		}
	}
	// Every PUB answered before the connection closes.
	deadline := time.Now().Add(*grace)
	for acked.Load() < sent && time.Now().Before(deadline) {
		time.Sleep(time.Millisecond)
	}
	if acked.Load() < sent {
		log.Fatalf("%d of %d PUBs unanswered", sent-acked.Load(), sent)
	}
	return sent, lag
}

// stampSendTimes writes now into the first 8 body bytes of every PUB in
// out, PUBs of a headerLen-byte command and size-byte length-prefixed
// body (the prefix ends the header).
func stampSendTimes(out []byte, headerLen, size int, now int64) {
	for at := headerLen; at < len(out); at += headerLen + size {
		binary.BigEndian.PutUint64(out[at:], uint64(now))
	}
}

// consume subscribes, closes subscribed, then records the timeline of every
// message sent after --warmup, counting every message in seen, until stop
// is closed.
func consume(subscribed, stop chan struct{}, seen *atomic.Int64) []sample {
	conn := benchutil.Dial(*tcpAddress)
	defer conn.Close()
	fr := benchutil.NewFrameReader(bufio.NewReaderSize(conn, 64<<10), 1024)
	w := bufio.NewWriterSize(conn, 64<<10)
	w.Write(benchutil.Hello("latency"))
	fmt.Fprintf(w, "SUB %s %s\nRDY %d\n", *topic, *channel, *rdy)
	if err := w.Flush(); err != nil {
		log.Fatal(err)
	}
	for _, cmd := range []string{"IDENTIFY", "SUB"} {
		if typ, data, err := fr.Next(); err != nil || typ != benchutil.FrameTypeResponse || string(data) != "OK" {
			log.Fatalf("%s failed: %v %s", cmd, err, data)
		}
	}
	close(subscribed)
	go func() { <-stop; conn.SetReadDeadline(time.Now()) }()

	cutoff := time.Now().Add(*warmup).UnixNano()
	lat := make([]sample, 0, int(float64(*rate)*runfor.Seconds())+1024)
	for {
		for {
			typ, data, err := fr.Next()
			if errors.Is(err, os.ErrDeadlineExceeded) {
				return lat
			} else if err != nil {
				log.Fatal(err)
			}
			switch typ {
			case benchutil.FrameTypeMessage:
				now := time.Now().UnixNano()
				if len(data) < 26+8 {
					log.Fatalf("short message frame (%d bytes)", len(data))
				}
				sentAt := int64(binary.BigEndian.Uint64(data[26:]))
				if sentAt >= cutoff {
					stamped := int64(binary.BigEndian.Uint64(data[:8]))
					lat = append(lat, sample{sent: sentAt, stamped: stamped, received: now})
				}
				w.WriteString("FIN ")
				w.Write(data[10:26])
				w.WriteByte('\n')
				seen.Add(1)
			case benchutil.FrameTypeResponse:
				if string(data) == "_heartbeat_" {
					w.WriteString("NOP\n")
				}
			case benchutil.FrameTypeError:
				log.Fatalf("error frame: %s", data)
			}
			if !fr.FrameBuffered() {
				break
			}
		}
		if err := w.Flush(); err != nil {
			log.Fatal(err)
		}
	}
}

// report prints the latency line (its format is what bench/compare.sh
// reads), the split line, and the timeline if asked for.
func report(samples []sample, stalls []stall, lag time.Duration, published int64, d time.Duration) {
	if len(samples) == 0 {
		log.Fatalf("no latency recorded (%d published)", published)
	}
	lat := sortedBy(samples, sample.total)
	fmt.Printf("rate: %d/s - published: %d - measured: %d - p50: %.3fms - p99: %.3fms - p999: %.3fms - max: %.3fms (%s)\n",
		*rate, published, len(lat),
		ms(percentile(lat, 0.50)), ms(percentile(lat, 0.99)), ms(percentile(lat, 0.999)), ms(lat[len(lat)-1]), d.Round(time.Millisecond))

	in, out := sortedBy(samples, sample.in), sortedBy(samples, sample.out)
	var stalled, longest time.Duration
	for _, st := range stalls {
		stalled += st.length
		longest = max(longest, st.length)
	}
	sp := spikes(samples, stalls, *spike)
	fmt.Printf("split: in p99 %.3fms max %.3fms - out p99 %.3fms max %.3fms - publisher lag max %.3fms"+
		" - tool stalls %d, %.1fms in all, longest %.3fms - slow (>= %s) %d, with the tool stalled %d\n",
		ms(percentile(in, 0.99)), ms(in[len(in)-1]), ms(percentile(out, 0.99)), ms(out[len(out)-1]), ms(lag),
		len(stalls), ms(stalled), ms(longest), sp.threshold, sp.slow, sp.overlapStall)
	if *timelineW > 0 {
		for _, w := range timeline(samples, stalls, *timelineW, *spike) {
			fmt.Println("timeline:", formatWindow(w))
		}
	}
}
