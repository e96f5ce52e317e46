package nsqd

import (
	"bytes"
	"io"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// The exchange with the auth servers (internal/authclient) and what happens when
// they are down, slow or wrong: E_AUTH_FAILED for that client, and the
// daemon goes on serving everyone else.

func TestAuthQuerySendsClientFactsWithTheVersionHeader(t *testing.T) {
	auth := newAuthServer(t, answerAlice)
	n := startAuthDaemon(t, []string{auth.addr()}, nil)
	authedConn(t, n, "s3cret&more")
	req := auth.lastRequest(t)
	require.Equal(t, http.MethodGet, req.method)
	require.Equal(t, "/auth", req.path)
	require.Equal(t, "application/vnd.nsq; version=1.0", req.accept)
	require.Equal(t, []string{"127.0.0.1"}, req.fields["remote_ip"])
	require.Equal(t, []string{"false"}, req.fields["tls"])
	require.Equal(t, []string{"s3cret&more"}, req.fields["secret"])
	require.Equal(t, []string{""}, req.fields["common_name"], "sent even when empty")
}

func TestAuthPostMethodSendsTheFieldsAsJSON(t *testing.T) {
	auth := newAuthServer(t, answerAlice)
	n := startAuthDaemon(t, []string{auth.addr()}, func(o *Options) { o.AuthHTTPRequestMethod = "post" })
	c := authedConn(t, n, "s3cret")
	c.pub("t", "x")
	req := auth.lastRequest(t)
	require.Equal(t, http.MethodPost, req.method)
	require.Equal(t, "/auth", req.path)
	require.Equal(t, "application/json", req.contentType)
	require.Equal(t, "application/vnd.nsq; version=1.0", req.accept)
	require.Equal(t, []string{"127.0.0.1"}, req.fields["remote_ip"])
	require.Equal(t, []string{"false"}, req.fields["tls"])
	require.Equal(t, []string{"s3cret"}, req.fields["secret"])
	require.Equal(t, []string{""}, req.fields["common_name"])
}

func TestFullURLAuthAddressIsQueriedAsGiven(t *testing.T) {
	auth := newAuthServer(t, answerAlice)
	n := startAuthDaemon(t, []string{auth.srv.URL + "/custom/check?realm=r1"}, nil)
	authedConn(t, n, "secret")
	req := auth.lastRequest(t)
	require.Equal(t, "/custom/check", req.path)
	require.Equal(t, "r1", req.fields.Get("realm"), "the URL's own query is kept")
	require.Equal(t, "secret", req.fields.Get("secret"))
}

// requireStillServing shows the daemon unharmed by an auth failure: a new
// client authenticates (secret "good") and publishes.
func requireStillServing(t *testing.T, n *NSQD) {
	t.Helper()
	c := authedConn(t, n, "good")
	c.pub("still_serving", "x")
}

// goodOr answers "good" with alice's grants and every other secret with
// status and body.
func goodOr(status int, body string) func(string) (int, string) {
	return func(secret string) (int, string) {
		if secret == "good" {
			return http.StatusOK, answerAlice
		}
		return status, body
	}
}

func TestAuthServerDownIsAuthFailed(t *testing.T) {
	n := startAuthDaemon(t, []string{closedAddr(t)}, nil)
	c := dialV2(t, n)
	c.send("AUTH", []byte("secret"))
	c.expectFatal("E_AUTH_FAILED AUTH failed")
	// Other clients are served: IDENTIFY over TCP, publishing over HTTP.
	reply := dialV2(t, n).identify(map[string]any{"feature_negotiation": true})
	require.Equal(t, true, reply["auth_required"])
	status, body := httpPost(t, n, "/pub?topic=t", "x")
	requireOK(t, "OK", status, body)
}

func TestAuthServerErrorStatusIsAuthFailed(t *testing.T) {
	auth := newAuthServer(t, answerAlice)
	n := startAuthDaemon(t, []string{auth.addr()}, nil)
	for _, status := range []int{http.StatusInternalServerError, http.StatusNotFound,
		http.StatusForbidden, http.StatusUnauthorized, http.StatusNoContent} {
		auth.setResponder(goodOr(status, answerAlice)) // a valid body does not redeem the status
		c := dialV2(t, n)
		c.send("AUTH", []byte("bad"))
		c.expectFatal("E_AUTH_FAILED AUTH failed")
		requireStillServing(t, n)
	}
}

func TestAuthServerInvalidAnswerIsAuthFailed(t *testing.T) {
	auth := newAuthServer(t, answerAlice)
	n := startAuthDaemon(t, []string{auth.addr()}, nil)
	grant := `"authorizations":[{"topic":".*","channels":[".*"],"permissions":["publish"]}]`
	for _, body := range []string{
		``,
		`not json`,
		`{"ttl":60,` + grant, // truncated
		`null`,
		`{` + grant + `}`,                // no TTL
		`{"ttl":0,` + grant + `}`,        // TTL must be > 0
		`{"ttl":-5,` + grant + `}`,       // likewise
		`{"ttl":1.5,` + grant + `}`,      // not an integer
		`{"ttl":"60",` + grant + `}`,     // wrong type
		`{"ttl":60,"authorizations":{}}`, // wrong type
		// an unknown permission ("admin" is ours: http_auth.go)
		`{"ttl":60,"authorizations":[{"topic":".*","channels":[".*"],"permissions":["publish","owner"]}]}`,
		`{"ttl":60,"authorizations":[{"topic":"(","channels":[".*"],"permissions":["publish"]}]}`,
		`{"ttl":60,"authorizations":[{"topic":".*","channels":[".*","["],"permissions":["subscribe"]}]}`,
	} {
		auth.setResponder(goodOr(http.StatusOK, body))
		c := dialV2(t, n)
		c.send("AUTH", []byte("bad"))
		c.expectFatal("E_AUTH_FAILED AUTH failed")
		requireStillServing(t, n)
	}
}

// blockingAuthServer answers "good" at once and holds every other query
// until the query is abandoned; entered receives each held query.
func blockingAuthServer(t *testing.T) (addr string, entered <-chan struct{}) {
	t.Helper()
	held := make(chan struct{}, 16)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Query().Get("secret") == "good" {
			io.WriteString(w, answerAlice)
			return
		}
		held <- struct{}{}
		<-r.Context().Done()
	}))
	t.Cleanup(srv.Close)
	return srv.Listener.Addr().String(), held
}

