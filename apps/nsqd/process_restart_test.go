package main

import "testing"

// requireEveryBodyDelivered fails unless each published body was delivered
// at least once and nothing else was; it returns how many deliveries were
// duplicates.
func requireEveryBodyDelivered(t *testing.T, bodies [][]byte, got []delivery) (duplicates int) {
	t.Helper()
	counts := tally(got)
	missing := 0
	for _, b := range bodies {
		switch n := counts[string(b)]; {
		case n == 0:
			missing++
		case n > 1:
			duplicates += n - 1
		}
	}
	if extra := len(counts) - (len(bodies) - missing); extra != 0 {
		t.Errorf("%d delivered bodies were never published", extra)
	}
	if missing != 0 {
		t.Fatalf("%d of %d published messages were not delivered (%d deliveries, %d distinct)",
			missing, len(bodies), len(got), len(counts))
	}
	return duplicates
}

// With every message on disk and fsynced before its OK, a SIGKILL loses
// nothing: the restarted daemon delivers each acknowledged message.
func TestKillNineLosesNoAcknowledgedMessage(t *testing.T) {
	const n = 2000
	dir := t.TempDir()
	flags := []string{"--mem-queue-size=0", "--sync-every=1"}
	p := startNSQD(t, dir, flags...)
	p.createChannel("crash", "ch")
	bodies := makeBodies("crash", n, 100)
	publishAll(t, p.tcpAddr, "crash", bodies, 100)
	if c := p.mustChannel("crash", "ch"); c.BackendDepth != n {
		t.Fatalf("before the kill: backend_depth %d, want %d (every message on disk)", c.BackendDepth, n)
	}
	p.crash()

	p = startNSQD(t, dir, flags...)
	got := consumeAll(t, p, "crash", "ch", n)
	if dups := requireEveryBodyDelivered(t, bodies, got); dups > 0 {
		t.Logf("%d duplicate deliveries after the crash (allowed: at least once)", dups)
	}
}

// A SIGKILL in the middle of a stream of publishes, where a write may be cut
// short, still loses no acknowledged message, and the batch that was never
// acknowledged is either delivered or not, but never garbled.
func TestKillNineDuringPublishingLosesNoAcknowledgedMessage(t *testing.T) {
	const (
		batch      = 50
		batches    = 400
		killAfter  = 20 // acknowledged batches
		bodyLength = 200
	)
	dir := t.TempDir()
	flags := []string{"--mem-queue-size=0", "--sync-every=1"}
	p := startNSQD(t, dir, flags...)
	p.createChannel("torn", "ch")
	bodies := makeBodies("torn", batch*batches, bodyLength)

	// The publisher runs on its own goroutine so the kill lands while it is
	// writing; it reports each batch nsqd acknowledged.
	acked := make(chan int, batches)
	pub := dialV2(t, p.tcpAddr)
	go func() {
		defer close(acked)
		for b := range batches {
			text, isErr, err := pub.mpub("torn", bodies[b*batch:(b+1)*batch])
			if err != nil || isErr || text != "OK" {
				return
			}
			acked <- b
		}
	}()
	count := 0
	for range acked {
		if count++; count == killAfter {
			break
		}
	}
	if count < killAfter {
		t.Fatalf("publisher stopped after %d acknowledged batches", count)
	}
	p.crash()
	for range acked {
		count++
	}
	if count == batches {
		t.Fatalf("every batch was acknowledged before the kill landed; nothing was interrupted")
	}

	p = startNSQD(t, dir, flags...)
	got := consumeAll(t, p, "torn", "ch", count*batch)
	delivered := tally(got)
	missing := 0
	for _, b := range bodies[:count*batch] {
		if delivered[string(b)] == 0 {
			missing++
		}
	}
	if missing > 0 {
		t.Errorf("%d of %d acknowledged messages were lost", missing, count*batch)
	}
	published := make(map[string]bool, len(bodies))
	for _, b := range bodies {
		published[string(b)] = true
	}
	for body := range delivered {
		if !published[body] {
			t.Errorf("delivered a body that was never published: %.60q", body)
		}
	}
	t.Logf("killed after %d acknowledged batches of %d; %d deliveries, %d distinct",
		count, batch, len(got), len(delivered))
}

