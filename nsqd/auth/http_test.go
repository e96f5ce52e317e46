package auth

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/nsqgo/nsq/internal/authclient"
	"github.com/nsqgo/nsq/internal/clock"
	"github.com/stretchr/testify/require"
)

func TestValidateHTTPMode(t *testing.T) {
	require.NoError(t, ValidateHTTPMode("", false))
	require.NoError(t, ValidateHTTPMode(HTTPOff, false))
	require.NoError(t, ValidateHTTPMode(HTTPAll, true))
	require.EqualError(t, ValidateHTTPMode(HTTPPublish, false), "--http-auth=publish requires --auth-http-address")
	require.EqualError(t, ValidateHTTPMode("everything", true), `--http-auth must be off, publish or all (got "everything")`)
}

func TestClassifyGuardsPublishingAlwaysAndTheRestUnderAll(t *testing.T) {
	for _, tc := range []struct {
		mode, target   string
		class          endpointClass
		topic, channel string
	}{
		{HTTPPublish, "/ping", classOpen, "", ""},
		{HTTPAll, "/info", classOpen, "", ""},
		{HTTPPublish, "/pub?topic=t", classPublish, "t", ""},
		{HTTPAll, "/mpub?topic=t&binary=true", classPublish, "t", ""},
		{HTTPPublish, "/topic/delete?topic=t", classOpen, "", ""},
		{HTTPAll, "/topic/delete?topic=t", classAdmin, "t", ""},
		{HTTPAll, "/channel/pause?topic=t&channel=c", classAdmin, "t", "c"},
		{HTTPAll, "/stats", classAdmin, "", ""},
		{HTTPAll, "/a/route/added/later", classAdmin, "", ""},
	} {
		class, topic, channel := classify(tc.mode, httptest.NewRequest("POST", tc.target, nil))
		require.Equal(t, tc.class, class, "%+v", tc)
		require.Equal(t, tc.topic, topic, "%+v", tc)
		require.Equal(t, tc.channel, channel, "%+v", tc)
	}
}

func TestBearerSecret(t *testing.T) {
	for header, want := range map[string]string{"Bearer s3": "s3", "bearer  s3 ": "s3", "Basic s3": "", "Bearer ": "", "": ""} {
		r := httptest.NewRequest("GET", "/stats", nil)
		r.Header.Set("Authorization", header)
		got, ok := bearerSecret(r)
		require.Equal(t, want, got, "%q", header)
		require.Equal(t, want != "", ok, "%q", header)
	}
}

// guarded is a guard in mode over a handler that answers 200, asking an
// auth server that answers each secret with answers[secret] (403 when
// absent) and counts its queries.
func guarded(t *testing.T, mode string, answers map[string]string, adminAlso func(*authclient.State, *http.Request) bool) (http.Handler, *clock.Fake, *atomic.Int32, *strings.Builder) {
	t.Helper()
	var queries atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		queries.Add(1)
		body, ok := answers[r.URL.Query().Get("secret")]
		if !ok {
			http.Error(w, "no", http.StatusForbidden)
			return
		}
		w.Write([]byte(body))
	}))
	t.Cleanup(srv.Close)
	fake := clock.NewFake(time.Unix(1_700_000_000, 0))
	client := authclient.New(authclient.Config{
		Addresses: []string{strings.TrimPrefix(srv.URL, "http://")},
		Rules:     authclient.Rules{AdminPermission: true},
		Now:       fake.Now,
	})
	t.Cleanup(client.Close)
	var logs strings.Builder
	g := NewHTTPGuard(client, mode, func(format string, args ...any) { fmt.Fprintf(&logs, format+"\n", args...) }, adminAlso)
	require.NotNil(t, g)
	return g.Wrap(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(http.StatusOK) })), fake, &queries, &logs
}

func do(h http.Handler, target, secret string) *httptest.ResponseRecorder {
	r := httptest.NewRequest("POST", target, nil)
	if secret != "" {
		r.Header.Set("Authorization", "Bearer "+secret)
	}
	w := httptest.NewRecorder()
	h.ServeHTTP(w, r)
	return w
}

const (
	publishOrders = `{"ttl":60,"authorizations":[{"topic":"^orders$","channels":[".*"],"permissions":["publish"]}]}`
	adminOrders   = `{"ttl":60,"authorizations":[{"topic":"^orders$","channels":["^audit$"],"permissions":["admin"]}]}`
)

func TestNoGuardWhenOff(t *testing.T) {
	require.Nil(t, NewHTTPGuard(nil, HTTPOff, nil, nil))
	require.Nil(t, NewHTTPGuard(nil, "", nil, nil))
}

