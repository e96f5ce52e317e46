package nsqadmin

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/nsqgo/nsq/internal/logging"
	"github.com/nsqgo/nsq/internal/tooltest"
)

func TestSettingsDescribeTheServer(t *testing.T) {
	c := startCluster(t, 1)
	admin := startAdmin(t, func(o *Options) {
		lookupdMode(c)(o)
		o.GraphiteURL = "http://graphite.example"
		o.StatsdPrefix = "nsq.%s.x"
	})
	status, m := admin.object(t, "/api/settings")
	require.Equal(t, http.StatusOK, status)
	require.Equal(t, sorted("version", "base_path", "graphite_url", "graph_enabled", "proxy_graphite", "statsd_prefix",
		"statsd_counter_format", "statsd_gauge_format", "statsd_interval_seconds", "nsqlookupd_http_addresses",
		"nsqd_http_addresses", "history_enabled", "history_resolution_seconds", "history_retention_seconds",
		"auth_required", "user", "can_admin", "authorizations"), keys(m))
	require.Equal(t, "1.3.0", m["version"])
	require.Equal(t, "/", m["base_path"])
	require.Equal(t, true, m["graph_enabled"])
	require.Equal(t, "nsq.%s.x", m["statsd_prefix"])
	require.EqualValues(t, 60, m["statsd_interval_seconds"])
	require.EqualValues(t, 10, m["history_resolution_seconds"])
	require.EqualValues(t, 3600, m["history_retention_seconds"])
	require.Equal(t, []any{c.lookupd.HTTPAddr()}, m["nsqlookupd_http_addresses"])
	require.Equal(t, []any{}, m["nsqd_http_addresses"])
	require.Equal(t, false, m["auth_required"])
	require.Equal(t, true, m["can_admin"])
	require.Equal(t, []any{}, m["authorizations"])
}

func TestPagesAreTheAppUnderTheBasePath(t *testing.T) {
	c := startCluster(t, 1)
	admin := startAdmin(t, func(o *Options) {
		nsqdMode(c)(o)
		o.BasePath = "admin/"
	})
	require.True(t, strings.HasSuffix(admin.base, "/admin"))
	root := strings.TrimSuffix(admin.base, "/admin")
	for _, p := range []string{"/admin", "/admin/", "/admin/topics/foo", "/admin/nodes/127.0.0.1:4151", "/admin/counter", "/admin/lookup"} {
		req, _ := http.NewRequest(http.MethodGet, root+p, nil)
		resp, err := http.DefaultClient.Do(req)
		require.NoError(t, err)
		resp.Body.Close()
		require.Equal(t, http.StatusOK, resp.StatusCode, p)
		require.Contains(t, resp.Header.Get("Content-Type"), "text/html", p)
	}
	var topics map[string]any
	require.Equal(t, http.StatusOK, admin.get(t, "/api/topics", &topics))
	status, _ := do(t, http.MethodGet, root+"/api/topics", "", nil)
	require.Equal(t, http.StatusNotFound, status, "the API is only under the base path")
	status, body := do(t, http.MethodGet, admin.base+"/api/nothing", "", nil)
	require.Equal(t, http.StatusNotFound, status)
	require.JSONEq(t, `{"message":"NOT_FOUND"}`, string(body), "unknown API paths are API errors, not the app")
	status, _ = do(t, http.MethodPost, admin.base+"/topics", "", nil)
	require.Equal(t, http.StatusNotFound, status, "the app is only served to GET")
}

