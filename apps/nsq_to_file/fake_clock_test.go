package main

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/nsqgo/nsq/internal/clock"
	"github.com/nsqgo/nsq/internal/lookupdhttp"
	"github.com/nsqgo/nsq/internal/tooltest/daemons"
)

// newFakeClock is a clock.Fake for an archiver under test, started
// mid-hour so that an hourly file name does not change while a test
// advances it by minutes.
func newFakeClock() *clock.Fake {
	return clock.NewFake(time.Date(2026, 1, 2, 3, 4, 5, 0, time.Local))
}

// awaitArmed waits, on the clock's Armed event, until a timer is armed to
// fire at exactly at: code running in the archiver's goroutines (the
// router re-arming its sync timer, discovery starting its refresh ticker,
// a consumer its lookupd poll) has set the deadline the test is about to
// advance to.
func awaitArmed(t testing.TB, clk *clock.Fake, at time.Time) {
	t.Helper()
	if !clk.AwaitArmed(waitTimeout, clock.SomeArmedAt(at)) {
		t.Fatalf("no timer armed for %s; armed: %v", at.Format(time.RFC3339Nano), clk.Deadlines())
	}
}

// tickTo awaits a timer armed for at and moves the clock to it: every
// timer due by then fires, in deadline order.
func tickTo(t testing.TB, clk *clock.Fake, at time.Time) {
	t.Helper()
	awaitArmed(t, clk, at)
	clk.AdvanceTo(at)
}

// syncTicksUntil fires the router's sync timer, first due at first and
// then every interval, until done holds; before each tick it awaits
// stalled, the state in which only a sync tick can move the archiver on
// (every message handed to it, too few left unsynced to run a connection
// out of RDY), so that time moves only as far as the test needs. Each
// tick also waits for the router to have re-armed the timer from the tick
// before (it re-arms as it takes a tick, while the clock still reads that
// tick's time), so the ticks fall exactly on first + k*interval. It
// returns when the next tick is due.
func syncTicksUntil(t testing.TB, clk *clock.Fake, first time.Time, interval time.Duration, what string, done, stalled func() bool) time.Time {
	t.Helper()
	deadline := time.Now().Add(waitTimeout)
	at := first
	for ; !done(); at = at.Add(interval) {
		if time.Now().After(deadline) {
			t.Fatalf("%s: not after sync ticks up to %s", what, at.Format(time.RFC3339Nano))
		}
		eventually(t, what+": only a sync tick can finish the rest", func() bool { return stalled() || done() })
		tickTo(t, clk, at)
	}
	return at
}

// awaitLogCount waits until the app has logged line at least n times.
func (a *app) awaitLogCount(line string, n int) {
	a.t.Helper()
	a.stderr.WaitFor(a.t, fmt.Sprintf("%d × %q in the log", n, line), func(s string) bool {
		return strings.Count(s, line) >= n
	})
}

// awaitProducers waits until lookupd lists n producers of topic: nsqd
// registers a new topic with its lookupds in the background, and a test
// that wants the archiver's next query (at start, or at a poll the test
// moves the clock to) to find them must wait for that first.
func awaitProducers(t testing.TB, lookupd *daemons.Lookupd, topic string, n int) {
	t.Helper()
	client := lookupdhttp.New(lookupdhttp.Options{})
	defer client.Close()
	eventually(t, fmt.Sprintf("%d producers of %s at the lookupd", n, topic), func() bool {
		nodes, err := client.Producers(context.Background(), lookupd.HTTPAddr(), topic)
		return err == nil && len(nodes) == n
	})
}

// awaitTopics waits until lookupd lists every one of topics.
func awaitTopics(t testing.TB, lookupd *daemons.Lookupd, topics ...string) {
	t.Helper()
	client := lookupdhttp.New(lookupdhttp.Options{})
	defer client.Close()
	eventually(t, fmt.Sprintf("topics %v at the lookupd", topics), func() bool {
		listed, err := client.Topics(context.Background(), lookupd.HTTPAddr())
		if err != nil {
			return false
		}
		for _, topic := range topics {
			if !slices.Contains(listed, topic) {
				return false
			}
		}
		return true
	})
}

// requireArmed fails unless a timer is armed at exactly at.
func requireArmed(t testing.TB, clk *clock.Fake, at time.Time, msg string) {
	t.Helper()
	require.True(t, clk.ArmedAt(at), "%s: nothing armed for %s; armed: %v", msg, at.Format(time.RFC3339Nano), clk.Deadlines())
}
