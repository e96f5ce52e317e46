package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// channelSegments lists the data segments of a channel's disk queue (not its
// metadata file, not side files).
func channelSegments(t *testing.T, dir, topic, channel string) []string {
	t.Helper()
	matches, err := filepath.Glob(filepath.Join(dir, topic+":"+channel+".diskqueue.*.dat"))
	if err != nil {
		t.Fatal(err)
	}
	var segments []string
	for _, m := range matches {
		if !strings.HasSuffix(m, ".meta.dat") {
			segments = append(segments, m)
		}
	}
	return segments
}

// Damage in the middle of a segment costs only the damaged records: the
// records after it are delivered, nothing garbled is, and the daemon keeps
// answering.
func TestCorruptedSegmentIsSkippedAndTheRestDelivered(t *testing.T) {
	const (
		n       = 500
		flipped = 8 // bytes; with ~150-byte records this touches at most 2
	)
	dir := t.TempDir()
	p := startNSQD(t, dir, "--mem-queue-size=0")
	p.createChannel("damaged", "ch")
	bodies := makeBodies("damaged", n, 100)
	publishAll(t, p.tcpAddr, "damaged", bodies, 100)
	if c := p.mustChannel("damaged", "ch"); c.BackendDepth != n {
		t.Fatalf("before the stop: backend_depth %d, want %d", c.BackendDepth, n)
	}
	p.stop()

	segments := channelSegments(t, dir, "damaged", "ch")
	if len(segments) != 1 {
		t.Fatalf("want one segment for damaged:ch, found %v", segments)
	}
	data, err := os.ReadFile(segments[0])
	if err != nil {
		t.Fatal(err)
	}
	mid := len(data) / 2
	for i := mid; i < mid+flipped; i++ {
		data[i] ^= 0xff
	}
	if err := os.WriteFile(segments[0], data, 0o600); err != nil {
		t.Fatal(err)
	}

	p = startNSQD(t, dir, "--mem-queue-size=0")
	got := consumeAll(t, p, "damaged", "ch", n-2)
	published := make(map[string]bool, n)
	for _, b := range bodies {
		published[string(b)] = true
	}
	counts := tally(got)
	for body, times := range counts {
		if !published[body] {
			t.Errorf("delivered a body that was never published (damage delivered): %.60q", body)
		}
		if times > 1 {
			t.Errorf("%.40q delivered %d times", body, times)
		}
	}
	if missing := n - len(counts); missing < 1 || missing > 2 {
		t.Errorf("%d records lost to %d flipped bytes, want 1 or 2", missing, flipped)
	}
	// The daemon saw the damage and kept a copy of it for inspection.
	if !strings.Contains(p.log(), "skipped") {
		t.Errorf("no log line reports the skipped damage")
	}
	if side, _ := filepath.Glob(filepath.Join(dir, "damaged:ch.diskqueue.*.damaged")); len(side) == 0 {
		t.Errorf("no .damaged side file kept in %s", dir)
	}
	if doc := p.stats(); doc.Health != "OK" {
		t.Errorf("/stats health %q after skipping damage, want OK", doc.Health)
	}
	if c := p.mustChannel("damaged", "ch"); c.DiskSkippedRecords < 1 || c.DiskSkippedBytes < 1 {
		t.Errorf("/stats counts no skipped damage: %+v", c)
	}
}
