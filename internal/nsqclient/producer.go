package nsqclient

import (
	"context"
	"errors"
	"fmt"
	"net"
	"sync"
	"time"

	"github.com/nsqgo/nsq/internal/protocol"
)

// Producer publishes to one nsqd over one connection, dialled on first use
// and again after a failure. Publish waits for nsqd's answer; the Async
// forms pipeline: each outstanding command's Transaction is completed, in
// order, when its answer arrives or its connection fails.
type Producer struct {
	addr string
	opts Options

	ctx    context.Context // cancelled by Stop; aborts a dial in progress
	cancel context.CancelFunc

	mu      sync.Mutex // guards pc and stopped; held while dialling
	pc      *producerConn
	stopped bool

	readers sync.WaitGroup
}

// Transaction is the outcome of one asynchronous command: Error is nil
// when nsqd answered OK, the *ProtocolError nsqd sent, or ErrClosed /
// ErrStopped when the connection ended first. Args are the caller's.
type Transaction struct {
	Error error
	Args  []any
	done  chan<- *Transaction
}

// producerConn is one connection and its FIFO of outstanding commands.
type producerConn struct {
	conn *conn

	// wmu orders appends to the FIFO together with the writes, so the FIFO
	// is the wire order; qmu alone guards the FIFO, so the reader never
	// waits behind a blocked write.
	wmu     sync.Mutex
	qmu     sync.Mutex
	pending []*Transaction
	dead    bool
}

// NewProducer validates opts and returns a Producer for the nsqd at addr
// (host:port); it does not connect yet.
func NewProducer(addr string, opts *Options) (*Producer, error) {
	if _, _, err := net.SplitHostPort(addr); err != nil {
		return nil, fmt.Errorf("nsqd address %q: %w", addr, err)
	}
	if err := opts.Validate(); err != nil {
		return nil, err
	}
	ctx, cancel := context.WithCancel(context.Background())
	return &Producer{addr: addr, opts: opts.clone(), ctx: ctx, cancel: cancel}, nil
}

// String is the nsqd address.
func (p *Producer) String() string { return p.addr }

// Ping connects if needed and sends NOP, to check the nsqd is reachable.
func (p *Producer) Ping() error {
	pc, err := p.connection()
	if err != nil {
		return err
	}
	return pc.conn.send(appendNop)
}

// Publish sends PUB and waits for nsqd's answer.
func (p *Producer) Publish(topic string, body []byte) error {
	return p.wait(func(done chan<- *Transaction) error { return p.PublishAsync(topic, body, done) })
}

// MultiPublish sends MPUB and waits for nsqd's answer.
func (p *Producer) MultiPublish(topic string, bodies [][]byte) error {
	return p.wait(func(done chan<- *Transaction) error { return p.MultiPublishAsync(topic, bodies, done) })
}

// DeferredPublish sends DPUB (delivery after delay, whole milliseconds)
// and waits for nsqd's answer.
func (p *Producer) DeferredPublish(topic string, delay time.Duration, body []byte) error {
	return p.wait(func(done chan<- *Transaction) error { return p.DeferredPublishAsync(topic, delay, body, done) })
}

// PublishAsync sends PUB without waiting. The Transaction, carrying args,
// is sent on done (if not nil) when the outcome is known; done must be
// drained, since the connection's reader waits to deliver it. An error
// return means nothing was sent and nothing will arrive on done.
func (p *Producer) PublishAsync(topic string, body []byte, done chan<- *Transaction, args ...any) error {
	if err := checkPublish(topic, body); err != nil {
		return err
	}
	return p.sendAsync(func(b []byte) []byte { return appendPub(b, topic, body) }, done, args)
}

// MultiPublishAsync is PublishAsync for MPUB.
func (p *Producer) MultiPublishAsync(topic string, bodies [][]byte, done chan<- *Transaction, args ...any) error {
	if len(bodies) == 0 {
		return errors.New("MPUB needs at least one message")
	}
	for _, body := range bodies {
		if err := checkPublish(topic, body); err != nil {
			return err
		}
	}
	return p.sendAsync(func(b []byte) []byte { return appendMPub(b, topic, bodies) }, done, args)
}

// DeferredPublishAsync is PublishAsync for DPUB.
func (p *Producer) DeferredPublishAsync(topic string, delay time.Duration, body []byte, done chan<- *Transaction, args ...any) error {
	if err := checkPublish(topic, body); err != nil {
		return err
	}
	if delay < 0 {
		return fmt.Errorf("DPUB delay %v is negative", delay)
	}
	return p.sendAsync(func(b []byte) []byte { return appendDPub(b, topic, delay, body) }, done, args)
}

