package nsqclient

import (
	"math/rand/v2"
	"time"
)

// Backoff after handler failures, as go-nsq: a requeue with backoff raises
// the backoff level (while the next level's duration stays within
// max_backoff_duration) and pauses the consumer: RDY 0 everywhere for the
// level's duration, then RDY 1 on one connection to test the waters. A
// finished message lowers the level; at 0 every connection gets its full
// share again, otherwise the consumer pauses again for the lower level's
// duration. Outcomes arriving during a pause are ignored.

type backoffSignal int

const (
	signalResume   backoffSignal = iota // a message finished
	signalBackoff                       // a message requeued with backoff
	signalContinue                      // a message requeued without backoff
)

func (c *Consumer) backoffSignal(sig backoffSignal) {
	if sig == signalContinue || (sig == signalResume && !c.backoffActive.Load()) {
		return
	}
	c.mu.Lock()
	if c.stopping || c.backoffTimeout {
		c.mu.Unlock()
		return
	}
	updated := false
	switch sig {
	case signalResume:
		if c.backoffCounter > 0 {
			c.backoffCounter--
			updated = true
		}
	case signalBackoff:
		if c.backoffDuration(c.backoffCounter+1) <= c.opts.MaxBackoffDuration {
			c.backoffCounter++
			updated = true
		}
	}
	var touched []*consumerConn
	switch {
	case updated && c.backoffCounter == 0:
		c.logf(warnLevel, "exiting backoff, returning all to RDY %d", c.maxInFlight)
		c.backoffActive.Store(false)
		touched = c.rebalanceLocked(c.clock.Now())
	case c.backoffCounter > 0:
		d := c.backoffDurationLocked()
		c.logf(warnLevel, "backing off for %s (backoff level %d), setting all to RDY 0", d, c.backoffCounter)
		c.startBackoffLocked(d)
		touched = c.activeConnsLocked()
	}
	c.mu.Unlock()
	syncRDY(touched)
}

// startBackoffLocked sets RDY 0 everywhere and arms the timer that ends
// the pause.
func (c *Consumer) startBackoffLocked(d time.Duration) {
	c.backoffTimeout = true
	c.backoffActive.Store(true)
	c.rebalanceLocked(c.clock.Now())
	// Only senders holding c.mu fill the one-slot channel, so after
	// discarding a stale request there is room.
	select {
	case <-c.backoffCh:
	default:
	}
	c.backoffCh <- d
}

// resume ends a pause: RDY 1 on one random connection.
func (c *Consumer) resume() {
	c.mu.Lock()
	if c.stopping || !c.backoffTimeout {
		c.mu.Unlock()
		return
	}
	c.backoffTimeout = false
	if c.backoffCounter == 0 {
		c.backoffActive.Store(false)
	}
	var touched []*consumerConn
	if len(c.activeConnsLocked()) == 0 {
		// Nobody to test the waters with; look again in a while.
		c.startBackoffLocked(time.Second)
	} else {
		c.logf(warnLevel, "backoff timeout expired, sending RDY 1")
		touched = c.rebalanceLocked(c.clock.Now())
	}
	c.mu.Unlock()
	syncRDY(touched)
}

// backoffDurationLocked is the pause for the current level, at most
// max_backoff_duration.
func (c *Consumer) backoffDurationLocked() time.Duration {
	return min(c.backoffDuration(c.backoffCounter), c.opts.MaxBackoffDuration)
}

// backoffDuration is go-nsq's strategy: backoff_multiplier × 2^level, or
// a uniformly random part of it with full_jitter.
func (c *Consumer) backoffDuration(level int) time.Duration {
	d := c.opts.BackoffMultiplier
	for i := 0; i < level && d < time.Duration(1)<<50; i++ {
		d *= 2
	}
	if c.opts.BackoffStrategy == BackoffFullJitter && d > 0 {
		return rand.N(d)
	}
	return d
}
