package main

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/nsqgo/nsq/internal/clock"
)

func TestTokenBucketLetsTheFirstMessageGoAtOnceAndPacesTheRest(t *testing.T) {
	clk := clock.NewFake(time.Unix(1_700_000_000, 0))
	b := newTokenBucket(10, clk)
	require.Zero(t, b.reserve())
	require.Equal(t, 100*time.Millisecond, b.reserve())
	require.Equal(t, 200*time.Millisecond, b.reserve())
	clk.Advance(200 * time.Millisecond)
	require.Equal(t, 100*time.Millisecond, b.reserve())
}

func TestTokenBucketBurstIsAtMostOneSecondOfMessages(t *testing.T) {
	clk := clock.NewFake(time.Unix(1_700_000_000, 0))
	b := newTokenBucket(5, clk)
	clk.Advance(time.Hour)
	for i := range 5 {
		require.Zero(t, b.reserve(), "message %d of the burst", i)
	}
	require.Equal(t, 200*time.Millisecond, b.reserve())
}

func TestTokenBucketRateBelowOneIsUnlimited(t *testing.T) {
	require.Nil(t, newTokenBucket(0, clock.Real()))
	require.Nil(t, newTokenBucket(-3, clock.Real()))
	var b *tokenBucket
	require.True(t, b.wait(context.Background()))
}

func TestTokenBucketWaitEndsWithTheContext(t *testing.T) {
	clk := clock.NewFake(time.Unix(1_700_000_000, 0))
	b := newTokenBucket(1, clk)
	require.Zero(t, b.reserve())
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	require.False(t, b.wait(ctx))
}

// wait returns once the clock has passed the token's time, not before.
func TestTokenBucketWaitEndsWhenTheTokenIsDue(t *testing.T) {
	clk := clock.NewFake(time.Unix(1_700_000_000, 0))
	b := newTokenBucket(4, clk)
	require.True(t, b.wait(context.Background()), "the first token is there at once")
	armed := clk.Armed()
	waited := make(chan bool, 1)
	go func() { waited <- b.wait(context.Background()) }()
	select {
	case <-armed:
	case ok := <-waited:
		t.Fatalf("wait returned %v without arming a timer", ok)
	case <-time.After(10 * time.Second):
		t.Fatal("wait armed no timer on the bucket's clock")
	}
	deadline, ok := clk.NextDeadline()
	require.True(t, ok)
	require.Equal(t, clk.Now().Add(250*time.Millisecond), deadline)
	clk.Advance(249 * time.Millisecond)
	select {
	case <-waited:
		t.Fatal("wait returned before its token was due")
	default:
	}
	clk.Advance(time.Millisecond)
	require.True(t, <-waited)
}