// checkPublish rejects what nsqd would answer with a fatal error, which
// would also fail every other command pipelined on the connection.
func checkPublish(topic string, body []byte) error {
	if !protocol.ValidName(topic) {
		return fmt.Errorf("invalid topic name %q", topic)
	}
	if len(body) == 0 {
		return errors.New("message body is empty")
	}
	return nil
}

func (p *Producer) wait(send func(chan<- *Transaction) error) error {
	done := make(chan *Transaction, 1)
	if err := send(done); err != nil {
		return err
	}
	return (<-done).Error
}

func (p *Producer) sendAsync(encode func([]byte) []byte, done chan<- *Transaction, args []any) error {
	t := &Transaction{Args: args, done: done}
	// A connection can die between being handed out and being used;
	// then one fresh connection is tried.
	for range 2 {
		pc, err := p.connection()
		if err != nil {
			return err
		}
		pc.wmu.Lock()
		pc.qmu.Lock()
		if pc.dead {
			pc.qmu.Unlock()
			pc.wmu.Unlock()
			continue
		}
		pc.pending = append(pc.pending, t)
		pc.qmu.Unlock()
		// A failed write is reported through the Transaction: the reader
		// sees the connection end and fails everything outstanding.
		pc.conn.send(encode)
		pc.wmu.Unlock()
		return nil
	}
	return fmt.Errorf("nsqd %s: %w", p.addr, ErrClosed)
}

// connection returns the live connection, dialling one if needed.
func (p *Producer) connection() (*producerConn, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.stopped {
		return nil, ErrStopped
	}
	if p.pc != nil {
		return p.pc, nil
	}
	p.opts.logf(infoLevel, "(%s) connecting to nsqd", p.addr)
	wire, _, err := dial(p.ctx, p.addr, &p.opts, nil)
	if err != nil {
		if p.ctx.Err() != nil {
			return nil, ErrStopped
		}
		return nil, err
	}
	pc := &producerConn{conn: wire}
	p.pc = pc
	p.readers.Add(1)
	go p.readLoop(pc)
	return pc, nil
}

// readLoop matches answers to outstanding commands until the connection
// ends, then fails whatever is still outstanding.
func (p *Producer) readLoop(pc *producerConn) {
	defer p.readers.Done()
	err := p.readAnswers(pc)
	pc.conn.close()

	p.mu.Lock()
	if p.pc == pc {
		p.pc = nil
	}
	stopped := p.stopped
	p.mu.Unlock()

	pc.qmu.Lock()
	pc.dead = true
	pending := pc.pending
	pc.pending = nil
	pc.qmu.Unlock()

	result := fmt.Errorf("nsqd %s: %w (%v)", p.addr, ErrClosed, err)
	switch {
	case stopped:
		result = fmt.Errorf("nsqd %s: %w", p.addr, ErrStopped)
	case len(pending) > 0:
		p.opts.logf(errorLevel, "(%s) connection closed with %d commands outstanding - %s", p.addr, len(pending), err)
	default:
		// An idle connection closed (nsqd restarting, read timeout): the
		// next publish dials again.
		p.opts.logf(warnLevel, "(%s) connection closed - %s", p.addr, err)
	}
	for _, t := range pending {
		t.complete(result)
	}
}

func (p *Producer) readAnswers(pc *producerConn) error {
	for {
		frameType, data, err := pc.conn.readFrame()
		if err != nil {
			return err
		}
		var result error
		switch frameType {
		case protocol.FrameTypeMessage:
			p.opts.logf(warnLevel, "(%s) unexpected message frame on a producer connection", p.addr)
			continue
		case protocol.FrameTypeResponse:
			if pc.conn.answerHeartbeat(data) {
				continue
			}
		case protocol.FrameTypeError:
			result = parseProtocolError(data)
		}
		t := pc.pop()
		if t == nil {
			// An answer to nothing: the stream is out of step with our
			// FIFO, so nothing after it can be trusted (go-nsq closes too).
			return fmt.Errorf("%w: answer %q with no command outstanding", ErrBadFrame, data)
		}
		t.complete(result)
	}
}

func (pc *producerConn) pop() *Transaction {
	pc.qmu.Lock()
	defer pc.qmu.Unlock()
	if len(pc.pending) == 0 {
		return nil
	}
	t := pc.pending[0]
	pc.pending[0] = nil
	pc.pending = pc.pending[1:]
	return t
}

func (t *Transaction) complete(err error) {
	t.Error = err
	if t.done != nil {
		t.done <- t
	}
}

// Stop closes the connection; outstanding commands complete with
// ErrStopped and later ones fail with it. It waits for the reader.
func (p *Producer) Stop() {
	p.cancel()
	p.mu.Lock()
	p.stopped = true
	pc := p.pc
	p.pc = nil
	p.mu.Unlock()
	if pc != nil {
		pc.conn.close()
	}
	p.readers.Wait()
}
