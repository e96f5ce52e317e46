package main

import (
	"context"
	"time"

	"github.com/nsqgo/nsq/internal/clock"
)

// tokenBucket paces publishes to --rate a second: it holds up to one
// second's worth of tokens, as upstream's throttle does, and starts with
// one so the first message goes at once.
type tokenBucket struct {
	rate   float64 // tokens a second
	tokens float64 // may go negative: a debt the caller waits out
	last   time.Time
	clock  clock.Clock
}

// newTokenBucket returns a bucket for rate messages a second, or nil
// (no limit) when rate < 1, as upstream.
func newTokenBucket(rate int64, clk clock.Clock) *tokenBucket {
	if rate < 1 {
		return nil
	}
	return &tokenBucket{rate: float64(rate), tokens: 1, last: clk.Now(), clock: clk}
}

// reserve takes a token and returns how long to wait before using it.
func (b *tokenBucket) reserve() time.Duration {
	now := b.clock.Now()
	b.tokens = min(b.tokens+now.Sub(b.last).Seconds()*b.rate, b.rate)
	b.last = now
	b.tokens--
	if b.tokens >= 0 {
		return 0
	}
	return time.Duration(-b.tokens / b.rate * float64(time.Second))
}

// wait blocks until the next message may go; false if ctx ended first.
// A nil bucket never waits.
func (b *tokenBucket) wait(ctx context.Context) bool {
	if b == nil {
		return ctx.Err() == nil
	}
	d := b.reserve()
	if d <= 0 {
		return ctx.Err() == nil
	}
	timer := b.clock.NewTimer(d)
	defer timer.Stop()
	select {
	case <-timer.C():
		return true
	case <-ctx.Done():
		return false
	}
}
