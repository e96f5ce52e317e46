// Command bench_ideal is an ideal nsqd, the ceiling a bench reader or writer
// can reach on this machine: no topic, no queue, no disk. It answers
// IDENTIFY and SUB with OK and then streams messages of --size bytes to each
// connection as fast as its RDY credit allows (a FIN gives one message of
// credit back). Each topic/channel pair has its own message sequence, as a
// channel of nsqd has: the consumers of one channel share its messages and
// every channel of a topic gets all of them (the fan-out shape's three
// readers each read a whole stream). It reads every PUB and MPUB whole and answers OK without
// keeping it. Pointing a reader or writer at it measures the tool's own cost
// per message; bench/compare.sh's ceiling shape runs upstream's
// bench_writer and bench_reader against it. It prints "listening on
// <addr>" once it accepts connections (use --tcp-address=127.0.0.1:0 and
// read the port from that line) and serves until SIGINT or SIGTERM.
package main

import (
	"flag"
	"fmt"
	"log"
	"net"
	"os"
	"os/signal"
	"syscall"
)

func main() {
	addr := flag.String("tcp-address", "127.0.0.1:4150", "<addr>:<port> to listen on")
	size := flag.Int("size", 200, "size of each message body")
	flag.Parse()
	log.SetPrefix("[bench_ideal] ")
	if *size < 0 || *size > maxBodySize {
		log.Fatalf("--size must be 0..%d", maxBodySize)
	}
	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Printf("listening on %s\n", ln.Addr())
	srv := newServer(ln, *size)
	go srv.serve()
	sig := make(chan os.Signal, 1)
	signal.Notify(sig, syscall.SIGINT, syscall.SIGTERM)
	<-sig
	srv.close()
}
