package nsqd

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/nsqgo/nsq/internal/clock"
	"github.com/nsqgo/nsq/internal/protocol"
	"github.com/nsqgo/nsq/internal/testnet"
	"github.com/stretchr/testify/require"
)

// Test auth servers (answering GET /auth as internal/authclient asks it) and the
// helpers the auth tests share.

// Answers the test auth server gives: alice may do anything; nobody has
// no authorizations at all.
const (
	answerAlice = `{"ttl":3600,"identity":"alice","identity_url":"http://id/alice",` +
		`"authorizations":[{"topic":".*","channels":[".*"],"permissions":["subscribe","publish"]}]}`
	answerNoGrants = `{"ttl":3600,"identity":"nobody","authorizations":[]}`
)

// answer builds a reply with one authorization and the given TTL.
func answer(ttl int, topic string, channels []string, permissions ...string) string {
	body, err := json.Marshal(map[string]any{
		"ttl": ttl, "identity": "alice", "identity_url": "http://id/alice",
		"authorizations": []map[string]any{{"topic": topic, "channels": channels, "permissions": permissions}},
	})
	if err != nil {
		panic(err)
	}
	return string(body)
}

// authRequest is what the test auth server saw of one query.
type authRequest struct {
	method      string
	path        string
	accept      string
	contentType string
	fields      url.Values
}

// authServer is an httptest auth server. Its reply is chosen per request
// by respond (secret → status and body); it records every request.
type authServer struct {
	srv  *httptest.Server
	hits atomic.Int64

	mu       sync.Mutex
	respond  func(secret string) (int, string)
	requests []authRequest
}

// newAuthServer starts an auth server answering every secret with status
// 200 and body, until the test ends.
func newAuthServer(t testing.TB, body string) *authServer {
	t.Helper()
	a := &authServer{respond: func(string) (int, string) { return http.StatusOK, body }}
	a.srv = httptest.NewServer(http.HandlerFunc(a.serve))
	t.Cleanup(a.srv.Close)
	return a
}

func (a *authServer) serve(w http.ResponseWriter, r *http.Request) {
	a.hits.Add(1)
	req := authRequest{
		method:      r.Method,
		path:        r.URL.Path,
		accept:      r.Header.Get("Accept"),
		contentType: r.Header.Get("Content-Type"),
		fields:      r.URL.Query(),
	}
	if r.Method == http.MethodPost {
		// upstream's POST body: url.Values as JSON, a map of string arrays
		body, _ := io.ReadAll(r.Body)
		req.fields = url.Values{}
		if err := json.Unmarshal(body, &req.fields); err != nil {
			http.Error(w, "bad body", http.StatusBadRequest)
			return
		}
	}
	a.mu.Lock()
	a.requests = append(a.requests, req)
	respond := a.respond
	a.mu.Unlock()
	status, body := respond(req.fields.Get("secret"))
	w.WriteHeader(status)
	io.WriteString(w, body)
}

// setReply changes the answer for every later query.
func (a *authServer) setReply(status int, body string) {
	a.mu.Lock()
	a.respond = func(string) (int, string) { return status, body }
	a.mu.Unlock()
}

// setResponder changes how later queries are answered.
func (a *authServer) setResponder(respond func(secret string) (int, string)) {
	a.mu.Lock()
	a.respond = respond
	a.mu.Unlock()
}

// addr is the server's host:port, as --auth-http-address takes it.
func (a *authServer) addr() string { return strings.TrimPrefix(a.srv.URL, "http://") }

// lastRequest is the latest query the server saw.
func (a *authServer) lastRequest(t testing.TB) authRequest {
	t.Helper()
	a.mu.Lock()
	defer a.mu.Unlock()
	require.NotEmpty(t, a.requests, "the auth server was never asked")
	return a.requests[len(a.requests)-1]
}

// startAuthDaemon runs an nsqd whose auth servers are addrs.
func startAuthDaemon(t testing.TB, addrs []string, configure func(*Options)) *NSQD {
	t.Helper()
	return startDaemon(t, func(o *Options) {
		o.AuthHTTPAddresses = addrs
		if configure != nil {
			configure(o)
		}
	})
}

// closedAddr is a loopback host:port nothing listens on: connecting to it
// is refused at once.
func closedAddr(t testing.TB) string { return testnet.RefusedAddr(t) }

// authenticate sends AUTH and returns the reply, which must be a response.
func (c *testConn) authenticate(secret string) string {
	c.t.Helper()
	c.send("AUTH", []byte(secret))
	frameType, data := c.readFrame()
	require.Equal(c.t, protocol.FrameTypeResponse, frameType, "AUTH answered %q", data)
	return string(data)
}

// authedConn connects and authenticates with secret.
func authedConn(t testing.TB, n *NSQD, secret string) *testConn {
	t.Helper()
	c := dialV2(t, n)
	c.authenticate(secret)
	return c
}

// withFakeClock gives the daemon a fake clock (Options.Clock), which is
// also its auth clock, so that advanceAuthClock can run TTLs out. It
// allows heartbeat intervals of up to an hour (authedConnQuiet).
func withFakeClock(o *Options) {
	o.Clock = clock.NewFake(time.Now())
	o.MaxHeartbeatInterval = time.Hour
}

// advanceAuthClock moves the fake clock of a daemon started withFakeClock
// forward, so that TTLs run out without the test waiting for them. Timers
// on that clock fire too: connections that must not see heartbeats in
// between are made with authedConnQuiet.
func advanceAuthClock(n *NSQD, d time.Duration) {
	fake, ok := n.clock.(*clock.Fake)
	if !ok {
		panic("advanceAuthClock needs a daemon started withFakeClock")
	}
	fake.Advance(d)
}

// authedConnQuiet is authedConn after an IDENTIFY that asks for hourly
// heartbeats, so that advancing the clock by minutes sends the client
// nothing. (Heartbeats cannot simply be turned off: SUB refuses that.)
func authedConnQuiet(t testing.TB, n *NSQD, secret string) *testConn {
	t.Helper()
	c := dialV2(t, n)
	c.identify(map[string]any{"heartbeat_interval": time.Hour.Milliseconds()})
	c.authenticate(secret)
	return c
}
