package main

import (
	"io"
	"sync"

	"github.com/nsqgo/nsq/internal/nsqclient"
)

// printer writes messages of every topic to stdout, one line each, and
// counts them against -n.
//
// Deliberate differences from upstream, which counts -n per topic and
// exits the process from inside the handler after the n-th message: here
// -n counts lines across all topics; the n-th message is finished (it was
// printed), and messages that arrive after it are requeued at once rather
// than left to time out, so a durable --channel loses nothing it did not
// print. Every consumer is paused (RDY 0) first: nsqd reads the RDY before
// the REQ, so a requeued message is not sent straight back to be requeued
// again until the consumer gives up on it after max attempts.
type printer struct {
	out        io.Writer
	printTopic bool
	total      int // 0 = no limit

	mu        sync.Mutex // orders whole lines from concurrent consumers
	consumers []*nsqclient.Consumer
	printed   int
	err       error         // the first write error; nothing is printed after it
	done      chan struct{} // closed after the n-th line or a write error
}

func newPrinter(out io.Writer, printTopic bool, total int) *printer {
	return &printer{out: out, printTopic: printTopic, total: total, done: make(chan struct{})}
}

// add registers a consumer to pause when printing ends; one added after
// that is paused at once.
func (p *printer) add(c *nsqclient.Consumer) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.consumers = append(p.consumers, c)
	if p.finishedLocked() {
		c.ChangeMaxInFlight(0)
	}
}

// finishLocked ends printing: consumers are paused, then Done is closed.
func (p *printer) finishLocked() {
	for _, c := range p.consumers {
		c.ChangeMaxInFlight(0)
	}
	close(p.done)
}

// handler returns the Handler for topic's consumer.
func (p *printer) handler(topic string) nsqclient.Handler {
	return nsqclient.HandlerFunc(func(m *nsqclient.Message) error { return p.print(topic, m) })
}

func (p *printer) print(topic string, m *nsqclient.Message) error {
	line := make([]byte, 0, len(topic)+len(m.Body)+4)
	if p.printTopic {
		line = append(line, topic...)
		line = append(line, " | "...)
	}
	line = append(line, m.Body...)
	line = append(line, '\n')

	p.mu.Lock()
	defer p.mu.Unlock()
	if p.finishedLocked() {
		// Past -n or broken stdout: give it back for someone else.
		m.DisableAutoResponse()
		m.RequeueWithoutBackoff(0)
		return nil
	}
	if _, err := p.out.Write(line); err != nil {
		p.err = err
		p.finishLocked()
		return err
	}
	p.printed++
	if p.total > 0 && p.printed == p.total {
		p.finishLocked()
	}
	return nil
}

func (p *printer) finishedLocked() bool {
	return p.err != nil || (p.total > 0 && p.printed >= p.total)
}

// Done is closed once -n lines are printed or stdout failed.
func (p *printer) Done() <-chan struct{} { return p.done }

// Err is the write error that ended printing, if any.
func (p *printer) Err() error {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.err
}
