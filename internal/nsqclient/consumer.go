package nsqclient

import (
	"context"
	"fmt"
	"net"
	"sync"
	"sync/atomic"
	"time"

	"github.com/nsqgo/nsq/internal/clock"
	"github.com/nsqgo/nsq/internal/lookupdhttp"
	"github.com/nsqgo/nsq/internal/protocol"
)

// Consumer reads one topic/channel from any number of nsqds. Create it
// with NewConsumer, add handlers, then connect with ConnectToNSQD and/or
// ConnectToNSQLookupd; Stop ends it gracefully and Done reports when it
// has.
type Consumer struct {
	topic   string
	channel string
	opts    Options
	lookupd *lookupdhttp.Client
	clock   clock.Clock // opts.Clock, or the wall clock

	// ctx is cancelled by Stop; dials, lookupd queries and reconnection
	// waits derive from it.
	ctx    context.Context
	cancel context.CancelFunc

	incoming chan *Message

	mu             sync.Mutex
	targets        map[string]*target
	conns          map[*consumerConn]struct{}
	lookupds       []string
	maxInFlight    int64
	backoffCounter int
	backoffTimeout bool // waiting out a backoff with RDY 0 everywhere
	handlers       int
	controlRunning bool
	pollerRunning  bool
	stopping       bool
	forced         bool

	// backoffActive mirrors backoffCounter > 0 || backoffTimeout so that
	// a successful Finish outside backoff takes no lock.
	backoffActive atomic.Bool

	stopCh    chan struct{} // closed by Stop
	forceCh   chan struct{} // closed when connections are closed without draining
	doneCh    chan struct{} // closed when everything has stopped
	backoffCh chan time.Duration
	recheckCh chan struct{}

	targetsWG  sync.WaitGroup
	handlersWG sync.WaitGroup
	bgWG       sync.WaitGroup

	received atomic.Uint64
	finished atomic.Uint64
	requeued atomic.Uint64
}

// NewConsumer validates the names and options and returns a consumer that
// is not connected yet.
func NewConsumer(topic, channel string, opts *Options) (*Consumer, error) {
	if !protocol.ValidName(topic) {
		return nil, fmt.Errorf("invalid topic name %q", topic)
	}
	if !protocol.ValidName(channel) {
		return nil, fmt.Errorf("invalid channel name %q", channel)
	}
	if err := opts.Validate(); err != nil {
		return nil, err
	}
	ctx, cancel := context.WithCancel(context.Background())
	c := &Consumer{
		topic:       topic,
		channel:     channel,
		opts:        opts.clone(),
		clock:       opts.clock(),
		ctx:         ctx,
		cancel:      cancel,
		targets:     map[string]*target{},
		conns:       map[*consumerConn]struct{}{},
		maxInFlight: int64(opts.MaxInFlight),
		stopCh:      make(chan struct{}),
		forceCh:     make(chan struct{}),
		doneCh:      make(chan struct{}),
		backoffCh:   make(chan time.Duration, 1),
		recheckCh:   make(chan struct{}, 1),
	}
	c.lookupd = lookupdhttp.New(lookupdhttp.Options{ConnectTimeout: opts.DialTimeout, RequestTimeout: opts.LookupdPollTimeout})
	// Unbuffered, as go-nsq's: a reader hands a message over only when a
	// handler takes it, so what counts as in flight is what the handlers
	// hold (plus one per reader), and IsStarved tells a handler that
	// batches responses when to flush (nsq_to_file syncs on it).
	c.incoming = make(chan *Message)
	return c, nil
}

// Topic is the topic consumed.
func (c *Consumer) Topic() string { return c.topic }

// Channel is the channel consumed.
func (c *Consumer) Channel() string { return c.channel }

// AddHandler starts one goroutine running h for each message.
func (c *Consumer) AddHandler(h Handler) { c.AddConcurrentHandlers(h, 1) }

// AddConcurrentHandlers starts n goroutines running h. Handlers added
// after Stop are ignored.
func (c *Consumer) AddConcurrentHandlers(h Handler, n int) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.stopping {
		return
	}
	c.handlers += n
	c.handlersWG.Add(n)
	for range n {
		go c.handlerLoop(h)
	}
}