func TestGraphiteRateAndProxy(t *testing.T) {
	var lastQuery, lastAuth string
	graphite := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		lastQuery, lastAuth = r.URL.RawQuery, r.Header.Get("Authorization")
		if r.URL.Path != "/render" {
			w.WriteHeader(http.StatusNotFound)
			return
		}
		if r.URL.Query().Get("target") == "empty" {
			w.Write([]byte(`[{"target":"empty","datapoints":[[null, 1]]}]`))
			return
		}
		w.Write([]byte(`[{"target":"x","datapoints":[[120, 1700000000]]}]`))
	}))
	t.Cleanup(graphite.Close)
	c := startCluster(t, 1)
	withUser := strings.Replace(graphite.URL, "http://", "http://gu:gp@", 1)
	admin := startAdmin(t, func(o *Options) {
		nsqdMode(c)(o)
		o.GraphiteURL = withUser
		o.ProxyGraphite = true
		o.StatsdInterval = 30 * time.Second
	})
	status, m := admin.object(t, "/api/graphite?metric=rate&target=sumSeries(x)")
	require.Equal(t, http.StatusOK, status)
	require.Equal(t, map[string]any{"rate": "4.00"}, m)
	require.Contains(t, lastQuery, "from=-60sec")
	require.Contains(t, lastQuery, "until=-30sec")
	require.Contains(t, lastQuery, "format=json")
	require.Contains(t, lastQuery, "target=sumSeries%28x%29")

	_, m = admin.object(t, "/api/graphite?metric=rate&target=empty")
	require.Equal(t, "N/A", m["rate"])
	status, m = admin.object(t, "/api/graphite?metric=depth&target=x")
	require.Equal(t, http.StatusBadRequest, status)
	require.Equal(t, "INVALID_ARG_METRIC", m["message"])
	status, m = admin.object(t, "/api/graphite?metric=rate")
	require.Equal(t, http.StatusBadRequest, status)
	require.Equal(t, "INVALID_ARG_TARGET", m["message"])

	status, body := do(t, http.MethodGet, admin.base+"/render?target=abc&format=json", "", nil)
	require.Equal(t, http.StatusOK, status)
	require.Contains(t, string(body), `"datapoints"`)
	require.Equal(t, "target=abc&format=json", lastQuery)
	require.Equal(t, "Basic Z3U6Z3A=", lastAuth, "the URL's credentials go along")
}

func TestGraphiteUnreachableIsInternalError(t *testing.T) {
	c := startCluster(t, 1)
	admin := startAdmin(t, func(o *Options) {
		nsqdMode(c)(o)
		o.GraphiteURL = "http://127.0.0.1:1"
	})
	status, m := admin.object(t, "/api/graphite?metric=rate&target=x")
	require.Equal(t, http.StatusInternalServerError, status)
	require.Equal(t, "INTERNAL_ERROR", m["message"])
}

func TestConfigEndpointReadsAndChangesOptions(t *testing.T) {
	c := startCluster(t, 1)
	admin := startAdmin(t, nsqdMode(c))
	var level int
	require.Equal(t, http.StatusOK, admin.get(t, "/config/log_level", &level))
	require.Equal(t, 3, level, "warn, as the tests start it")
	status, body := do(t, http.MethodPut, admin.base+"/config/log_level", "debug", nil)
	require.Equal(t, http.StatusOK, status, string(body))
	require.Equal(t, "1", string(body))

	status, body = do(t, http.MethodPut, admin.base+"/config/nsqlookupd_http_addresses", `["`+c.lookupd.HTTPAddr()+`"]`, nil)
	require.Equal(t, http.StatusOK, status, string(body))
	var addrs []string
	require.NoError(t, json.Unmarshal(body, &addrs))
	require.Equal(t, []string{c.lookupd.HTTPAddr()}, addrs)
	_, m := admin.object(t, "/api/settings")
	require.Equal(t, []any{c.lookupd.HTTPAddr()}, m["nsqlookupd_http_addresses"], "the change is live")

	for _, tc := range []struct {
		method, opt, body string
		status            int
		message           string
	}{
		{http.MethodPut, "log_level", "loud", http.StatusBadRequest, "INVALID_VALUE"},
		{http.MethodPut, "nsqlookupd_http_addresses", "x", http.StatusBadRequest, "INVALID_VALUE"},
		{http.MethodPut, "http_address", `"x"`, http.StatusBadRequest, "INVALID_OPTION"},
		{http.MethodPut, "log_level", "", http.StatusRequestEntityTooLarge, "INVALID_VALUE"},
		{http.MethodGet, "nope", "", http.StatusBadRequest, "INVALID_OPTION"},
	} {
		status, body := do(t, tc.method, admin.base+"/config/"+tc.opt, tc.body, nil)
		require.Equal(t, tc.status, status, "%v", tc)
		require.JSONEq(t, `{"message":"`+tc.message+`"}`, string(body), "%v", tc)
	}

	elsewhere := startAdmin(t, func(o *Options) {
		nsqdMode(c)(o)
		o.AllowConfigFromCIDR = "10.0.0.0/8"
	})
	status, body = do(t, http.MethodGet, elsewhere.base+"/config/log_level", "", nil)
	require.Equal(t, http.StatusForbidden, status)
	require.JSONEq(t, `{"message":"FORBIDDEN"}`, string(body))
}

