package nsqd

import (
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// Secrets the HTTP auth tests' auth server knows. Any other secret is
// refused with 403, which nsqd must report as AUTH_FAILED.
func httpAuthResponder(secret string) (int, string) {
	switch secret {
	case "publisher": // may publish to orders only
		return http.StatusOK, answer(3600, "^orders$", []string{".*"}, "publish")
	case "operator": // may do anything, node-wide
		return http.StatusOK, answer(3600, ".*", []string{".*"}, "admin", "publish", "subscribe")
	case "orders-admin": // admin of orders and its channel work only
		return http.StatusOK, answer(3600, "^orders$", []string{"^work$"}, "admin")
	case "subscriber": // a valid secret without publish or admin grants
		return http.StatusOK, answer(3600, ".*", []string{".*"}, "subscribe")
	case "nobody": // a valid secret with no authorizations at all
		return http.StatusOK, answerNoGrants
	}
	return http.StatusForbidden, `{"message":"unknown secret"}`
}

// httpAuthDo sends a request with an optional bearer secret.
func httpAuthDo(t *testing.T, n *NSQD, method, path, secret, body string) (int, string, http.Header) {
	t.Helper()
	req, err := http.NewRequest(method, httpURL(n, path), strings.NewReader(body))
	require.NoError(t, err)
	if secret != "" {
		req.Header.Set("Authorization", "Bearer "+secret)
	}
	client := &http.Client{Timeout: 10 * time.Second}
	resp, err := client.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	return resp.StatusCode, string(data), resp.Header
}

type httpAuthCase struct {
	method, path, body string
	granted            string // a secret that is allowed
	denied             string // a valid secret that is not
}

// Each endpoint class under --http-auth=all: no token is 401 AUTH_REQUIRED
// with a Bearer challenge, a secret the auth server refuses is 401
// AUTH_FAILED, a valid secret without the grant is 403 FORBIDDEN, and the
// grant lets the request through to its handler.
func TestHTTPAuthAllEndpointClasses(t *testing.T) {
	a := newAuthServer(t, "")
	a.setResponder(httpAuthResponder)
	n := startAuthDaemon(t, []string{a.addr()}, func(o *Options) { o.HTTPAuth = httpAuthAll })

	cases := []httpAuthCase{
		{"POST", "/pub?topic=orders", "hello", "publisher", "subscriber"},
		{"POST", "/mpub?topic=orders", "a\nb", "operator", "orders-admin"},
		{"POST", "/topic/create?topic=orders", "", "orders-admin", "publisher"},
		{"POST", "/channel/create?topic=orders&channel=work", "", "orders-admin", "nobody"},
		{"POST", "/topic/pause?topic=orders", "", "operator", "subscriber"},
		{"POST", "/topic/unpause?topic=orders", "", "orders-admin", "subscriber"},
		{"GET", "/stats?format=json", "", "operator", "orders-admin"},
		{"GET", "/metrics", "", "operator", "publisher"},
		{"GET", "/debug/pprof/", "", "operator", "orders-admin"},
		{"GET", "/config/mem_queue_size", "", "operator", "orders-admin"},
	}
	for _, c := range cases {
		t.Run(c.method+" "+c.path, func(t *testing.T) {
			status, body, header := httpAuthDo(t, n, c.method, c.path, "", c.body)
			require.Equal(t, http.StatusUnauthorized, status)
			require.JSONEq(t, `{"message":"AUTH_REQUIRED"}`, body)
			require.Equal(t, `Bearer realm="nsqd"`, header.Get("WWW-Authenticate"))

			status, body, _ = httpAuthDo(t, n, c.method, c.path, "wrong-secret", c.body)
			require.Equal(t, http.StatusUnauthorized, status)
			require.JSONEq(t, `{"message":"AUTH_FAILED"}`, body)

			status, body, _ = httpAuthDo(t, n, c.method, c.path, c.denied, c.body)
			require.Equal(t, http.StatusForbidden, status, body)
			require.JSONEq(t, `{"message":"FORBIDDEN"}`, body)

			status, body, _ = httpAuthDo(t, n, c.method, c.path, c.granted, c.body)
			require.Equal(t, http.StatusOK, status, body)
		})
	}

	// The grant is per topic and channel: orders-admin may not touch
	// another topic or another channel of orders.
	status, _, _ := httpAuthDo(t, n, "POST", "/topic/create?topic=other", "orders-admin", "")
	require.Equal(t, http.StatusForbidden, status)
	status, _, _ = httpAuthDo(t, n, "POST", "/channel/create?topic=orders&channel=audit", "orders-admin", "")
	require.Equal(t, http.StatusForbidden, status)
	status, _, _ = httpAuthDo(t, n, "POST", "/pub?topic=other", "publisher", "x")
	require.Equal(t, http.StatusForbidden, status)

	// What the granted requests did really happened.
	tp, err := n.GetExistingTopic("orders")
	require.NoError(t, err)
	require.Equal(t, uint64(3), tp.messageCount.Load(), "/pub and the two of /mpub")
	_, err = tp.GetExistingChannel("work")
	require.NoError(t, err)
	_, err = n.GetExistingTopic("other")
	require.Error(t, err, "a forbidden create created nothing")

	// Probes and /info stay open.
	for _, path := range []string{"/ping", "/healthz", "/readyz", "/info"} {
		status, body, _ := httpAuthDo(t, n, "GET", path, "", "")
		require.Equal(t, http.StatusOK, status, "%s: %s", path, body)
	}
}

// Under --http-auth=publish only /pub and /mpub are guarded; /stats,
// /metrics and the admin endpoints are open as upstream's.
func TestHTTPAuthPublishGuardsOnlyPublishing(t *testing.T) {
	a := newAuthServer(t, "")
	a.setResponder(httpAuthResponder)
	n := startAuthDaemon(t, []string{a.addr()}, func(o *Options) { o.HTTPAuth = httpAuthPublish })

	status, _, _ := httpAuthDo(t, n, "POST", "/pub?topic=orders", "", "x")
	require.Equal(t, http.StatusUnauthorized, status)
	status, _, _ = httpAuthDo(t, n, "POST", "/pub?topic=orders", "subscriber", "x")
	require.Equal(t, http.StatusForbidden, status)
	status, _, _ = httpAuthDo(t, n, "POST", "/pub?topic=orders", "publisher", "x")
	require.Equal(t, http.StatusOK, status)
	for _, path := range []string{"/stats", "/metrics", "/config/mem_queue_size"} {
		status, body, _ := httpAuthDo(t, n, "GET", path, "", "")
		require.Equal(t, http.StatusOK, status, "%s: %s", path, body)
	}
	status, _, _ = httpAuthDo(t, n, "POST", "/topic/create?topic=free", "", "")
	require.Equal(t, http.StatusOK, status)
}

// --http-auth=off (the default) asks nobody, even with auth servers set.
func TestHTTPAuthOffIsUpstreamBehaviour(t *testing.T) {
	a := newAuthServer(t, answerAlice)
	n := startAuthDaemon(t, []string{a.addr()}, nil)
	status, _, _ := httpAuthDo(t, n, "POST", "/pub?topic=t", "", "x")
	require.Equal(t, http.StatusOK, status)
	status, _, _ = httpAuthDo(t, n, "POST", "/topic/delete?topic=t", "", "")
	require.Equal(t, http.StatusOK, status)
	require.Zero(t, a.hits.Load())
}

// An auth server that is down fails the request with 401 AUTH_FAILED (as
// TCP's E_AUTH_FAILED); nothing is published, and nsqd keeps serving.
func TestHTTPAuthServerDown(t *testing.T) {
	n := startAuthDaemon(t, []string{closedAddr(t)}, func(o *Options) { o.HTTPAuth = httpAuthAll })
	status, body, _ := httpAuthDo(t, n, "POST", "/pub?topic=t", "operator", "x")
	require.Equal(t, http.StatusUnauthorized, status)
	require.JSONEq(t, `{"message":"AUTH_FAILED"}`, body)
	status, _, _ = httpAuthDo(t, n, "GET", "/stats", "operator", "")
	require.Equal(t, http.StatusUnauthorized, status)
	_, err := n.GetExistingTopic("t")
	require.Error(t, err)
	status, _, _ = httpAuthDo(t, n, "GET", "/ping", "", "")
	require.Equal(t, http.StatusOK, status)
}

// An answer is cached for its TTL: later requests with the same secret do
// not ask the auth server; once the TTL runs out the next one does, and a
// changed answer takes effect.
func TestHTTPAuthCachesForTTLThenAsksAgain(t *testing.T) {
	a := newAuthServer(t, answer(60, ".*", []string{".*"}, "publish"))
	n := startAuthDaemon(t, []string{a.addr()}, func(o *Options) { o.HTTPAuth = httpAuthPublish; withFakeClock(o) })
	for range 3 {
		status, _, _ := httpAuthDo(t, n, "POST", "/pub?topic=t", "s3cret", "x")
		require.Equal(t, http.StatusOK, status)
	}
	require.Equal(t, int64(1), a.hits.Load(), "one query for three requests within the TTL")
	require.Equal(t, "s3cret", a.lastRequest(t).fields.Get("secret"))
	require.Equal(t, "127.0.0.1", a.lastRequest(t).fields.Get("remote_ip"))

	a.setReply(http.StatusOK, answerNoGrants)
	status, _, _ := httpAuthDo(t, n, "POST", "/pub?topic=t", "s3cret", "x")
	require.Equal(t, http.StatusOK, status, "still the cached answer")
	advanceAuthClock(n, 61*time.Second)
	status, _, _ = httpAuthDo(t, n, "POST", "/pub?topic=t", "s3cret", "x")
	require.Equal(t, http.StatusForbidden, status, "the TTL ran out; the new answer grants nothing")
	require.Equal(t, int64(2), a.hits.Load())

	a.setReply(http.StatusServiceUnavailable, "down")
	advanceAuthClock(n, 3601*time.Second) // answerNoGrants' TTL
	status, _, _ = httpAuthDo(t, n, "POST", "/pub?topic=t", "s3cret", "x")
	require.Equal(t, http.StatusUnauthorized, status)
}

func TestHTTPAuthOptionValidation(t *testing.T) {
	opts := NewOptions()
	opts.HTTPAuth = "everything"
	require.ErrorContains(t, validateHTTPAuthOptions(opts), "--http-auth must be off, publish or all")
	opts.HTTPAuth = httpAuthAll
	require.ErrorContains(t, validateHTTPAuthOptions(opts), "requires --auth-http-address")
	opts.AuthHTTPAddresses = []string{"127.0.0.1:1"}
	require.NoError(t, validateHTTPAuthOptions(opts))
}

// Over TCP an "admin" grant is accepted (upstream refuses the word) but
// grants neither publishing nor subscribing.
func TestTCPAuthAcceptsAdminGrantWithoutPublishRights(t *testing.T) {
	a := newAuthServer(t, answer(60, ".*", []string{".*"}, "admin"))
	n := startAuthDaemon(t, []string{a.addr()}, nil)
	c := dialV2(t, n)
	require.Contains(t, c.authenticate("s"), `"permission_count":1`)
	c.send("PUB t", []byte("x"))
	c.expectFatal(`E_UNAUTHORIZED AUTH failed for PUB on "t" ""`)
}
