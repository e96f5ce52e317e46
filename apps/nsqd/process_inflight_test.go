package main

import (
	"testing"
	"time"
)

// A message read from disk stays there until it is FIN'd, so kill -9 while
// it is in flight delivers it again instead of losing it.
func TestKillNineRedeliversMessagesInFlightFromDisk(t *testing.T) {
	const n, held, finished = 300, 40, 60
	dir := t.TempDir()
	flags := []string{"--mem-queue-size=0", "--sync-every=1", "--sync-timeout=50ms"}
	p := startNSQD(t, dir, flags...)
	p.createChannel("inflight", "ch")
	bodies := makeBodies("inflight", n, 100)
	publishAll(t, p.tcpAddr, "inflight", bodies, 100)

	c := dialV2(t, p.tcpAddr)
	c.subscribe("inflight", "ch", held+finished)
	var delivered []delivery
	for i := 0; i < held+finished; i++ {
		m, err := c.nextMessage(ioTimeout)
		if err != nil {
			t.Fatalf("message %d: %s", i, err)
		}
		delivered = append(delivered, m)
	}
	// RDY 0 first, so the FINs free no credit for further deliveries.
	if err := c.write([]byte("RDY 0\n")); err != nil {
		t.Fatal(err)
	}
	var heldBodies []string
	for i, m := range delivered {
		if i < finished {
			if err := c.fin(m.ID); err != nil {
				t.Fatal(err)
			}
			continue
		}
		heldBodies = append(heldBodies, m.Body)
	}
	// There is no event for "the FINs reached nsqd": poll /stats until only
	// the held messages are in flight, so the crash hits a known state.
	deadline := time.Now().Add(ioTimeout)
	for p.mustChannel("inflight", "ch").InFlight != held {
		if time.Now().After(deadline) {
			t.Fatalf("in flight never settled at %d", held)
		}
		time.Sleep(10 * time.Millisecond)
	}
	p.crash()

	p = startNSQD(t, dir, flags...)
	seen := tally(consumeAll(t, p, "inflight", "ch", n-finished))
	for _, body := range heldBodies {
		if seen[body] == 0 {
			t.Fatalf("message %q was in flight at the crash and was lost", body)
		}
	}
	if len(seen) < n-finished {
		t.Fatalf("only %d distinct messages after the crash, want at least %d", len(seen), n-finished)
	}
}
