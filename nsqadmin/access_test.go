package nsqadmin

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func TestAdminUsersAloneMayAct(t *testing.T) {
	c := startCluster(t, 1)
	c.publish(t, 0, "t", "1")
	admin := startAdmin(t, func(o *Options) {
		nsqdMode(c)(o)
		o.AdminUsers = []string{"ann"}
		o.ACLHTTPHeader = "X-Remote-User"
	})
	for _, headers := range []map[string]string{nil, {"X-Remote-User": "bob"}, {"X-Forwarded-User": "ann"}} {
		status, m := admin.send(t, http.MethodPost, "/api/topics/t", `{"action":"pause"}`, headers)
		require.Equal(t, http.StatusForbidden, status, "%v", headers)
		require.Equal(t, "FORBIDDEN", m["message"])
		status, m = admin.send(t, http.MethodDelete, "/api/topics/t", "", headers)
		require.Equal(t, http.StatusForbidden, status, "%v", headers)
	}
	ts, _ := topicOn(c.nsqds[0], "t")
	require.False(t, ts.Paused)

	status, m := admin.send(t, http.MethodGet, "/api/settings", "", map[string]string{"X-Remote-User": "bob"})
	require.Equal(t, http.StatusOK, status)
	require.Equal(t, false, m["can_admin"])
	require.Equal(t, "bob", m["user"])
	status, _ = admin.send(t, http.MethodGet, "/api/topics/t", "", nil)
	require.Equal(t, http.StatusOK, status, "reading needs no admin")

	status, _ = admin.send(t, http.MethodPost, "/api/topics/t", `{"action":"pause"}`, map[string]string{"X-Remote-User": "ann"})
	require.Equal(t, http.StatusOK, status)
	ts, _ = topicOn(c.nsqds[0], "t")
	require.True(t, ts.Paused)
	_, m = admin.send(t, http.MethodGet, "/api/settings", "", map[string]string{"X-Remote-User": "ann"})
	require.Equal(t, true, m["can_admin"])
}

// authServer answers nsqd's auth queries: the secret "good" is ann, who
// may publish to "orders" and subscribe to its "billing" channel; any
// other secret is refused. It counts queries.
func authServer(t *testing.T, queries *atomic.Int32) string {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		queries.Add(1)
		if r.URL.Path != "/auth" || r.URL.Query().Get("remote_ip") != "127.0.0.1" || r.URL.Query().Get("tls") != "false" {
			t.Errorf("unexpected auth query %s", r.URL)
		}
		if r.URL.Query().Get("secret") != "good" {
			w.WriteHeader(http.StatusForbidden)
			w.Write([]byte(`{"message":"NOT_AUTHORIZED"}`))
			return
		}
		json.NewEncoder(w).Encode(map[string]any{
			"ttl":      3600,
			"identity": "ann",
			"authorizations": []any{
				map[string]any{"topic": "^orders$", "channels": []string{"^billing$"}, "permissions": []string{"publish", "subscribe"}},
			},
		})
	}))
	t.Cleanup(srv.Close)
	return strings.TrimPrefix(srv.URL, "http://")
}