// awaitAuthQuery waits until a blockingAuthServer holds a query.
func awaitAuthQuery(t *testing.T, entered <-chan struct{}) {
	t.Helper()
	select {
	case <-entered:
	case <-time.After(5 * time.Second):
		t.Fatal("the auth server was never asked")
	}
}

// The failure must be the request timeout's: the daemon logs the HTTP
// client's timeout error. (Whether the held server saw the query before the
// 50 ms ran out is up to the scheduler on a loaded machine, so the test
// does not require it.)
func TestSlowAuthServerTimesOutAsAuthFailed(t *testing.T) {
	const timeout = 50 * time.Millisecond
	addr, _ := blockingAuthServer(t)
	logs := &lockedBuffer{}
	n := startAuthDaemon(t, []string{addr}, func(o *Options) { o.HTTPClientRequestTimeout = timeout; o.Logger = logs })
	slow := dialV2(t, n)
	sent := time.Now()
	slow.send("AUTH", []byte("slow"))
	slow.expectFatal("E_AUTH_FAILED AUTH failed")
	require.GreaterOrEqual(t, time.Since(sent), timeout, "failed by the request timeout")
	require.Contains(t, logs.String(), "Client.Timeout exceeded", "failed by the request timeout")
}

// While one client's auth query hangs (an hour's request timeout, so the
// check does not race it), other clients are served.
func TestOthersAreServedWhileAnAuthQueryHangs(t *testing.T) {
	addr, entered := blockingAuthServer(t)
	n := startAuthDaemon(t, []string{addr}, func(o *Options) { o.HTTPClientRequestTimeout = time.Hour })
	dialV2(t, n).send("AUTH", []byte("slow"))
	awaitAuthQuery(t, entered)
	requireStillServing(t, n)
}

func TestExitDoesNotWaitForASlowAuthServer(t *testing.T) {
	addr, entered := blockingAuthServer(t)
	n := startAuthDaemon(t, []string{addr}, func(o *Options) { o.HTTPClientRequestTimeout = time.Hour })
	dialV2(t, n).send("AUTH", []byte("slow"))
	awaitAuthQuery(t, entered)
	exited := make(chan struct{})
	go func() {
		n.Exit()
		close(exited)
	}()
	select {
	case <-exited:
	case <-time.After(5 * time.Second):
		t.Fatal("Exit waited for the auth server")
	}
}

func TestOneAuthServerDownTheOthersAnswer(t *testing.T) {
	auth := newAuthServer(t, answerAlice)
	n := startAuthDaemon(t, []string{closedAddr(t), auth.addr(), closedAddr(t)}, nil)
	const clients = 12
	for i := 0; i < clients; i++ {
		authedConn(t, n, "secret").pub("t", "x")
	}
	require.Equal(t, int64(clients), auth.hits.Load())
}

func TestAllAuthServersDownIsAuthFailed(t *testing.T) {
	n := startAuthDaemon(t, []string{closedAddr(t), closedAddr(t)}, nil)
	c := dialV2(t, n)
	c.send("AUTH", []byte("secret"))
	c.expectFatal("E_AUTH_FAILED AUTH failed")
}

// Each query starts at a random server: with two healthy ones, twenty
// queries all landing on the same one would happen once in half a million.
func TestAuthQueriesStartAtARandomServer(t *testing.T) {
	a, b := newAuthServer(t, answerAlice), newAuthServer(t, answerAlice)
	n := startAuthDaemon(t, []string{a.addr(), b.addr()}, nil)
	for i := 0; i < 20; i++ {
		authedConn(t, n, "secret")
	}
	require.Equal(t, int64(20), a.hits.Load()+b.hits.Load(), "one query per AUTH")
	require.NotZero(t, a.hits.Load())
	require.NotZero(t, b.hits.Load())
}

// lockedBuffer collects the daemon's log across its goroutines.
type lockedBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *lockedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// The failure is logged with its cause, but a GET URL carries the secret,
// so the log names the server without the query.
func TestAuthFailureIsLoggedWithoutTheSecret(t *testing.T) {
	logs := &lockedBuffer{}
	down := closedAddr(t)
	n := startAuthDaemon(t, []string{down}, func(o *Options) { o.Logger = logs })
	c := dialV2(t, n)
	c.send("AUTH", []byte("hunter2"))
	c.expectFatal("E_AUTH_FAILED AUTH failed")
	require.Contains(t, logs.String(), "AUTH failed failed to auth against http://"+down+"/auth - ")
	require.NotContains(t, logs.String(), "hunter2")
}
