package main

import (
	"encoding/json"
	"net/http"
	"net/url"
	"testing"
	"time"
)

// Deferred publishes across a restart of the nsqd process. The daemon is a
// separate process whose clock a test cannot move, so these tests do not
// wait out a deferral in real time. Each publishes two deferred messages:
//
//   - one due in shortDeferral, due by the time the restarted nsqd serves:
//     it must be delivered after the restart (it was not lost), as its
//     first attempt;
//   - one due in an hour: after the restart it must still be deferred, with
//     the same ID, timestamp and deliver-at time (read with /channel/peek)
//     as before the stop, so its delay did not start again at the restart,
//     and must not be delivered with the first.
//
// That a message restored with its deliver-at time is held until exactly
// then and released at it, also after a crash and reopen, is checked on a
// fake clock where time can be moved: nsqd/queue/testdata/crash.txt and
// TestDeferredMessageRequeuedFromDiskIsDeliveredOnceAfterRestart
// (nsqd/deferred_store_test.go).

// shortDeferral is short enough that no test waits for it: restarting nsqd
// takes longer.
const shortDeferral = 50 * time.Millisecond

// With every message through disk and --sync-every=1, a DPUB answered OK
// survives kill -9 like a PUB does.
func TestKillNineKeepsDeferredPublishes(t *testing.T) {
	dir := t.TempDir()
	flags := []string{"--mem-queue-size=0", "--sync-every=1"}
	p := startNSQD(t, dir, flags...)
	p.createChannel("later", "ch")
	sent := publishTwoDeferrals(t, p, "later")
	held := p.mustPeekDeferred("later", "ch", "in an hour")
	p.crash()

	p = startNSQD(t, dir, flags...)
	checkDeferralsRestored(t, p, "later", "ch", sent, held)
}

// A graceful stop keeps deferred messages too (in memory until then: the
// default --mem-queue-size), with their times.
func TestGracefulRestartKeepsDeferredTime(t *testing.T) {
	dir := t.TempDir()
	p := startNSQD(t, dir)
	p.createChannel("deferred", "ch")
	sent := publishTwoDeferrals(t, p, "deferred")
	held := p.mustPeekDeferred("deferred", "ch", "in an hour")
	p.stop()

	p = startNSQD(t, dir)
	checkDeferralsRestored(t, p, "deferred", "ch", sent, held)
}

// publishTwoDeferrals DPUBs "soon" (shortDeferral) and "in an hour" to
// topic and returns when the first was sent.
func publishTwoDeferrals(t *testing.T, p *nsqdProcess, topic string) (sent time.Time) {
	t.Helper()
	pub := dialV2(t, p.tcpAddr)
	sent = time.Now()
	pub.mustDPub(topic, shortDeferral, []byte("soon"))
	pub.mustDPub(topic, time.Hour, []byte("in an hour"))
	return sent
}

// checkDeferralsRestored checks a restarted nsqd against what was published
// by publishTwoDeferrals at sent; held is the hour's message as peeked
// before the stop.
func checkDeferralsRestored(t *testing.T, p *nsqdProcess, topic, channel string, sent time.Time, held peekedMessage) {
	t.Helper()
	if got := p.mustPeekDeferred(topic, channel, "in an hour"); got != held {
		t.Fatalf("after the restart the hour's deferral is %+v, want it as before: %+v", got, held)
	}

	c := dialV2(t, p.tcpAddr)
	c.subscribe(topic, channel, 10)
	d, err := c.nextMessage(ioTimeout)
	if err != nil {
		t.Fatalf("the due deferred message was not delivered after the restart: %s", err)
	}
	if d.Body != "soon" {
		t.Fatalf("got %q, want the due deferred message (the hour's is not due)", d.Body)
	}
	if d.Attempts != 1 {
		t.Errorf("deferred message has attempts %d, want 1 (never delivered before)", d.Attempts)
	}
	if ts := time.Unix(0, d.Timestamp); ts.Before(sent.Add(-time.Second)) || ts.After(time.Now()) {
		t.Errorf("deferred message timestamp %s, want its publish time (about %s)", ts, sent)
	}
	// The hour's message stays deferred, as it was. (Not counted with
	// /stats: when "soon" came due before a kill -9, it can come back
	// twice, from the channel's queue and from the deferred store whose
	// release of it was not yet synced: at-least-once, as
	// nsqd/queue/testdata/crash.txt shows.)
	if got := p.mustPeekDeferred(topic, channel, "in an hour"); got != held {
		t.Fatalf("after the delivery the hour's deferral is %+v, want it as before: %+v", got, held)
	}
}

// peekedMessage is a message as GET /channel/peek shows it.
type peekedMessage struct {
	ID        string `json:"id"`
	Timestamp int64  `json:"timestamp"`
	Attempts  uint16 `json:"attempts"`
	DeliverAt int64  `json:"deliver_at"`
	Body      string `json:"-"` // decoded from peek's base64
}

// mustPeekDeferred returns the channel's deferred message whose body is
// body, or fails.
func (p *nsqdProcess) mustPeekDeferred(topic, channel, body string) peekedMessage {
	p.t.Helper()
	path := "/channel/peek?state=deferred&n=100&topic=" + url.QueryEscape(topic) + "&channel=" + url.QueryEscape(channel)
	status, answer := httpDo(p.t, http.MethodGet, p.url(path), nil)
	if status != http.StatusOK {
		p.t.Fatalf("GET %s: %d %s", path, status, answer)
	}
	var doc struct {
		Messages []struct {
			peekedMessage
			Body []byte `json:"body"`
		} `json:"messages"`
	}
	if err := json.Unmarshal([]byte(answer), &doc); err != nil {
		p.t.Fatalf("GET %s: %s in %s", path, err, answer)
	}
	for _, m := range doc.Messages {
		if string(m.Body) == body {
			m.peekedMessage.Body = body
			return m.peekedMessage
		}
	}
	p.t.Fatalf("no deferred message %q in %s/%s: %s", body, topic, channel, answer)
	return peekedMessage{}
}