func TestNewRejectsWhatUpstreamRejects(t *testing.T) {
	for _, tc := range []struct {
		configure func(*Options)
		message   string
	}{
		{func(o *Options) {}, "--nsqd-http-address or --lookupd-http-address required"},
		{func(o *Options) { o.NSQDHTTPAddresses = []string{"a:1"}; o.NSQLookupdHTTPAddresses = []string{"b:2"} },
			"use --nsqd-http-address or --lookupd-http-address not both"},
		{func(o *Options) { o.NSQDHTTPAddresses = []string{"127.0.0.1:1"}; o.HTTPClientTLSCert = "c" },
			"--http-client-tls-key must be specified with --http-client-tls-cert"},
		{func(o *Options) { o.NSQDHTTPAddresses = []string{"127.0.0.1:1"}; o.AllowConfigFromCIDR = "nope" },
			"failed to parse --allow-config-from-cidr (nope)"},
		{func(o *Options) { o.NSQDHTTPAddresses = []string{"127.0.0.1:1"}; o.AuthHTTPRequestMethod = "put" },
			"--auth-http-request-method must be post or get"},
		{func(o *Options) { o.NSQDHTTPAddresses = []string{"127.0.0.1:1"}; o.HistoryInterval = 0 },
			"--history-interval must be positive"},
	} {
		opts := NewOptions()
		opts.HTTPAddress = "127.0.0.1:0"
		tc.configure(opts)
		_, err := New(opts)
		require.ErrorContains(t, err, tc.message)
	}
}

func TestAnswersAreGzippedWhenAccepted(t *testing.T) {
	c := startCluster(t, 1)
	for i := range 50 {
		c.createChannel(t, 0, "topic_with_a_long_name_"+strings.Repeat("x", i%10), "ch")
	}
	admin := startAdmin(t, nsqdMode(c))
	req, err := http.NewRequest(http.MethodGet, admin.base+"/api/nodes/"+c.nsqds[0].HTTPAddr(), nil)
	require.NoError(t, err)
	req.Header.Set("Accept-Encoding", "gzip")
	resp, err := (&http.Transport{DisableCompression: true}).RoundTrip(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	require.Equal(t, http.StatusOK, resp.StatusCode)
	require.Equal(t, "gzip", resp.Header.Get("Content-Encoding"))
}

func TestRequestsAreLoggedAsUpstreamLogsThem(t *testing.T) {
	c := startCluster(t, 1)
	logs := tooltest.NewBuffer()
	admin := startAdmin(t, func(o *Options) {
		nsqdMode(c)(o)
		o.Logger = logs
		o.LogLevel = logging.Info
	})
	status, _ := admin.object(t, "/api/nodes/127.0.0.1:1")
	require.Equal(t, http.StatusNotFound, status)
	logs.WaitFor(t, "the request's log line", func(s string) bool {
		return regexp.MustCompile(`INFO: 404 GET /api/nodes/127\.0\.0\.1:1 \(127\.0\.0\.1:\d+\) \S+\n`).MatchString(s)
	})
}
