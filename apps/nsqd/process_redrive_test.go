package main

import (
	"encoding/json"
	"net/http"
	"testing"
	"time"
)

// deadBodies reads every dead message's body through /channel/peek.
func (p *nsqdProcess) deadBodies(topic, channel string) []string {
	p.t.Helper()
	var bodies []string
	after := ""
	for {
		status, body := httpDo(p.t, http.MethodGet, p.url("/channel/peek?topic="+topic+"&channel="+channel+"&state=dead&n=1000"+after), nil)
		if status != http.StatusOK {
			p.t.Fatalf("peek dead: %d %s", status, body)
		}
		var page struct {
			Messages []struct {
				Seq  uint64 `json:"seq"`
				Body []byte `json:"body"`
			} `json:"messages"`
		}
		if err := json.Unmarshal([]byte(body), &page); err != nil {
			p.t.Fatalf("peek dead: %s: %s", err, body)
		}
		if len(page.Messages) == 0 {
			return bodies
		}
		for _, m := range page.Messages {
			bodies = append(bodies, string(m.Body))
		}
		after = "&after=" + jsonNumber(page.Messages[len(page.Messages)-1].Seq)
	}
}

// readyBodies reads the channel's ready messages (memory and disk) through
// /channel/peek.
func (p *nsqdProcess) readyBodies(topic, channel string) []string {
	p.t.Helper()
	status, body := httpDo(p.t, http.MethodGet, p.url("/channel/peek?topic="+topic+"&channel="+channel+"&n=1000"), nil)
	if status != http.StatusOK {
		p.t.Fatalf("peek ready: %d %s", status, body)
	}
	var page struct {
		Messages []struct {
			Body []byte `json:"body"`
		} `json:"messages"`
	}
	if err := json.Unmarshal([]byte(body), &page); err != nil {
		p.t.Fatalf("peek ready: %s: %s", err, body)
	}
	var bodies []string
	for _, m := range page.Messages {
		bodies = append(bodies, string(m.Body))
	}
	return bodies
}

func jsonNumber(v uint64) string { b, _ := json.Marshal(v); return string(b) }

// A redrive cut by kill -9 loses nothing and duplicates at most the batch
// in progress: after the restart every message is in the channel's queue
// or still dead (or, for that one batch, both).
func TestKillNineDuringRedriveLosesNothing(t *testing.T) {
	const n, rate = 400, 100 // a batch is rate messages; the redrive takes ~4s
	dir := t.TempDir()
	// Everything on disk and fsynced: what a kill -9 may lose is only what
	// the redrive itself would lose.
	flags := []string{"--sync-every=1", "--mem-queue-size=0"}
	p := startNSQD(t, dir, flags...)
	p.createChannel("redrive", "ch")
	// drop-oldest with max_depth=1: each publish pushes the previous message
	// into the dead set.
	p.mustPost("/channel/config?topic=redrive&channel=ch&max_depth=1&overflow=drop-oldest")
	bodies := makeBodies("redrive", n+1, 64)
	publishAll(t, p.tcpAddr, "redrive", bodies, 1)
	p.mustPost("/channel/config?topic=redrive&channel=ch&max_depth=0")
	if dead := len(p.deadBodies("redrive", "ch")); dead != n {
		t.Fatalf("before the redrive: %d dead, want %d", dead, n)
	}
	// A graceful restart first, so that the disk queue's read progress is
	// saved: the records drop-oldest read and acknowledged are then not
	// replayed by the crash below, and what the check finds twice is the
	// redrive's doing alone.
	p.stop()
	p = startNSQD(t, dir, flags...)

	go func() {
		// Cut by the kill: its error is expected and ignored.
		resp, err := http.Post(p.url("/channel/dead/redrive?topic=redrive&channel=ch&rate=100"), "", nil)
		if err == nil {
			resp.Body.Close()
		}
	}()
	deadline := time.Now().Add(30 * time.Second)
	for p.mustChannel("redrive", "ch").Depth < 1+rate {
		if time.Now().After(deadline) {
			t.Fatalf("the redrive did not move a batch within 30s:\n%s", p.log())
		}
		time.Sleep(20 * time.Millisecond) // polling another process's state
	}
	p.crash()

	p = startNSQD(t, dir, flags...)
	dead := p.deadBodies("redrive", "ch")
	// The queue is read with peek too (it includes the disk backlog): a
	// consumer would do as well, but this reads exactly what is stored.
	queued := p.readyBodies("redrive", "ch")
	counts := map[string]int{}
	for _, b := range append(queued, dead...) {
		counts[b]++
	}
	both := 0
	for _, b := range bodies {
		switch c := counts[string(b)]; {
		case c == 0:
			t.Fatalf("%s is neither queued nor dead after the restart", b)
		case c > 1:
			both++
		}
	}
	if len(counts) != len(bodies) {
		t.Fatalf("%d distinct bodies after the restart, want %d", len(counts), len(bodies))
	}
	if both > rate {
		t.Fatalf("%d messages both queued and dead, more than the one batch (%d) in progress", both, rate)
	}
	if len(dead) == n || len(dead) == 0 {
		t.Fatalf("the kill did not cut the redrive (%d still dead)", len(dead))
	}
	t.Logf("after the kill: %d queued, %d dead, %d in both", len(queued), len(dead), both)
}
