package main

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// FIN progress is persisted per message (internal/diskqueue/progress.go):
// kill -9 with one message held while 10,000 later ones were FIN'd, once a
// sync interval has passed since the last FIN, brings back the held message
// alone. Before per-message progress, the read position stopped at the held
// message and all 10,000 came back.
func TestKillNineReplaysOnlyUnfinishedMessages(t *testing.T) {
	const finished = 10_000
	dir := t.TempDir()
	flags := []string{"--mem-queue-size=0", "--sync-every=1", "--sync-timeout=50ms"}
	p := startNSQD(t, dir, flags...)
	p.createChannel("replay", "ch")
	bodies := makeBodies("replay", finished+1, 64)
	publishAll(t, p.tcpAddr, "replay", bodies, 200)

	c := dialV2(t, p.tcpAddr)
	c.subscribe("replay", "ch", 1)
	held, err := c.nextMessage(ioTimeout)
	if err != nil {
		t.Fatalf("first message: %s", err)
	}
	if err := c.write([]byte("RDY 200\n")); err != nil {
		t.Fatal(err)
	}
	seen := map[string]bool{held.Body: true}
	for len(seen) < finished+1 {
		m, err := c.nextMessage(10 * time.Second)
		if err != nil {
			t.Fatalf("after %d messages: %s", len(seen), err)
		}
		if seen[m.Body] {
			t.Fatalf("message %q delivered twice before the crash", m.Body)
		}
		seen[m.Body] = true
		if err := c.fin(m.ID); err != nil {
			t.Fatal(err)
		}
	}
	// No event says "the last FIN was persisted": poll the channel's
	// metadata until it records exactly one unfinished message and nothing
	// left to read (both within one sync interval of the last FIN).
	meta := filepath.Join(dir, "replay:ch.diskqueue.meta.dat")
	deadline := time.Now().Add(10 * time.Second)
	for !metaSaysOneUnfinished(t, meta) {
		if time.Now().After(deadline) {
			b, _ := os.ReadFile(meta)
			t.Fatalf("channel metadata never showed one unfinished message:\n%s", b)
		}
		time.Sleep(20 * time.Millisecond)
	}
	p.crash()

	p = startNSQD(t, dir, flags...)
	got := consumeAll(t, p, "replay", "ch", 1)
	if len(got) != 1 || got[0].Body != held.Body {
		var names []string
		for _, d := range got[:min(len(got), 5)] {
			names = append(names, d.Body[:min(len(d.Body), 20)])
		}
		t.Fatalf("after kill -9: %d messages came back (first %v), want only the held %q",
			len(got), names, held.Body[:20])
	}
}

// metaSaysOneUnfinished reads a disk queue's metadata (internal/diskqueue/FORMAT.md,
// "Metadata file"): depth
// 1 and a single unfinished record.
func metaSaysOneUnfinished(t *testing.T, path string) bool {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		return false
	}
	s := string(b)
	return strings.Contains(s, "\ndepth 1\n") && strings.Contains(s, fmt.Sprintf("\nunfinished %d\n", 1))
}
