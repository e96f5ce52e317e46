package nsqclient

import (
	"context"
	"math/rand/v2"
	"time"

	"github.com/nsqgo/nsq/internal/lookupdhttp"
)

// pollLookupds asks the lookupds for the topic's producers now, then,
// after a random part (lookupd_poll_jitter) of the interval so that
// consumers restarted together spread their queries, every
// lookupd_poll_interval and whenever a connection is lost. It stops with
// the consumer.
func (c *Consumer) pollLookupds() {
	defer c.bgWG.Done()
	c.queryLookupds()
	jitter := time.Duration(rand.Float64() * c.opts.LookupdPollJitter * float64(c.opts.LookupdPollInterval))
	if !sleepCtx(c.ctx, c.clock, jitter) {
		return
	}
	ticker := c.clock.NewTicker(c.opts.LookupdPollInterval)
	defer ticker.Stop()
	for {
		select {
		case <-c.stopCh:
			return
		case <-ticker.C():
		case <-c.recheckCh:
		}
		c.queryLookupds()
	}
}

// requestRecheck asks the poller for an early query; requests made while
// one is pending merge.
func (c *Consumer) requestRecheck() {
	select {
	case c.recheckCh <- struct{}{}:
	default:
	}
}

// queryLookupds queries every lookupd at once and applies the union of
// their producers. Producers are only dropped when every lookupd
// answered: one that failed might be the only one still listing them.
func (c *Consumer) queryLookupds() {
	c.mu.Lock()
	addrs := append([]string(nil), c.lookupds...)
	c.mu.Unlock()
	answers := lookupdhttp.AskEach(c.ctx, addrs, func(ctx context.Context, addr string) ([]lookupdhttp.Node, error) {
		ctx, cancel := context.WithTimeout(ctx, c.opts.LookupdPollTimeout)
		defer cancel()
		return c.lookupd.Producers(ctx, addr, c.topic)
	})
	failed := false
	for _, a := range answers {
		if a.Err != nil {
			failed = true
			if c.ctx.Err() == nil {
				c.logf(warnLevel, "error querying nsqlookupd (%s) - %s", a.Addr, a.Err)
			}
		}
	}
	found := map[string]bool{}
	for _, addr := range lookupdhttp.Union(answers, lookupdhttp.Node.TCPAddress) {
		found[addr] = true
	}
	c.applyDiscovered(found, !failed)
}

// applyDiscovered connects to new producers and, when the answer is
// complete, gracefully closes connections to producers no longer listed.
func (c *Consumer) applyDiscovered(found map[string]bool, complete bool) {
	c.mu.Lock()
	if c.stopping {
		c.mu.Unlock()
		return
	}
	for addr := range found {
		if _, ok := c.targets[addr]; !ok {
			c.addTargetLocked(addr, true)
		}
	}
	var cls []*consumerConn
	if complete {
		for addr, t := range c.targets {
			if t.fromLookupd && !found[addr] {
				c.logf(infoLevel, "(%s) no longer listed by nsqlookupd, disconnecting", addr)
				if cc := c.dropTargetLocked(t); cc != nil {
					cls = append(cls, cc)
				}
			}
		}
	}
	var touched []*consumerConn
	if len(cls) > 0 {
		touched = c.rebalanceLocked(c.clock.Now())
	}
	c.mu.Unlock()
	syncRDY(touched)
	for _, cc := range cls {
		if err := cc.conn.send(appendCls); err != nil {
			cc.conn.close()
		}
	}
}
