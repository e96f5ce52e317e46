package main

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

type fakeClock struct{ t time.Time }

func (c *fakeClock) now() time.Time          { return c.t }
func (c *fakeClock) advance(d time.Duration) { c.t = c.t.Add(d) }

func TestTokenBucketLetsTheFirstMessageGoAtOnceAndPacesTheRest(t *testing.T) {
	clock := &fakeClock{t: time.Unix(1_700_000_000, 0)}
	b := newTokenBucket(10, clock.now)
	require.Zero(t, b.reserve())
	require.Equal(t, 100*time.Millisecond, b.reserve())
	require.Equal(t, 200*time.Millisecond, b.reserve())
	clock.advance(200 * time.Millisecond)
	require.Equal(t, 100*time.Millisecond, b.reserve())
}

func TestTokenBucketBurstIsAtMostOneSecondOfMessages(t *testing.T) {
	clock := &fakeClock{t: time.Unix(1_700_000_000, 0)}
	b := newTokenBucket(5, clock.now)
	clock.advance(time.Hour)
	for i := range 5 {
		require.Zero(t, b.reserve(), "message %d of the burst", i)
	}
	require.Equal(t, 200*time.Millisecond, b.reserve())
}

func TestTokenBucketRateBelowOneIsUnlimited(t *testing.T) {
	require.Nil(t, newTokenBucket(0, time.Now))
	require.Nil(t, newTokenBucket(-3, time.Now))
	var b *tokenBucket
	require.True(t, b.wait(context.Background()))
}

func TestTokenBucketWaitEndsWithTheContext(t *testing.T) {
	b := newTokenBucket(1, time.Now)
	require.Zero(t, b.reserve())
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	require.False(t, b.wait(ctx))
}
