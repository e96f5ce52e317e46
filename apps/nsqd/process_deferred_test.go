package main

import (
	"testing"
	"time"
)

// With every message through disk and --sync-every=1, a DPUB answered OK
// survives kill -9 like a PUB does, and is delivered at its time, not before.
func TestKillNineKeepsDeferredPublishes(t *testing.T) {
	withDeferralMargin(t, func(delay time.Duration) (checked bool, left time.Duration) {
		dir := t.TempDir()
		flags := []string{"--mem-queue-size=0", "--sync-every=1"}
		p := startNSQD(t, dir, flags...)
		p.createChannel("later", "ch")
		pub := dialV2(t, p.tcpAddr)
		sent := time.Now()
		pub.mustDPub("later", delay, []byte("deferred"))
		due := sent.Add(delay)
		p.crash()

		p = startNSQD(t, dir, flags...)
		if left := time.Until(due); left < deferralMargin {
			return false, left
		}
		if c := p.mustChannel("later", "ch"); c.Deferred != 1 {
			if left := time.Until(due); left < deferralMargin {
				return false, left // due, or nearly, by the time /stats answered
			}
			t.Fatalf("after the crash: deferred_count %d, want 1", c.Deferred)
		}
		c := dialV2(t, p.tcpAddr)
		c.subscribe("later", "ch", 10)
		d, err := c.nextMessage(time.Until(due) + 10*time.Second)
		if err != nil {
			t.Fatalf("deferred message not delivered after the crash: %s", err)
		}
		if d.Body != "deferred" {
			t.Fatalf("got %q, want the deferred message", d.Body)
		}
		if d.At.Before(due) {
			t.Fatalf("deferred message delivered %s before its due time", due.Sub(d.At))
		}
		return true, 0
	})
}

// deferralMargin is how much of a deferral must be left once the
// restarted nsqd serves, for an early delivery to be told from a due one.
const deferralMargin = time.Second

// withDeferralMargin runs a restart scenario with a 3 s deferral. A
// scenario that finds less than deferralMargin of the deferral left once
// the restarted nsqd serves checks nothing and says so (a restart is slow
// on a loaded machine, and the daemon is a separate process whose clock a
// test cannot hold): it runs again with twice the deferral, up to 12 s.
func withDeferralMargin(t *testing.T, scenario func(delay time.Duration) (checked bool, left time.Duration)) {
	t.Helper()
	const maxDelay = 12 * time.Second
	for delay := 3 * time.Second; ; delay *= 2 {
		checked, left := scenario(delay)
		if checked {
			return
		}
		if delay >= maxDelay {
			t.Fatalf("restart too slow to observe an early delivery: only %s left of a %s deferral", left, delay)
		}
		t.Logf("the restart left only %s of a %s deferral: again with %s", left, delay, 2*delay)
	}
}
