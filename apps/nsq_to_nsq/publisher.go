package main

import (
	"fmt"
	"sync"
	"time"

	"github.com/nsqgo/nsq/internal/hostpool"
	"github.com/nsqgo/nsq/internal/nsqclient"
	"github.com/nsqgo/nsq/internal/timermetrics"
	"github.com/nsqgo/nsq/internal/toolflags"
)

// publisher forwards consumed messages to the destination nsqds. A
// message is published asynchronously and left unanswered; a responder
// finishes it when the destination acknowledges the PUB, or requeues it
// (with backoff) when the PUB fails, so a message is never finished
// before it is safely on a destination.
type publisher struct {
	filter    *jsonFilter
	pool      *hostpool.Pool
	producers map[string]*nsqclient.Producer

	results    chan *nsqclient.Transaction
	responders sync.WaitGroup

	perAddr   map[string]*timermetrics.Metrics
	aggregate *timermetrics.Metrics
}

// inFlight is what a PUB carries to its responder.
type inFlight struct {
	msg    *nsqclient.Message
	start  time.Time
	choice hostpool.Response
}

// newPublisher makes a producer per destination (connecting lazily) and
// starts one responder per destination, as upstream.
func newPublisher(opts *options, logger *toolflags.Logs) (*publisher, error) {
	pool, err := hostpool.New(opts.destAddrs, opts.mode)
	if err != nil {
		return nil, err
	}
	p := &publisher{
		filter:    newJSONFilter(opts, logger),
		pool:      pool,
		producers: map[string]*nsqclient.Producer{},
		results:   make(chan *nsqclient.Transaction, len(opts.destAddrs)),
		perAddr:   map[string]*timermetrics.Metrics{},
		aggregate: timermetrics.New(opts.statusEvery, "[aggregate]:", logger.Printf),
	}
	for _, addr := range opts.destAddrs {
		if _, ok := p.producers[addr]; ok {
			continue
		}
		producer, err := nsqclient.NewProducer(addr, opts.producer)
		if err != nil {
			p.stopProducers()
			return nil, fmt.Errorf("failed creating producer %w", err)
		}
		p.producers[addr] = producer
		// With one destination its line would repeat the aggregate one.
		every := opts.statusEvery
		if len(opts.destAddrs) == 1 {
			every = 0
		}
		p.perAddr[addr] = timermetrics.New(every, fmt.Sprintf("[%s]:", addr), logger.Printf)
	}
	for range opts.destAddrs {
		p.responders.Add(1)
		go p.respond()
	}
	return p, nil
}

// handler returns the Handler for a consumer; each message goes to
// destTopic.
func (p *publisher) handler(destTopic string) nsqclient.Handler {
	return nsqclient.HandlerFunc(func(m *nsqclient.Message) error { return p.forward(m, destTopic) })
}

// forward filters m and publishes it. A nil return without a PUB drops
// the message (it is finished); an error requeues it.
func (p *publisher) forward(m *nsqclient.Message, destTopic string) error {
	body, pass, err := p.filter.apply(m.Body)
	if err != nil || !pass {
		return err
	}
	choice := p.pool.Get()
	start := time.Now()
	err = p.producers[choice.Host].PublishAsync(destTopic, body, p.results, inFlight{msg: m, start: start, choice: choice})
	if err != nil {
		choice.Mark(err)
		return err
	}
	// The responder answers it. (The consumer checks this flag only when
	// forward returns, so a responder that is quicker still wins alone.)
	m.DisableAutoResponse()
	return nil
}

// respond answers source messages as their PUBs complete.
func (p *publisher) respond() {
	defer p.responders.Done()
	for t := range p.results {
		f := t.Args[0].(inFlight)
		f.choice.Mark(t.Error)
		if t.Error == nil {
			f.msg.Finish()
		} else {
			f.msg.Requeue(-1)
		}
		p.perAddr[f.choice.Host].Status(f.start)
		p.aggregate.Status(f.start)
	}
}

// stop ends the publisher once no handler can publish any more: each
// producer completes what is outstanding (with ErrStopped, so those
// messages are requeued), then the responders end.
func (p *publisher) stop() {
	p.stopProducers()
	close(p.results)
	p.responders.Wait()
}

func (p *publisher) stopProducers() {
	for _, producer := range p.producers {
		producer.Stop()
	}
}