func TestAuthServerSecretInStrictHttpOnlyCookieDecidesActions(t *testing.T) {
	c := startCluster(t, 1)
	c.createChannel(t, 0, "orders", "billing")
	c.createChannel(t, 0, "orders", "other")
	c.createChannel(t, 0, "payments", "billing")
	var queries atomic.Int32
	authAddr := authServer(t, &queries)
	admin := startAdmin(t, func(o *Options) {
		nsqdMode(c)(o)
		o.AuthHTTPAddresses = []string{authAddr}
	})

	status, m := admin.send(t, http.MethodGet, "/api/settings", "", nil)
	require.Equal(t, http.StatusOK, status)
	require.Equal(t, true, m["auth_required"])
	require.Equal(t, false, m["can_admin"])

	status, m = admin.send(t, http.MethodPost, "/api/topics/orders", `{"action":"pause"}`, nil)
	require.Equal(t, http.StatusForbidden, status)
	require.Equal(t, "AUTH_REQUIRED", m["message"])

	status, data := do(t, http.MethodPost, admin.base+"/api/auth", `{"secret":"bad"}`, nil)
	require.Equal(t, http.StatusForbidden, status)
	require.JSONEq(t, `{"message":"AUTH_FAILED"}`, string(data))

	req, err := http.NewRequest(http.MethodPost, admin.base+"/api/auth", strings.NewReader(`{"secret":"good"}`))
	require.NoError(t, err)
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	resp.Body.Close()
	require.Equal(t, http.StatusOK, resp.StatusCode)
	cookies := resp.Cookies()
	require.Len(t, cookies, 1)
	cookie := cookies[0]
	require.Equal(t, authCookie, cookie.Name)
	require.True(t, cookie.HttpOnly)
	require.Equal(t, http.SameSiteStrictMode, cookie.SameSite)
	require.Equal(t, "/", cookie.Path)
	withCookie := map[string]string{"Cookie": cookie.Name + "=" + cookie.Value}

	_, m = admin.send(t, http.MethodGet, "/api/settings", "", withCookie)
	require.Equal(t, "ann", m["user"])
	require.Equal(t, true, m["can_admin"])
	require.Equal(t, []any{map[string]any{"topic": "^orders$", "channels": []any{"^billing$"}, "permissions": []any{"publish", "subscribe"}}},
		m["authorizations"], "the pages see the grants")

	for _, tc := range []struct {
		path, message string
	}{
		{"/api/topics/orders", ""},
		{"/api/topics/orders/billing", ""},
		{"/api/topics/orders/other", "FORBIDDEN"},
		{"/api/topics/payments", "FORBIDDEN"},
		{"/api/topics/payments/billing", "FORBIDDEN"},
	} {
		status, m := admin.send(t, http.MethodPost, tc.path, `{"action":"pause"}`, withCookie)
		if tc.message == "" {
			require.Equal(t, http.StatusOK, status, tc.path)
		} else {
			require.Equal(t, http.StatusForbidden, status, tc.path)
			require.Equal(t, tc.message, m["message"], tc.path)
		}
	}
	ts, _ := topicOn(c.nsqds[0], "orders")
	require.True(t, ts.Paused)
	ts, _ = topicOn(c.nsqds[0], "payments")
	require.False(t, ts.Paused)
	require.EqualValues(t, 2, queries.Load(), "one refused secret, then the accepted one cached for its TTL")

	status, data = do(t, http.MethodDelete, admin.base+"/api/auth", "", withCookie)
	require.Equal(t, http.StatusOK, status, string(data))
	status, _ = admin.send(t, http.MethodPost, "/api/topics/orders", `{"action":"unpause"}`, nil)
	require.Equal(t, http.StatusForbidden, status)
}

func TestLoginWithoutAuthServerIsRefused(t *testing.T) {
	c := startCluster(t, 1)
	admin := startAdmin(t, nsqdMode(c))
	status, m := admin.send(t, http.MethodPost, "/api/auth", `{"secret":"x"}`, nil)
	require.Equal(t, http.StatusBadRequest, status)
	require.Equal(t, "AUTH_NOT_CONFIGURED", m["message"])
}

func TestCrossSiteActionsAreRefused(t *testing.T) {
	c := startCluster(t, 1)
	c.publish(t, 0, "t", "1")
	admin := startAdmin(t, nsqdMode(c))
	host := strings.TrimPrefix(admin.base, "http://")
	for _, headers := range []map[string]string{
		{"Sec-Fetch-Site": "cross-site"},
		{"Sec-Fetch-Site": "same-site"},
		{"Origin": "http://evil.example"},
		{"Origin": "http://evil.example", "Sec-Fetch-Site": "cross-site"},
	} {
		status, m := admin.send(t, http.MethodPost, "/api/topics/t", `{"action":"pause"}`, headers)
		require.Equal(t, http.StatusForbidden, status, "%v", headers)
		require.Equal(t, "CROSS_ORIGIN_REQUEST_REFUSED", m["message"])
		status, _ = admin.send(t, http.MethodDelete, "/api/topics/t", "", headers)
		require.Equal(t, http.StatusForbidden, status, "%v", headers)
	}
	ts, ok := topicOn(c.nsqds[0], "t")
	require.True(t, ok)
	require.False(t, ts.Paused)

	for _, headers := range []map[string]string{
		{"Sec-Fetch-Site": "same-origin"},
		{"Origin": "http://" + host},
		nil, // not a browser: curl and scripts
	} {
		status, _ := admin.send(t, http.MethodPost, "/api/topics/t", `{"action":"pause"}`, headers)
		require.Equal(t, http.StatusOK, status, "%v", headers)
	}
	status, _ := admin.send(t, http.MethodGet, "/api/topics", "", map[string]string{"Sec-Fetch-Site": "cross-site"})
	require.Equal(t, http.StatusOK, status, "reads are not actions")
}

func TestAuthServerAskedByPostWhenConfigured(t *testing.T) {
	type query struct {
		method, contentType string
		fields              map[string][]string
	}
	got := make(chan query, 4)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		q := query{method: r.Method, contentType: r.Header.Get("Content-Type")}
		json.NewDecoder(r.Body).Decode(&q.fields)
		got <- q
		json.NewEncoder(w).Encode(map[string]any{"ttl": 60, "identity": "svc",
			"authorizations": []any{map[string]any{"topic": ".*", "channels": []string{".*"}, "permissions": []string{"publish"}}}})
	}))
	t.Cleanup(srv.Close)
	c := startCluster(t, 1)
	admin := startAdmin(t, func(o *Options) {
		nsqdMode(c)(o)
		o.AuthHTTPAddresses = []string{srv.URL + "/custom-auth"}
		o.AuthHTTPRequestMethod = "post"
	})
	status, m := admin.send(t, http.MethodPost, "/api/auth", `{"secret":"s3"}`, nil)
	require.Equal(t, http.StatusOK, status, m)
	require.Equal(t, "svc", m["user"])
	q := <-got
	require.Equal(t, http.MethodPost, q.method)
	require.Equal(t, "application/json", q.contentType)
	require.Equal(t, map[string][]string{"secret": {"s3"}, "remote_ip": {"127.0.0.1"}, "tls": {"false"}, "common_name": {""}}, q.fields)
}

func TestAuthAnswerIsAskedAgainAfterItsTTL(t *testing.T) {
	var queries atomic.Int32
	authAddr := authServer(t, &queries)
	clock := time.Unix(1_700_000_000, 0)
	opts := NewOptions()
	opts.AuthHTTPAddresses = []string{authAddr}
	a := newAuthChecker(opts, nil, func() time.Time { return clock })
	defer a.close()
	ctx := context.Background()
	for range 3 {
		answer, err := a.check(ctx, "good", "127.0.0.1", false)
		require.NoError(t, err)
		require.Equal(t, "ann", answer.Identity)
	}
	require.EqualValues(t, 1, queries.Load(), "cached for its TTL")
	clock = clock.Add(time.Hour + time.Second)
	_, err := a.check(ctx, "good", "127.0.0.1", false)
	require.NoError(t, err)
	require.EqualValues(t, 2, queries.Load(), "asked again once the TTL ran out")
	_, err = a.check(ctx, "bad", "127.0.0.1", false)
	require.ErrorContains(t, err, "403")
	require.NotContains(t, err.Error(), "bad", "the secret stays out of errors")
}

func TestAuthCacheIsBounded(t *testing.T) {
	clock := time.Unix(1_700_000_000, 0)
	a := newAuthChecker(NewOptions(), nil, func() time.Time { return clock })
	defer a.close()
	answer := &authAnswer{Expires: clock.Add(time.Hour)}
	var first [32]byte
	for i := range maxAuthCache + 10 {
		var key [32]byte
		key[0], key[1] = byte(i), byte(i>>8)
		if i == 0 {
			first = key
		}
		a.remember(key, answer)
		clock = clock.Add(time.Millisecond)
	}
	require.Len(t, a.cache, maxAuthCache)
	_, kept := a.cache[first]
	require.False(t, kept, "the oldest answer went first")

	clock = clock.Add(2 * time.Hour) // every answer has expired
	a.remember([32]byte{0xff, 0xff, 0xff}, &authAnswer{Expires: clock.Add(time.Hour)})
	require.Len(t, a.cache, 1, "expired answers are swept when the cache is full")
}
