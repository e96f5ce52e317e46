package main

import (
	"fmt"
	"math/rand/v2"
	"time"

	"github.com/nsqgo/nsq/internal/hostpool"
	"github.com/nsqgo/nsq/internal/nsqclient"
	"github.com/nsqgo/nsq/internal/timermetrics"
	"github.com/nsqgo/nsq/internal/toolflags"
)

// handler delivers each message: to one address chosen by the pool, or,
// without a pool, to every address in turn (stopping at the first
// failure, so a redelivery repeats the earlier ones, as upstream). A
// returned error makes the consumer requeue the message with backoff.
type handler struct {
	send   func(addr string, body []byte) error
	addrs  []string
	pool   *hostpool.Pool // nil: every address
	sample float64
	float  func() float64

	perAddr   map[string]*timermetrics.Metrics
	aggregate *timermetrics.Metrics
}

func newHandler(opts *options, send func(string, []byte) error, logger *toolflags.Logs) (*handler, error) {
	h := &handler{
		send:      send,
		addrs:     opts.addrs,
		sample:    opts.sample,
		float:     rand.Float64,
		perAddr:   map[string]*timermetrics.Metrics{},
		aggregate: timermetrics.New(opts.statusEvery, "[aggregate]:", logger.Printf),
	}
	if opts.pooled {
		pool, err := hostpool.New(opts.addrs, opts.mode)
		if err != nil {
			return nil, err
		}
		h.pool = pool
	}
	for _, addr := range opts.addrs {
		// With one address its line would repeat the aggregate one.
		every := opts.statusEvery
		if len(opts.addrs) == 1 {
			every = 0
		}
		h.perAddr[addr] = timermetrics.New(every, fmt.Sprintf("[%s]:", addr), logger.Printf)
	}
	return h, nil
}

// HandleMessage delivers m; a message left out by --sample is finished
// without being sent.
func (h *handler) HandleMessage(m *nsqclient.Message) error {
	if h.sample < 1.0 && h.float() > h.sample {
		return nil
	}
	start := time.Now()
	if h.pool == nil {
		for _, addr := range h.addrs {
			sent := time.Now()
			if err := h.send(addr, m.Body); err != nil {
				return err
			}
			h.perAddr[addr].Status(sent)
		}
	} else {
		choice := h.pool.Get()
		err := h.send(choice.Host, m.Body)
		choice.Mark(err)
		if err != nil {
			return err
		}
		h.perAddr[choice.Host].Status(start)
	}
	h.aggregate.Status(start)
	return nil
}