// Messages a channel holds in memory are written to disk at a graceful stop
// and each is delivered exactly once after the restart.
func TestGracefulRestartKeepsChannelMemoryQueue(t *testing.T) {
	const n = 2000
	dir := t.TempDir()
	p := startNSQD(t, dir)
	p.createChannel("mem", "ch")
	bodies := makeBodies("mem", n, 100)
	publishAll(t, p.tcpAddr, "mem", bodies, 200)
	if c := p.mustChannel("mem", "ch"); c.Depth != n || c.BackendDepth != 0 {
		t.Fatalf("before the stop: depth %d backend_depth %d, want %d in memory", c.Depth, c.BackendDepth, n)
	}
	p.stop()

	p = startNSQD(t, dir)
	got := consumeAll(t, p, "mem", "ch", n)
	if dups := requireEveryBodyDelivered(t, bodies, got); dups != 0 || len(got) != n {
		t.Fatalf("%d deliveries with %d duplicates, want exactly %d", len(got), dups, n)
	}
}

// A topic without channels holds what is published in its own memory queue;
// a graceful stop keeps it, and a channel created after the restart gets
// every message exactly once.
func TestGracefulRestartKeepsTopicMemoryBacklog(t *testing.T) {
	const n = 1000
	dir := t.TempDir()
	p := startNSQD(t, dir)
	bodies := makeBodies("held", n, 100)
	publishAll(t, p.tcpAddr, "held", bodies, 200)
	topic, ok := p.stats().topic("held")
	if !ok || topic.Depth != n || topic.BackendDepth != 0 {
		t.Fatalf("before the stop: topic stats %+v (found %v), want depth %d in memory", topic, ok, n)
	}
	p.stop()

	p = startNSQD(t, dir)
	got := consumeAll(t, p, "held", "ch", n)
	if dups := requireEveryBodyDelivered(t, bodies, got); dups != 0 || len(got) != n {
		t.Fatalf("%d deliveries with %d duplicates, want exactly %d", len(got), dups, n)
	}
}

// Messages in flight at a graceful stop come back after the restart as
// redeliveries (attempts 2, same ID, same publish time).
func TestGracefulRestartRedeliversInFlightMessages(t *testing.T) {
	const k = 5
	dir := t.TempDir()
	p := startNSQD(t, dir)
	holder := dialV2(t, p.tcpAddr)
	holder.subscribe("inflight", "ch", k)
	bodies := makeBodies("inflight", k, 40)
	publishAll(t, p.tcpAddr, "inflight", bodies, k)
	first := map[string]delivery{}
	for range k {
		d, err := holder.nextMessage(ioTimeout)
		if err != nil {
			t.Fatalf("first delivery: %s", err)
		}
		if d.Attempts != 1 {
			t.Fatalf("first delivery of %q has attempts %d, want 1", d.Body, d.Attempts)
		}
		first[d.Body] = d
	}
	if c := p.mustChannel("inflight", "ch"); c.InFlight != k {
		t.Fatalf("before the stop: in_flight_count %d, want %d", c.InFlight, k)
	}
	p.stop() // the holder never FINs

	p = startNSQD(t, dir)
	c := dialV2(t, p.tcpAddr)
	c.subscribe("inflight", "ch", k+1)
	for range k {
		d, err := c.nextMessage(ioTimeout)
		if err != nil {
			t.Fatalf("redelivery: %s", err)
		}
		before, ok := first[d.Body]
		if !ok {
			t.Fatalf("redelivered %q, which was not in flight (or came twice)", d.Body)
		}
		delete(first, d.Body)
		if d.Attempts != 2 || d.ID != before.ID || d.Timestamp != before.Timestamp {
			t.Errorf("%q redelivered as attempts %d id %s ts %d, want attempts 2 id %s ts %d",
				d.Body, d.Attempts, d.ID, d.Timestamp, before.ID, before.Timestamp)
		}
		c.fin(d.ID)
	}
}
