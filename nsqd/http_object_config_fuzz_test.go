package nsqd

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/nsqgo/nsq/nsqd/queue"
)

// FuzzObjectConfigQuery sends arbitrary query strings to the settings
// endpoints of one daemon, through its HTTP handler in-process. Every
// answer must be 200, or a 400/404 with a V1 error token; never a 500 or a
// panic. After each request the channel's and topic's settings must still
// validate, and nsqd.dat's form of them must read back the same.
func FuzzObjectConfigQuery(f *testing.F) {
	for _, seed := range []string{
		"max_attempts=5&msg_ttl=1500&max_depth=10&max_bytes=2048&overflow=drop-oldest&dead_letter_topic=dead",
		"max_attempts=&msg_ttl=&max_depth=&max_bytes=&overflow=&dead_letter_topic=",
		"msg_ttl=1h30m", "msg_ttl=1.5s", "msg_ttl=1500us", "max_attempts=65536", "overflow=Drop-Oldest",
		"dead_letter_topic=orders", "dead_letter_topic=x%23ephemeral", "max_depth=%zz", "max_bytes=-0",
		"topic=other&channel=other", "channel=", "topic=", "max_depth=1&max_depth=-1",
	} {
		f.Add(seed)
	}
	// Its logs cannot go to f, which the fuzz target may not use.
	n := startDaemon(f, func(o *Options) { o.Logger = io.Discard })
	tp, err := n.GetTopic("orders")
	if err != nil {
		f.Fatal(err)
	}
	c, err := tp.GetChannel("work")
	if err != nil {
		f.Fatal(err)
	}
	handler := n.httpServer.Handler()
	f.Fuzz(func(t *testing.T, extra string) {
		for _, target := range []struct{ path, query string }{
			{"/channel/config", "topic=orders&channel=work&"},
			{"/topic/config", "topic=orders&"},
			{"/channel/create", "topic=orders&channel=work&"},
			{"/topic/create", "topic=orders&"},
		} {
			// Set after NewRequest, which refuses what a client could
			// still send raw.
			req := httptest.NewRequest(http.MethodPost, target.path, nil)
			req.URL.RawQuery = target.query + extra
			rec := httptest.NewRecorder()
			handler.ServeHTTP(rec, req)
			switch rec.Code {
			case http.StatusOK:
			case http.StatusBadRequest, http.StatusNotFound:
				var e struct{ Message string }
				if err := json.Unmarshal(rec.Body.Bytes(), &e); err != nil || e.Message == "" || strings.ToUpper(e.Message) != e.Message {
					t.Fatalf("%s?%s: %d with body %q", target.path, req.URL.RawQuery, rec.Code, rec.Body)
				}
			default:
				t.Fatalf("%s?%s: status %d body %q", target.path, req.URL.RawQuery, rec.Code, rec.Body)
			}
		}
		if err := c.settings().ValidateChannel("orders"); err != nil {
			t.Fatalf("after %q the channel holds invalid settings: %v", extra, err)
		}
		if err := tp.settings().ValidateTopic(); err != nil {
			t.Fatalf("after %q the topic holds invalid settings: %v", extra, err)
		}
		for _, s := range []queue.Settings{c.settings(), tp.settings()} {
			raw := settingsMetadata(s)
			if raw == nil {
				continue
			}
			var back queue.Settings
			if err := json.Unmarshal(raw, &back); err != nil || string(settingsMetadata(back)) != string(raw) {
				t.Fatalf("after %q: nsqd.dat form %s does not read back (%v)", extra, raw, err)
			}
		}
	})
}
