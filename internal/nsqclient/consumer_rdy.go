package nsqclient

import (
	"math/rand/v2"
	"slices"
	"time"

	"github.com/nsqgo/nsq/internal/clock"
)

// RDY allocation. nsqd treats RDY as a ceiling on a connection's
// unacknowledged messages, so a connection's RDY only needs writing when
// its share changes: when connections come and go, when max-in-flight
// changes, and on entering and leaving backoff.
//
// The budget is max-in-flight normally, 1 while testing the waters after a
// backoff, and 0 while waiting one out. With at least one slot per
// connection, each gets max(1, budget/n) as in go-nsq, never summing
// above the budget. With fewer slots than connections, RDY 1 goes to
// budget of them, and every rdy_redistribute_interval a holder that has
// been idle for low_rdy_idle_timeout, or held it for low_rdy_timeout,
// passes it to a connection without.

// activeConnsLocked lists the connections that take part in allocation
// (not closing), in random order so that ties are broken fairly.
func (c *Consumer) activeConnsLocked() []*consumerConn {
	conns := make([]*consumerConn, 0, len(c.conns))
	for cc := range c.conns {
		if !cc.closing {
			conns = append(conns, cc)
		}
	}
	rand.Shuffle(len(conns), func(i, j int) { conns[i], conns[j] = conns[j], conns[i] })
	return conns
}

func (c *Consumer) budgetLocked() int64 {
	switch {
	case c.backoffTimeout:
		return 0
	case c.backoffCounter > 0:
		return 1
	}
	return c.maxInFlight
}

// setWantLocked records the RDY decided for cc.
func (cc *consumerConn) setWantLocked(n int64, now time.Time) {
	if n == cc.want {
		return
	}
	if cc.want == 0 {
		cc.rdySince = now
	}
	cc.want = n
	cc.wantRDY.Store(n)
}

// rebalanceLocked shares the budget among the active connections and
// returns them for syncRDY.
func (c *Consumer) rebalanceLocked(now time.Time) []*consumerConn {
	conns := c.activeConnsLocked()
	n := int64(len(conns))
	if n == 0 {
		return nil
	}
	budget := c.budgetLocked()
	if budget >= n {
		for _, cc := range conns {
			cc.setWantLocked(min(budget/n, cc.maxRDY), now)
		}
		return conns
	}
	// Fewer slots than connections: keep the current holders first.
	var holders, others []*consumerConn
	for _, cc := range conns {
		if cc.want > 0 {
			holders = append(holders, cc)
		} else {
			others = append(others, cc)
		}
	}
	for _, cc := range append(holders, others...) {
		if budget > 0 {
			cc.setWantLocked(1, now)
			budget--
		} else {
			cc.setWantLocked(0, now)
		}
	}
	return conns
}

// redistributeLocked moves RDY 1 from idle or long-time holders to
// connections without, when there are fewer slots than connections.
func (c *Consumer) redistributeLocked(now time.Time) []*consumerConn {
	conns := c.activeConnsLocked()
	budget := c.budgetLocked()
	if budget == 0 || budget >= int64(len(conns)) {
		return nil
	}
	var waiting, released []*consumerConn
	for _, cc := range conns {
		if cc.want == 0 {
			waiting = append(waiting, cc)
		}
	}
	if len(waiting) == 0 {
		return nil
	}
	// The connection that has waited longest since it last held RDY goes
	// first, so every nsqd gets its turn (a random pick can pass one over
	// many times in a row); ties keep the shuffled order.
	slices.SortStableFunc(waiting, func(a, b *consumerConn) int { return a.rdySince.Compare(b.rdySince) })
	for _, cc := range conns {
		if cc.want == 0 || cc.inFlight.Load() > 0 {
			continue
		}
		idleSince := max(cc.rdySince.UnixNano(), cc.lastMsg.Load())
		if now.UnixNano()-idleSince > int64(c.opts.LowRdyIdleTimeout) || now.Sub(cc.rdySince) > c.opts.LowRdyTimeout {
			cc.setWantLocked(0, now)
			released = append(released, cc)
		}
	}
	free := budget
	for _, cc := range conns {
		free -= cc.want
	}
	// Prefer connections that were waiting over the ones just released.
	for _, cc := range append(waiting, released...) {
		if free <= 0 {
			break
		}
		if cc.want == 0 {
			cc.setWantLocked(1, now)
			free--
		}
	}
	return conns
}

// control runs the backoff timer and RDY redistribution until Stop.
func (c *Consumer) control() {
	defer c.bgWG.Done()
	ticker := c.clock.NewTicker(c.opts.RDYRedistributeInterval)
	defer ticker.Stop()
	var pause clock.Timer // made by the first backoff, reset by later ones
	defer func() {
		if pause != nil {
			pause.Stop()
		}
	}()
	var expired <-chan time.Time
	for {
		select {
		case <-c.stopCh:
			return
		case d := <-c.backoffCh:
			if pause == nil {
				pause = c.clock.NewTimer(d)
			} else {
				pause.Reset(d)
			}
			expired = pause.C()
		case <-expired:
			expired = nil
			c.resume()
		case <-ticker.C():
			// Idleness is judged as of now, not of the tick: a tick read
			// late stands for the ones dropped meanwhile (a fake clock
			// advanced past many intervals delivers one of them).
			c.mu.Lock()
			touched := c.redistributeLocked(c.clock.Now())
			c.mu.Unlock()
			syncRDY(touched)
		}
	}
}
