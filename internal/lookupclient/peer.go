package lookupclient

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"net"
	"time"

	"github.com/nsqgo/nsq/internal/clock"
)

// batchSize bounds how many commands go out before their replies are read.
// Replies are 6 bytes, so a batch's replies always fit in socket buffers and
// pipelining cannot deadlock against a lookupd that answers in order.
const batchSize = 128

// peer is one lookupd. Its goroutine (run) owns the connection; the fields
// below mu are shared with Client methods.
type peer struct {
	c      *Client
	addr   string
	ctx    context.Context
	cancel context.CancelFunc
	wake   chan struct{} // capacity 1: "pending is not empty"

	// Guarded by c.mu.
	connected bool
	// registered: the full registration was written on this session
	// (Client.Registered, for nsqd's /readyz).
	registered bool
	pending    []command
	httpAddr   string // from the IDENTIFY reply; "" when not connected
}

func newPeer(c *Client, addr string) *peer {
	ctx, cancel := context.WithCancel(context.Background())
	return &peer{c: c, addr: addr, ctx: ctx, cancel: cancel, wake: make(chan struct{}, 1)}
}

func (p *peer) logf(format string, args ...any) {
	p.c.logf("LOOKUPD(%s): "+format, append([]any{p.addr}, args...)...)
}

// run connects, serves the session and reconnects with backoff until the
// peer is cancelled. Backoff restarts only after a session that got through
// its full registration, so a lookupd that accepts and then rejects us is
// not hammered.
func (p *peer) run() {
	defer p.c.wg.Done()
	// A fixed ticker, not reset by other traffic, as upstream.
	ticker := p.c.opts.Clock.NewTicker(p.c.opts.PingInterval)
	defer ticker.Stop()
	backoff := MinReconnectBackoff
	for {
		registered, err := p.session(ticker)
		if p.ctx.Err() != nil {
			return
		}
		if registered {
			backoff = MinReconnectBackoff
		}
		p.c.warnf("LOOKUPD(%s): %s - reconnecting in %s", p.addr, err, backoff)
		timer := p.c.opts.Clock.NewTimer(backoff)
		select {
		case <-p.ctx.Done():
			timer.Stop()
			return
		case <-timer.C():
		}
		if !registered {
			backoff = min(2*backoff, maxBackoff)
		}
	}
}

// session runs one connection: IDENTIFY, the full registration, then queued
// commands and PINGs until an error or cancellation.
func (p *peer) session(ticker clock.Ticker) (registered bool, err error) {
	dialer := net.Dialer{Timeout: p.c.opts.DialTimeout}
	conn, err := dialer.DialContext(p.ctx, "tcp", p.addr)
	if err != nil {
		return false, err
	}
	s := startWire(conn, p.c.opts)
	// Cancelling the peer closes the connection, which unblocks any write
	// and ends the reader.
	stopClosing := context.AfterFunc(p.ctx, func() { conn.Close() })
	defer func() {
		stopClosing()
		s.close()
		p.setDisconnected()
	}()

	hello, err := appendHello(nil, p.c.opts.Identity)
	if err != nil {
		return false, err
	}
	reply, err := s.roundTrip(hello)
	if err != nil {
		return false, fmt.Errorf("IDENTIFY - %w", err)
	}
	info, err := parseIdentifyReply(reply)
	if err != nil {
		return false, err
	}
	p.logf("peer info %+v", info)
	if info.BroadcastAddress == "" {
		p.logf("no broadcast address")
	}

	cmds := p.setConnected(info.httpAddress())
	if err := s.send(cmds, p.logf); err != nil {
		return false, err
	}
	p.setRegistered()
	for {
		select {
		case <-p.ctx.Done():
			return true, p.ctx.Err()
		case <-p.wake:
			if err := s.send(p.takePending(), p.logf); err != nil {
				return true, err
			}
		case <-ticker.C():
			if err := s.send([]command{pingCommand}, nil); err != nil {
				return true, err
			}
		case <-s.done:
			// The lookupd closed the connection (a restart, say) while
			// idle: notice now rather than at the next PING.
			return true, fmt.Errorf("connection lost - %w", s.err)
		case reply := <-s.replies:
			return true, fmt.Errorf("unexpected reply %q", reply)
		}
	}
}

// setConnected marks the peer connected and returns the full registration;
// both under one lock, so every later change is queued and none is missed.
func (p *peer) setConnected(httpAddr string) []command {
	p.c.mu.Lock()
	defer p.c.mu.Unlock()
	p.connected = true
	p.httpAddr = httpAddr
	p.pending = nil
	return p.c.snapshotLocked()
}

// setDisconnected drops what was queued: the next session re-registers
// everything anyway (as upstream, failed commands are not replayed).
func (p *peer) setDisconnected() {
	p.c.mu.Lock()
	defer p.c.mu.Unlock()
	p.connected = false
	p.registered = false
	p.httpAddr = ""
	p.pending = nil
}

func (p *peer) setRegistered() {
	p.c.mu.Lock()
	defer p.c.mu.Unlock()
	p.registered = p.connected
}

func (p *peer) takePending() []command {
	p.c.mu.Lock()
	defer p.c.mu.Unlock()
	cmds := p.pending
	p.pending = nil
	return cmds
}

// wire is one connection's request/reply plumbing. Its reader goroutine
// delivers replies in order and records why it stopped.
type wire struct {
	conn    net.Conn
	timeout time.Duration
	replies chan []byte
	done    chan struct{} // closed when the reader stops; err is set then
	err     error
	quit    chan struct{} // closed by close so the reader never blocks
	buf     []byte
}

func startWire(conn net.Conn, opts Options) *wire {
	w := &wire{
		conn:    conn,
		timeout: opts.CommandTimeout,
		replies: make(chan []byte, batchSize),
		done:    make(chan struct{}),
		quit:    make(chan struct{}),
	}
	go w.readLoop(opts.MaxResponseSize)
	return w
}

func (w *wire) readLoop(limit int64) {
	defer close(w.done)
	r := bufio.NewReader(w.conn)
	for {
		reply, err := readResponse(r, limit)
		if err != nil {
			w.err = err
			return
		}
		select {
		case w.replies <- reply:
		case <-w.quit:
			w.err = net.ErrClosed
			return
		}
	}
}

// close ends the connection and waits for the reader.
func (w *wire) close() {
	close(w.quit)
	w.conn.Close()
	<-w.done
}

// roundTrip writes raw bytes and waits for one reply.
func (w *wire) roundTrip(raw []byte) ([]byte, error) {
	if err := w.write(raw); err != nil {
		return nil, err
	}
	timer := time.NewTimer(w.timeout)
	defer timer.Stop()
	return w.await(timer)
}

func (w *wire) write(raw []byte) error {
	if err := w.conn.SetWriteDeadline(time.Now().Add(w.timeout)); err != nil {
		return err
	}
	_, err := w.conn.Write(raw)
	return err
}

func (w *wire) await(timer *time.Timer) ([]byte, error) {
	select {
	case reply := <-w.replies:
		return reply, nil
	case <-w.done:
		// A reply may have been delivered just before the reader stopped.
		select {
		case reply := <-w.replies:
			return reply, nil
		default:
		}
		if w.err == nil {
			return nil, net.ErrClosed
		}
		return nil, w.err
	case <-timer.C:
		return nil, errors.New("timed out waiting for reply")
	}
}

// send writes cmds in pipelined batches and checks that each is answered
// "OK". logf (when set) logs each command, as upstream logs registrations.
func (w *wire) send(cmds []command, logf func(string, ...any)) error {
	for len(cmds) > 0 {
		batch := cmds[:min(len(cmds), batchSize)]
		cmds = cmds[len(batch):]
		w.buf = w.buf[:0]
		for _, cmd := range batch {
			if logf != nil {
				logf("%s", cmd)
			}
			w.buf = cmd.appendTo(w.buf)
		}
		if err := w.write(w.buf); err != nil {
			return fmt.Errorf("%s - %w", batch[0], err)
		}
		timer := time.NewTimer(w.timeout)
		for _, cmd := range batch {
			reply, err := w.await(timer)
			if err != nil {
				timer.Stop()
				return fmt.Errorf("%s - %w", cmd, err)
			}
			if string(reply) != "OK" {
				timer.Stop()
				return fmt.Errorf("%s - lookupd replied %q", cmd, reply)
			}
		}
		timer.Stop()
	}
	return nil
}
