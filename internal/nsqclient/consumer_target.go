package nsqclient

import (
	"context"
	"errors"
	"math/rand/v2"
	"time"

	"github.com/nsqgo/nsq/internal/clock"
)

// minReconnectDelay is the first wait before redialling an nsqd; waits
// double up to lookupd_poll_interval, go-nsq's reconnection period.
const minReconnectDelay = 100 * time.Millisecond

var errNotWanted = errors.New("address no longer wanted")

// target is an nsqd address the consumer wants a connection to, given
// directly or found through lookupd. Its goroutine (run) owns the
// connection to it.
type target struct {
	addr        string
	fromLookupd bool // dropped when the lookupds stop listing it
	ctx         context.Context
	cancel      context.CancelFunc
	cc          *consumerConn // the live connection, under Consumer.mu
	// firstResult, when set (ConnectToNSQDNow), is told the outcome of the
	// first attempt; after a failure the target is dropped, not retried.
	// Only runTarget reads it.
	firstResult chan<- error
}

// addTargetLocked starts wanting addr. The caller holds c.mu and has
// checked that the consumer is not stopping.
func (c *Consumer) addTargetLocked(addr string, fromLookupd bool) {
	c.addTargetReportingLocked(addr, fromLookupd, nil)
}

// addTargetReportingLocked is addTargetLocked telling firstResult (if not
// nil) how the first attempt went.
func (c *Consumer) addTargetReportingLocked(addr string, fromLookupd bool, firstResult chan<- error) {
	ctx, cancel := context.WithCancel(c.ctx)
	t := &target{addr: addr, fromLookupd: fromLookupd, ctx: ctx, cancel: cancel, firstResult: firstResult}
	c.targets[addr] = t
	c.targetsWG.Add(1)
	go c.runTarget(t)
}

// dropTargetLocked stops wanting t: no more reconnection, and its
// connection, if any, is marked closing and returned for the caller to
// send CLS once c.mu is released.
func (c *Consumer) dropTargetLocked(t *target) *consumerConn {
	delete(c.targets, t.addr)
	t.cancel()
	if t.cc != nil && !t.cc.closing {
		t.cc.closing = true
		return t.cc
	}
	return nil
}

// runTarget connects to t and reconnects after failures, with backoff,
// until t is dropped or the consumer stops.
func (c *Consumer) runTarget(t *target) {
	defer c.targetsWG.Done()
	failures := 0
	for t.ctx.Err() == nil {
		cc, err := c.connectTarget(t)
		if result := t.firstResult; result != nil {
			t.firstResult = nil
			if err != nil {
				// Dropped before the caller hears of the failure, so that
				// once ConnectToNSQDNow returns the address is no longer a
				// target (and may be tried again).
				c.mu.Lock()
				if c.targets[t.addr] == t {
					c.dropTargetLocked(t)
				}
				c.mu.Unlock()
				result <- err
				return
			}
			result <- nil
		}
		if err != nil {
			if t.ctx.Err() != nil {
				return
			}
			failures++
			delay := reconnectDelay(failures, c.opts.LookupdPollInterval)
			c.logf(errorLevel, "(%s) error connecting to nsqd - %s; retrying in %s", t.addr, err, delay.Round(time.Millisecond))
			if !sleepCtx(t.ctx, c.clock, delay) {
				return
			}
			continue
		}
		failures = 0
		err = cc.run()
		cc.conn.close()
		c.removeConn(t, cc)
		if t.ctx.Err() != nil {
			c.logf(infoLevel, "(%s) connection closed", t.addr)
			return
		}
		c.logf(warnLevel, "(%s) connection lost - %s; reconnecting", t.addr, err)
		// The nsqd may be gone for good: ask the lookupds now rather
		// than at the next poll.
		c.requestRecheck()
		if !sleepCtx(t.ctx, c.clock, reconnectDelay(1, c.opts.LookupdPollInterval)) {
			return
		}
	}
}

// connectTarget dials and subscribes, then registers the connection and
// gives it its share of RDY.
func (c *Consumer) connectTarget(t *target) (*consumerConn, error) {
	c.logf(infoLevel, "(%s) connecting to nsqd", t.addr)
	wire, resp, err := dial(t.ctx, t.addr, &c.opts, &subscription{topic: c.topic, channel: c.channel})
	if err != nil {
		return nil, err
	}
	cc := &consumerConn{c: c, conn: wire, addr: t.addr, maxRDY: resp.MaxRdyCount}
	c.mu.Lock()
	if c.stopping || t.ctx.Err() != nil {
		c.mu.Unlock()
		wire.close()
		return nil, errNotWanted
	}
	t.cc = cc
	c.conns[cc] = struct{}{}
	touched := c.rebalanceLocked(c.clock.Now())
	c.mu.Unlock()
	syncRDY(touched)
	return cc, nil
}

// removeConn forgets a finished connection and moves its RDY share to the
// others.
func (c *Consumer) removeConn(t *target, cc *consumerConn) {
	c.mu.Lock()
	delete(c.conns, cc)
	if t.cc == cc {
		t.cc = nil
	}
	var touched []*consumerConn
	if c.backoffCounter > 0 && !c.backoffTimeout && cc.want > 0 {
		// It held the single RDY that tests the waters after a backoff;
		// probe again on another connection after a pause.
		c.startBackoffLocked(c.backoffDurationLocked())
		touched = c.activeConnsLocked()
	} else {
		touched = c.rebalanceLocked(c.clock.Now())
	}
	c.mu.Unlock()
	syncRDY(touched)
}

// reconnectDelay is the wait before attempt n+1: exponential from
// minReconnectDelay up to limit, jittered so that consumers that lost the
// same nsqd do not return in lockstep.
func reconnectDelay(failures int, limit time.Duration) time.Duration {
	d := minReconnectDelay
	for i := 1; i < failures && d < limit; i++ {
		d *= 2
	}
	d = min(d, limit)
	return d/2 + rand.N(d/2+1)
}

// sleepCtx waits d on clk, or less if ctx ends; it reports whether ctx
// is alive. No wait is no timer, so a fake clock need not be advanced.
func sleepCtx(ctx context.Context, clk clock.Clock, d time.Duration) bool {
	if d <= 0 {
		return ctx.Err() == nil
	}
	timer := clk.NewTimer(d)
	defer timer.Stop()
	select {
	case <-timer.C():
		return true
	case <-ctx.Done():
		return false
	}
}
