package main

import (
	"bytes"
	"encoding/binary"
	"strings"
	"testing"
	"time"
)

const msNs = int64(time.Millisecond)

// A slow message counts against the tool only when a stall of the tool
// overlaps its flight: one ending before it was sent or beginning after it
// arrived does not.
func TestSpikesSetSlowMessagesAgainstToolStalls(t *testing.T) {
	samples := []sample{
		{sent: 0, stamped: 1 * msNs, received: 2 * msNs},              // fast
		{sent: 100 * msNs, stamped: 101 * msNs, received: 300 * msNs}, // slow, a stall at 150-170 ms overlaps
		{sent: 400 * msNs, stamped: 480 * msNs, received: 490 * msNs}, // slow, stalls end before and begin after
		{sent: 600 * msNs, stamped: 601 * msNs, received: 700 * msNs}, // slow, a stall from 550 ms runs into it
	}
	stalls := []stall{
		{start: 150 * msNs, length: 20 * time.Millisecond},
		{start: 350 * msNs, length: 50 * time.Millisecond},  // ends at 400: not overlapping (sent at 400)
		{start: 490 * msNs, length: 10 * time.Millisecond},  // begins at arrival: not overlapping
		{start: 550 * msNs, length: 100 * time.Millisecond}, // 550-650 overlaps 600-700
	}
	got := spikes(samples, stalls, 50*time.Millisecond)
	if got.slow != 3 || got.overlapStall != 2 {
		t.Fatalf("slow %d with stall %d, want 3 and 2", got.slow, got.overlapStall)
	}
	if got.worstIn != 80*time.Millisecond || got.worstOut != 199*time.Millisecond {
		t.Fatalf("worst in %s out %s, want 80ms and 199ms", got.worstIn, got.worstOut)
	}
	if got := spikes(samples, nil, 50*time.Millisecond); got.slow != 3 || got.overlapStall != 0 {
		t.Fatalf("without stalls: slow %d with stall %d, want 3 and 0", got.slow, got.overlapStall)
	}
}

// The split adds up: in + out is the total, at nsqd's timestamp.
func TestSampleSplit(t *testing.T) {
	s := sample{sent: 10 * msNs, stamped: 13 * msNs, received: 20 * msNs}
	if s.in() != 3*time.Millisecond || s.out() != 7*time.Millisecond || s.total() != 10*time.Millisecond {
		t.Fatalf("in %s out %s total %s", s.in(), s.out(), s.total())
	}
}

// The timeline keeps only windows whose worst message was slow, in time
// order, with the worst message and the stalls that began in the window.
func TestTimelineKeepsSlowWindows(t *testing.T) {
	base := int64(1_700_000_000) * int64(time.Second) // a whole second: windows start on it
	samples := []sample{
		{sent: base + 250*msNs, stamped: base + 251*msNs, received: base + 400*msNs}, // window 200: slow
		{sent: base + 10*msNs, stamped: base + 11*msNs, received: base + 12*msNs},    // window 0: fast
		{sent: base + 220*msNs, stamped: base + 300*msNs, received: base + 301*msNs}, // window 200: slow, not the worst
		{sent: base + 120*msNs, stamped: base + 121*msNs, received: base + 122*msNs}, // window 100: fast
		{sent: base + 50*msNs, stamped: base + 51*msNs, received: base + 300*msNs},   // window 0: slow
	}
	stalls := []stall{
		{start: base + 230*msNs, length: 30 * time.Millisecond},
		{start: base + 240*msNs, length: 10 * time.Millisecond},
		{start: base + 150*msNs, length: 90 * time.Millisecond}, // in a window not kept
	}
	got := timeline(samples, stalls, 100*time.Millisecond, 50*time.Millisecond)
	if len(got) != 2 {
		t.Fatalf("got %d windows, want 2: %+v", len(got), got)
	}
	if got[0].start != base || got[0].messages != 2 || got[0].worst.total() != 250*time.Millisecond || got[0].toolStall != 0 {
		t.Fatalf("first window %+v", got[0])
	}
	w := got[1]
	if w.start != base+200*msNs || w.messages != 2 || w.worst.total() != 150*time.Millisecond ||
		w.toolStall != 40*time.Millisecond || w.longestStall != 30*time.Millisecond {
		t.Fatalf("second window %+v", w)
	}
	line := formatWindow(w)
	for _, want := range []string{"msgs     2", "worst    150.0ms", "in      1.0ms", "out    149.0ms", "tool stalled    40.0ms", "longest   30.0ms"} {
		if !strings.Contains(line, want) {
			t.Fatalf("line %q lacks %q", line, want)
		}
	}
}

func TestPercentileNearestRank(t *testing.T) {
	d := []time.Duration{1, 2, 3, 4, 5, 6, 7, 8, 9, 10}
	if percentile(d, 0.5) != 6 || percentile(d, 0.99) != 10 || percentile(nil, 0.5) != 0 {
		t.Fatalf("p50 %d p99 %d", percentile(d, 0.5), percentile(d, 0.99))
	}
}

// The probe records a wake-up that came at least minStall after it was
// due, from when it was due, and nothing for one on time; it stops when
// told. The clock readings are the test's: the probe reads the clock once
// at the start and once per wake-up.
func TestProbeRecordsOverruns(t *testing.T) {
	t0 := time.Unix(1_700_000_000, 0)
	readings := []time.Time{
		t0,                           // start: first wake-up due at +1 ms
		t0.Add(1 * time.Millisecond), // on time: next due at +2 ms
		t0.Add(2*time.Millisecond + 3*time.Millisecond),  // 3 ms late: below minStall
		t0.Add(6*time.Millisecond + 40*time.Millisecond), // due at +6 ms, 40 ms late
	}
	stop := make(chan struct{})
	reads := make(chan struct{}, len(readings)) // the test waits for the scripted readings only
	i := 0
	now := func() time.Time {
		select {
		case reads <- struct{}{}:
		default:
		}
		if i < len(readings) {
			i++
			return readings[i-1]
		}
		return readings[len(readings)-1].Add(time.Duration(i-len(readings)+1) * time.Millisecond)
	}
	done := make(chan []stall, 1)
	go func() { done <- probe(time.Millisecond, 5*time.Millisecond, stop, now) }()
	for range readings {
		<-reads
	}
	close(stop)
	var got []stall
	select {
	case got = <-done:
	case <-time.After(10 * time.Second):
		t.Fatal("probe did not stop")
	}
	if len(got) != 1 || got[0].start != t0.Add(6*time.Millisecond).UnixNano() || got[0].length != 40*time.Millisecond {
		t.Fatalf("stalls %+v, want one of 40ms from +6ms", got)
	}
}

// Every PUB of a write carries the send time in its first body bytes, and
// nothing else of the write changes.
func TestStampSendTimes(t *testing.T) {
	header := append([]byte("PUB t\n"), 0, 0, 0, 10)
	var out, want []byte
	for i := 0; i < 3; i++ {
		body := []byte{0, 0, 0, 0, 0, 0, 0, 0, 'a' + byte(i), 'z'}
		out = append(append(out, header...), body...)
		binary.BigEndian.PutUint64(body, 0x0102030405060708)
		want = append(append(want, header...), body...)
	}
	stampSendTimes(out, len(header), 10, 0x0102030405060708)
	if !bytes.Equal(out, want) {
		t.Fatalf("got %q\nwant %q", out, want)
	}
}
