// Command bench_latency measures publish-to-delivery latency at a fixed
// offered load: one connection PUBlishes --rate messages a second (paced
// every millisecond, each body starting with its send time), another
// consumes them from --channel and FINs each, and the delivery latency of
// every message sent after --warmup is reported as percentiles. Both ends
// run in this process, so the timestamps share one clock.
package main

import (
	"bufio"
	"encoding/binary"
	"errors"
	"flag"
	"fmt"
	"log"
	"os"
	"slices"
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
)

func main() {
	flag.Parse()
	log.SetPrefix("[bench_latency] ")
	if *size < 8 || *rate < 1 {
		log.Fatal("--size must be >= 8 and --rate >= 1")
	}
	var seen atomic.Int64
	results := make(chan []time.Duration, 1)
	subscribed := make(chan struct{})
	stop := make(chan struct{})
	go func() { results <- consume(subscribed, stop, &seen) }()
	<-subscribed
	start := time.Now()
	published := publish(start)
	// Wait for the consumer to see everything, at most --grace.
	deadline := time.Now().Add(*grace)
	for seen.Load() < published && time.Now().Before(deadline) {
		time.Sleep(time.Millisecond)
	}
	close(stop)
	lat := <-results
	if n := seen.Load(); n < published {
		log.Fatalf("%d of %d messages not delivered within %s", published-n, published, *grace)
	}
	report(lat, published, time.Since(start))
}

// publish paces PUBs at --rate for --runfor: every millisecond it sends, in
// one write, the messages due by then.
func publish(start time.Time) int64 {
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
	for {
		elapsed := time.Since(start)
		if elapsed >= *runfor {
			break
		}
		due := int64(elapsed.Seconds() * float64(*rate))
		out = out[:0]
		for ; sent < due; sent++ {
			binary.BigEndian.PutUint64(body, uint64(time.Now().UnixNano()))
			out = append(out, header...)
			out = append(out, body...)
		}
		if len(out) > 0 {
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
	return sent
}

// consume subscribes, closes subscribed, then records the latency of every
// message, counting them in seen, until stop is closed.
func consume(subscribed, stop chan struct{}, seen *atomic.Int64) []time.Duration {
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
	lat := make([]time.Duration, 0, int(float64(*rate)*runfor.Seconds())+1024)
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
					lat = append(lat, time.Duration(now-sentAt))
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

// report prints one line: what was offered and the latency percentiles.
func report(lat []time.Duration, published int64, d time.Duration) {
	if len(lat) == 0 {
		log.Fatalf("no latency recorded (%d published)", published)
	}
	slices.Sort(lat)
	pct := func(p float64) time.Duration { return lat[min(int(p*float64(len(lat))), len(lat)-1)] }
	fmt.Printf("rate: %d/s - published: %d - measured: %d - p50: %.3fms - p99: %.3fms - p999: %.3fms - max: %.3fms (%s)\n",
		*rate, published, len(lat),
		ms(pct(0.50)), ms(pct(0.99)), ms(pct(0.999)), ms(lat[len(lat)-1]), d.Round(time.Millisecond))
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }
