package main

import (
	"testing"
	"time"
)

// With every message through disk and --sync-every=1, a DPUB answered OK
// survives kill -9 like a PUB does, and is delivered at its time, not before.
func TestKillNineKeepsDeferredPublishes(t *testing.T) {
	const delay = 3 * time.Second
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
	if c := p.mustChannel("later", "ch"); c.Deferred != 1 {
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
}