func TestGuardAnswers(t *testing.T) {
	h, _, _, logs := guarded(t, HTTPAll, map[string]string{"pub": publishOrders, "admin": adminOrders}, nil)

	w := do(h, "/pub?topic=orders", "")
	require.Equal(t, http.StatusUnauthorized, w.Code)
	require.Equal(t, `Bearer realm="nsqd"`, w.Header().Get("WWW-Authenticate"))
	require.Contains(t, w.Body.String(), "AUTH_REQUIRED")

	w = do(h, "/pub?topic=orders", "unknown-secret")
	require.Equal(t, http.StatusUnauthorized, w.Code)
	require.Equal(t, `Bearer realm="nsqd", error="invalid_token"`, w.Header().Get("WWW-Authenticate"))
	require.Contains(t, w.Body.String(), "AUTH_FAILED")
	require.Contains(t, logs.String(), "auth failed")
	require.NotContains(t, logs.String(), "unknown-secret", "the secret stays out of the log")

	require.Equal(t, http.StatusOK, do(h, "/pub?topic=orders", "pub").Code)
	require.Equal(t, http.StatusForbidden, do(h, "/pub?topic=other", "pub").Code)
	require.Equal(t, http.StatusForbidden, do(h, "/topic/pause?topic=orders", "pub").Code, "publish is not admin")
	require.Equal(t, http.StatusOK, do(h, "/channel/pause?topic=orders&channel=audit", "admin").Code)
	require.Equal(t, http.StatusForbidden, do(h, "/channel/pause?topic=orders&channel=work", "admin").Code)
	require.Equal(t, http.StatusOK, do(h, "/ping", "").Code, "open endpoints need no secret")
}

func TestAdminAlsoMustAgree(t *testing.T) {
	refuse := func(*authclient.State, *http.Request) bool { return false }
	h, _, _, _ := guarded(t, HTTPAll, map[string]string{"admin": adminOrders, "pub": publishOrders}, refuse)
	require.Equal(t, http.StatusForbidden, do(h, "/channel/pause?topic=orders&channel=audit", "admin").Code)
	require.Equal(t, http.StatusOK, do(h, "/pub?topic=orders", "pub").Code, "publishing is not an admin request")
}

// An answer is reused until its TTL has passed on the auth clock; a
// failed query is not cached.
func TestAnswersAreCachedForTheirTTL(t *testing.T) {
	h, fake, queries, _ := guarded(t, HTTPPublish, map[string]string{"pub": publishOrders}, nil)
	for range 3 {
		require.Equal(t, http.StatusOK, do(h, "/pub?topic=orders", "pub").Code)
	}
	require.EqualValues(t, 1, queries.Load())
	fake.Advance(60 * time.Second)
	require.Equal(t, http.StatusOK, do(h, "/pub?topic=orders", "pub").Code)
	require.EqualValues(t, 1, queries.Load(), "still within the TTL")
	fake.Advance(time.Second)
	require.Equal(t, http.StatusOK, do(h, "/pub?topic=orders", "pub").Code)
	require.EqualValues(t, 2, queries.Load(), "asked again once the TTL ran out")

	do(h, "/pub?topic=orders", "bad")
	do(h, "/pub?topic=orders", "bad")
	require.EqualValues(t, 4, queries.Load(), "failures are asked again")
}

// A full cache sheds its expired answers first, and starts over when none
// had expired, so distinct secrets cost queries, not memory.
func TestCacheIsBounded(t *testing.T) {
	var queries atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		queries.Add(1)
		w.Write([]byte(publishOrders))
	}))
	defer srv.Close()
	fake := clock.NewFake(time.Unix(1_700_000_000, 0))
	client := authclient.New(authclient.Config{Addresses: []string{strings.TrimPrefix(srv.URL, "http://")}, Now: fake.Now})
	defer client.Close()
	g := NewHTTPGuard(client, HTTPPublish, func(string, ...any) {}, nil)
	h := g.Wrap(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {}))

	fresh := &authclient.State{Expires: fake.Now().Add(time.Hour)}
	stale := &authclient.State{Expires: fake.Now().Add(-time.Second)}
	for i := range maxHTTPCache {
		state := fresh
		if i%2 == 0 {
			state = stale
		}
		g.cache[httpKey{secret: fmt.Sprint("filler-", i)}] = state
	}
	require.Equal(t, http.StatusOK, do(h, "/pub?topic=orders", "new-1").Code)
	require.Len(t, g.cache, maxHTTPCache/2+1, "the expired half went, the new answer came in")

	for i := 0; len(g.cache) < maxHTTPCache; i++ {
		g.cache[httpKey{secret: fmt.Sprint("more-", i)}] = fresh
	}
	require.Equal(t, http.StatusOK, do(h, "/pub?topic=orders", "new-2").Code)
	require.Len(t, g.cache, 1, "nothing had expired: the cache started over")
	require.EqualValues(t, 2, queries.Load())
}