// ConnectToNSQD adds nsqd TCP addresses to consume from directly. Each is
// dialled in the background and redialled with backoff whenever its
// connection fails, until Stop; failures are logged.
func (c *Consumer) ConnectToNSQD(addrs ...string) error {
	for _, addr := range addrs {
		if _, _, err := net.SplitHostPort(addr); err != nil {
			return fmt.Errorf("nsqd address %q: %w", addr, err)
		}
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if err := c.connectableLocked(); err != nil {
		return err
	}
	for _, addr := range addrs {
		if t, ok := c.targets[addr]; ok {
			if !t.fromLookupd {
				return fmt.Errorf("nsqd %s: %w", addr, ErrAlreadyConnected)
			}
			t.fromLookupd = false // now wanted regardless of lookupd
			continue
		}
		c.addTargetLocked(addr, false)
	}
	c.startControlLocked()
	return nil
}

// ConnectToNSQLookupd adds lookupd HTTP addresses ("host:port" or a URL)
// to poll for the topic's producers: every producer listed is connected,
// and a connection whose producer no lookupd lists any more is closed
// gracefully.
func (c *Consumer) ConnectToNSQLookupd(addrs ...string) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if err := c.connectableLocked(); err != nil {
		return err
	}
	for _, addr := range addrs {
		known := false
		for _, have := range c.lookupds {
			known = known || have == addr
		}
		if !known {
			c.lookupds = append(c.lookupds, addr)
		}
	}
	if !c.pollerRunning {
		c.pollerRunning = true
		c.bgWG.Add(1)
		go c.pollLookupds()
	} else {
		c.requestRecheck()
	}
	c.startControlLocked()
	return nil
}

func (c *Consumer) connectableLocked() error {
	switch {
	case c.stopping:
		return ErrStopped
	case c.handlers == 0:
		return ErrNoHandler
	}
	return nil
}

// startControlLocked starts the goroutine for backoff timers and RDY
// redistribution, once.
func (c *Consumer) startControlLocked() {
	if !c.controlRunning {
		c.controlRunning = true
		c.bgWG.Add(1)
		go c.control()
	}
}

// ChangeMaxInFlight sets the in-flight budget and rebalances RDY; 0
// pauses delivery.
func (c *Consumer) ChangeMaxInFlight(n int) {
	c.mu.Lock()
	c.maxInFlight = int64(max(n, 0))
	touched := c.rebalanceLocked(c.clock.Now())
	c.mu.Unlock()
	syncRDY(touched)
}

// IsStarved reports whether some connection has at least 85% of its RDY
// in flight: nsqd will send it little or nothing more until messages are
// answered, so a caller batching responses should flush now.
func (c *Consumer) IsStarved() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	for cc := range c.conns {
		if cc.closing {
			continue
		}
		inFlight := cc.inFlight.Load()
		if inFlight > 0 && inFlight >= int64(float64(cc.want)*0.85) {
			return true
		}
	}
	return false
}

// ConnStats describes one connection.
type ConnStats struct {
	Addr     string
	RDY      int64 // the RDY count in force
	InFlight int64 // received and not yet finished or requeued
	Closing  bool  // CLS sent
}

// ConsumerStats is a snapshot of a Consumer's counters.
type ConsumerStats struct {
	MessagesReceived uint64
	MessagesFinished uint64
	MessagesRequeued uint64
	Connections      int
	Conns            []ConnStats
}

// Stats snapshots the counters and connections.
func (c *Consumer) Stats() ConsumerStats {
	c.mu.Lock()
	defer c.mu.Unlock()
	s := ConsumerStats{
		MessagesReceived: c.received.Load(),
		MessagesFinished: c.finished.Load(),
		MessagesRequeued: c.requeued.Load(),
		Connections:      len(c.conns),
	}
	for cc := range c.conns {
		s.Conns = append(s.Conns, ConnStats{Addr: cc.addr, RDY: cc.want, InFlight: cc.inFlight.Load(), Closing: cc.closing})
	}
	return s
}

func (c *Consumer) logf(level logLevel, format string, args ...any) {
	c.opts.logf(level, "[%s/%s] "+format, append([]any{c.topic, c.channel}, args...)...)
}
