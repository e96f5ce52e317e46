package nsqadmin

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
	"github.com/stretchr/testify/require"

	"github.com/nsqgo/nsq/internal/tooltest"
	"github.com/nsqgo/nsq/internal/version"
)

// scrape fetches {base-path}/metrics and parses it with the client
// library's parser.
func (a *testAdmin) scrape(t *testing.T) map[string]*dto.MetricFamily {
	t.Helper()
	status, body := do(t, http.MethodGet, a.base+"/metrics", "", nil)
	require.Equal(t, http.StatusOK, status, string(body))
	parser := expfmt.NewTextParser(model.UTF8Validation)
	families, err := parser.TextToMetricFamilies(strings.NewReader(string(body)))
	require.NoError(t, err, string(body))
	return families
}

// value is the series of name whose labels include want (name=value
// pairs), or -1 when there is none.
func value(t *testing.T, families map[string]*dto.MetricFamily, name string, want ...string) float64 {
	t.Helper()
	f, ok := families[name]
	if !ok {
		return -1
	}
	for _, m := range f.GetMetric() {
		labels := map[string]string{}
		for _, l := range m.GetLabel() {
			labels[l.GetName()] = l.GetValue()
		}
		match := true
		for i := 0; i+1 < len(want); i += 2 {
			if labels[want[i]] != want[i+1] {
				match = false
			}
		}
		if !match {
			continue
		}
		switch f.GetType() {
		case dto.MetricType_COUNTER:
			return m.GetCounter().GetValue()
		case dto.MetricType_GAUGE:
			return m.GetGauge().GetValue()
		}
		t.Fatalf("%s is a %s", name, f.GetType())
	}
	return -1
}

// awaitFirstPoll waits for the poll Main takes at start; with an hour's
// interval no other comes unless the test takes it.
func (a *testAdmin) awaitFirstPoll(t *testing.T) {
	t.Helper()
	tooltest.Eventually(t, "the first history poll", func() bool { return a.metrics.polls.Load() >= 1 })
}

// The history poller's figures after a known number of polls of a real
// cluster: one topic and one channel found, a cap of one series.
func TestAdminMetricsCountHistoryPollsAndSeriesUnderBasePath(t *testing.T) {
	c := startCluster(t, 1)
	c.createChannel(t, 0, "t", "c")
	c.awaitLookup(t, "t", 0)
	admin := startAdmin(t, func(o *Options) {
		lookupdMode(c)(o)
		o.BasePath = "/admin"
		o.HistoryInterval = time.Hour
		o.HistoryRetention = 2 * time.Hour
		o.HistoryMaxSeries = 1
	})
	admin.awaitFirstPoll(t)
	for range 3 {
		admin.pollHistory(context.Background())
	}

	families := admin.scrape(t)
	require.Equal(t, dto.MetricType_COUNTER, families["nsq_admin_history_polls_total"].GetType())
	require.Equal(t, float64(4), value(t, families, "nsq_admin_history_polls_total"))
	require.NotContains(t, families, "nsq_admin_history_poll_failures_total", "every node answered")
	require.Equal(t, float64(1), value(t, families, "nsq_admin_history_series"), "the cap")
	require.Equal(t, float64(1), value(t, families, "nsq_admin_history_max_series"))
	require.Equal(t, float64(1), value(t, families, "nsq_admin_history_series_refused"), "topic t and channel t/c were found")
	require.Greater(t, value(t, families, "nsq_admin_history_last_poll_duration_seconds"), float64(0))
	require.Equal(t, float64(1), value(t, families, "nsq_build_info", "version", version.Version, "revision", version.Commit()))
	require.Contains(t, families, "go_goroutines")
	require.Contains(t, families, "process_start_time_seconds")
	// The shared Go and process families, with client_golang's types
	// (internal/promexpo), and the whole answer parsed by the client
	// library (scrape).
	require.Equal(t, dto.MetricType_SUMMARY, families["go_gc_duration_seconds"].GetType())
	require.Equal(t, dto.MetricType_COUNTER, families["process_cpu_seconds_total"].GetType())
	require.Equal(t, dto.MetricType_COUNTER, families["nsq_admin_history_polls_total"].GetType())
	require.Equal(t, dto.MetricType_GAUGE, families["nsq_admin_history_series"].GetType())
	// The scrape above was counted by the time this one is answered.
	require.GreaterOrEqual(t, value(t, admin.scrape(t), "nsq_admin_http_requests_total", "route", "metrics", "code", "2xx"), float64(1))

	status, _ := do(t, http.MethodGet, "http://"+admin.RealHTTPAddr().String()+"/metrics", "", nil)
	require.Equal(t, http.StatusNotFound, status, "like every route, /metrics lives under --base-path")
}

// A configured nsqd that is down fails every poll under its address; the
// one that answers is not counted.
func TestAdminMetricsCountPollFailuresByNodeAddress(t *testing.T) {
	c := startCluster(t, 1)
	c.createChannel(t, 0, "t", "c")
	down := tooltest.ClosedPort(t)
	admin := startAdmin(t, func(o *Options) {
		o.NSQDHTTPAddresses = []string{c.nsqds[0].HTTPAddr(), down}
		o.HistoryInterval = time.Hour
		o.HistoryRetention = 2 * time.Hour
	})
	admin.awaitFirstPoll(t)
	admin.pollHistory(context.Background())
	admin.pollHistory(context.Background())

	families := admin.scrape(t)
	require.Equal(t, float64(3), value(t, families, "nsq_admin_history_polls_total"))
	require.Equal(t, float64(3), value(t, families, "nsq_admin_history_poll_failures_total", "node", down))
	require.Len(t, families["nsq_admin_history_poll_failures_total"].GetMetric(), 1, "the nsqd that answered has no failures")
	require.Equal(t, float64(2), value(t, families, "nsq_admin_history_series"), "the live node's topic and channel still have history")
}

// A producer a lookupd lists whose HTTP port is closed fails while its
// /stats are read: counted under its broadcast_address:http_port, while
// the lookupd itself and the real nsqd count nothing.
func TestAdminMetricsCountStatsFailureOfALookupdListedNode(t *testing.T) {
	c := startCluster(t, 1)
	c.createChannel(t, 0, "t", "c")
	_, deadPort, err := net.SplitHostPort(tooltest.ClosedPort(t))
	require.NoError(t, err)
	ghost := registerGhostProducer(t, c.lookupd.TCPAddr(), deadPort)
	tooltest.Eventually(t, "lookupd lists the ghost", func() bool {
		var nodes struct {
			Producers []any `json:"producers"`
		}
		return getInto(t, "http://"+c.lookupd.HTTPAddr()+"/nodes", &nodes) == http.StatusOK && len(nodes.Producers) == 2
	})
	admin := startAdmin(t, func(o *Options) {
		lookupdMode(c)(o)
		o.HistoryInterval = time.Hour
		o.HistoryRetention = 2 * time.Hour
	})
	admin.awaitFirstPoll(t)
	admin.pollHistory(context.Background())

	families := admin.scrape(t)
	require.Equal(t, float64(2), value(t, families, "nsq_admin_history_polls_total"))
	require.Equal(t, float64(2), value(t, families, "nsq_admin_history_poll_failures_total", "node", "127.0.0.1:"+deadPort))
	require.Len(t, families["nsq_admin_history_poll_failures_total"].GetMetric(), 1)
	ghost.Close()
}

// registerGhostProducer identifies to the lookupd as an nsqd at
// 127.0.0.1 with httpPort and registers topic "t"; it stays registered
// while the returned connection is open.
func registerGhostProducer(t *testing.T, lookupdTCP, httpPort string) net.Conn {
	t.Helper()
	conn, err := net.DialTimeout("tcp", lookupdTCP, tooltest.WaitTimeout)
	require.NoError(t, err)
	t.Cleanup(func() { conn.Close() })
	require.NoError(t, conn.SetDeadline(time.Now().Add(tooltest.WaitTimeout)))
	identify, err := json.Marshal(map[string]any{
		"broadcast_address": "127.0.0.1", "hostname": "ghost", "tcp_port": 1, "http_port": atoiT(t, httpPort), "version": version.Version,
	})
	require.NoError(t, err)
	frame := make([]byte, 4)
	msg := []byte("  V1IDENTIFY\n")
	frame[0], frame[1], frame[2], frame[3] = byte(len(identify)>>24), byte(len(identify)>>16), byte(len(identify)>>8), byte(len(identify))
	msg = append(append(msg, frame...), identify...)
	msg = append(msg, "REGISTER t\n"...)
	_, err = conn.Write(msg)
	require.NoError(t, err)
	// Two replies: IDENTIFY's JSON, then REGISTER's OK, each a size-prefixed
	// frame.
	for range 2 {
		var size [4]byte
		_, err := io.ReadFull(conn, size[:])
		require.NoError(t, err)
		n := int(size[0])<<24 | int(size[1])<<16 | int(size[2])<<8 | int(size[3])
		require.Less(t, n, 1<<16)
		_, err = io.ReadFull(conn, make([]byte, n))
		require.NoError(t, err)
	}
	require.NoError(t, conn.SetDeadline(time.Time{}))
	return conn
}

func atoiT(t *testing.T, s string) int {
	t.Helper()
	var n int
	_, err := fmt.Sscanf(s, "%d", &n)
	require.NoError(t, err)
	return n
}

// Each admin action counts once under its name and outcome; a refused
// one under denied or invalid; the notifications it caused as queued and
// sent, or failed when the endpoint refuses them.
func TestAdminMetricsCountActionsAndNotifications(t *testing.T) {
	c := startCluster(t, 1)
	c.createChannel(t, 0, "t", "c")
	c.awaitLookup(t, "t", 0)
	var received atomic.Int32
	sink := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		received.Add(1)
		body, _ := io.ReadAll(r.Body)
		if strings.Contains(string(body), `"pause_topic"`) {
			w.WriteHeader(http.StatusInternalServerError)
		}
	}))
	t.Cleanup(sink.Close)
	admin := startAdmin(t, func(o *Options) {
		lookupdMode(c)(o)
		o.AdminUsers = []string{"ann"}
		o.ACLHTTPHeader = "X-Remote-User"
		o.NotificationHTTPEndpoint = sink.URL
	})
	ann := map[string]string{"X-Remote-User": "ann"}
	for _, tc := range []struct {
		method, path, body string
		headers            map[string]string
		status             int
	}{
		{http.MethodPost, "/api/topics", `{"topic":"t","channel":"d"}`, ann, http.StatusOK},
		{http.MethodPost, "/api/topics/t", `{"action":"pause"}`, ann, http.StatusOK},
		{http.MethodPost, "/api/topics/t/c", `{"action":"empty"}`, ann, http.StatusOK},
		{http.MethodPost, "/api/topics/t/c", `{"action":"empty"}`, ann, http.StatusOK},
		{http.MethodPost, "/api/topics/t", `{"action":"explode"}`, ann, http.StatusBadRequest},
		{http.MethodDelete, "/api/topics/t/c", "", nil, http.StatusForbidden},
		{http.MethodDelete, "/api/topics/t/c", "", map[string]string{"X-Remote-User": "ann", "Sec-Fetch-Site": "cross-site"}, http.StatusForbidden},
	} {
		status, body := do(t, tc.method, admin.base+tc.path, tc.body, tc.headers)
		require.Equal(t, tc.status, status, "%s %s: %s", tc.method, tc.path, body)
	}
	// create_channel notifies create_topic and create_channel.
	tooltest.Eventually(t, "the five notifications answered", func() bool {
		f := admin.scrape(t)
		return value(t, f, "nsq_admin_notifications_sent_total")+value(t, f, "nsq_admin_notifications_failed_total") == 5
	})

	families := admin.scrape(t)
	for _, want := range []struct {
		action, outcome string
		count           float64
	}{
		{"create_channel", "ok", 1},
		{"pause_topic", "ok", 1},
		{"empty_channel", "ok", 2},
		{"invalid", "invalid", 1},
		{"delete_channel", "denied", 2},
	} {
		require.Equal(t, want.count, value(t, families, "nsq_admin_actions_total", "action", want.action, "outcome", want.outcome), "%s %s", want.action, want.outcome)
	}
	require.Len(t, families["nsq_admin_actions_total"].GetMetric(), 5, "nothing else counted (log in and out are not actions)")
	require.Equal(t, float64(5), value(t, families, "nsq_admin_notifications_queued_total"))
	require.EqualValues(t, 5, received.Load())
	require.Equal(t, float64(4), value(t, families, "nsq_admin_notifications_sent_total"))
	require.Equal(t, float64(1), value(t, families, "nsq_admin_notifications_failed_total"), "the endpoint refused pause_topic")
	require.Equal(t, float64(0), value(t, families, "nsq_admin_notifications_dropped_total"))
	require.Equal(t, float64(0), value(t, families, "nsq_admin_notifications_pending"))
	require.GreaterOrEqual(t, value(t, families, "nsq_admin_http_requests_total", "route", "action", "code", "2xx"), float64(4))
	require.GreaterOrEqual(t, value(t, families, "nsq_admin_http_requests_total", "route", "action", "code", "4xx"), float64(3))
}

// Actions whose nodes fail: partial when some answered (upstream's
// warning), failed when none could be asked.
func TestAdminMetricsCountPartialAndFailedActions(t *testing.T) {
	c := startCluster(t, 1)
	down := tooltest.ClosedPort(t)
	partial := startAdmin(t, func(o *Options) { o.NSQDHTTPAddresses = []string{c.nsqds[0].HTTPAddr(), down} })
	status, m := partial.send(t, http.MethodPost, "/api/topics", `{"topic":"t"}`, nil)
	require.Equal(t, http.StatusOK, status)
	require.Contains(t, m["message"], "WARNING")

	failed := startAdmin(t, func(o *Options) { o.NSQDHTTPAddresses = []string{down} })
	status, _ = failed.send(t, http.MethodDelete, "/api/topics/t", "", nil)
	require.Equal(t, http.StatusBadGateway, status)

	require.Equal(t, float64(1), value(t, partial.scrape(t), "nsq_admin_actions_total", "action", "create_topic", "outcome", "partial"))
	require.Equal(t, float64(1), value(t, failed.scrape(t), "nsq_admin_actions_total", "action", "delete_topic", "outcome", "failed"))
}

// With the endpoint stuck, the queue fills and the rest are dropped; each
// notification is counted once as dropped or queued, and every queued one
// is sent once the endpoint answers.
func TestAdminMetricsCountDroppedNotifications(t *testing.T) {
	c := startCluster(t, 1)
	release := make(chan struct{})
	sink := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-release:
		case <-r.Context().Done():
		}
	}))
	t.Cleanup(sink.Close)
	t.Cleanup(func() {
		select {
		case <-release:
		default:
			close(release)
		}
	})
	admin := startAdmin(t, func(o *Options) {
		nsqdMode(c)(o)
		o.NotificationHTTPEndpoint = sink.URL
		o.HTTPClientRequestTimeout = tooltest.WaitTimeout
	})
	const total = notificationQueue + 40
	req := httptest.NewRequest(http.MethodPost, "/api/topics", nil)
	for range total {
		admin.notify(req, "create_topic", "t", "", "")
	}
	families := admin.scrape(t)
	queued := value(t, families, "nsq_admin_notifications_queued_total")
	dropped := value(t, families, "nsq_admin_notifications_dropped_total")
	require.Equal(t, float64(total), queued+dropped)
	require.GreaterOrEqual(t, dropped, float64(total-notificationQueue-1), "at most the queue and the one being sent")
	require.LessOrEqual(t, value(t, families, "nsq_admin_notifications_pending"), float64(notificationQueue))

	close(release)
	tooltest.Eventually(t, "every queued notification sent", func() bool {
		f := admin.scrape(t)
		return value(t, f, "nsq_admin_notifications_sent_total") == queued && value(t, f, "nsq_admin_notifications_pending") == 0
	})
}

// Answers the auth server gave are reported while cached.
func TestAdminMetricsReportCachedAuthAnswers(t *testing.T) {
	c := startCluster(t, 1)
	var queries atomic.Int32
	authAddr := authServer(t, &queries)
	admin := startAdmin(t, func(o *Options) {
		nsqdMode(c)(o)
		o.AuthHTTPAddresses = []string{authAddr}
	})
	require.Equal(t, float64(0), value(t, admin.scrape(t), "nsq_admin_auth_cached_answers"))
	status, _ := do(t, http.MethodPost, admin.base+"/api/auth", `{"secret":"good"}`, nil)
	require.Equal(t, http.StatusOK, status)
	require.Equal(t, float64(1), value(t, admin.scrape(t), "nsq_admin_auth_cached_answers"))
}

func TestRouteClassesUnderBasePath(t *testing.T) {
	for _, tc := range []struct {
		method, path string
		want         int
	}{
		{http.MethodGet, "/admin/api/topics/t", routeAPI},
		{http.MethodPost, "/admin/api/topics/t", routeAction},
		{http.MethodDelete, "/admin/api/nodes/n", routeAction},
		{http.MethodGet, "/admin/topics/t", routeUI},
		{http.MethodGet, "/admin", routeUI},
		{http.MethodGet, "/admin/ping", routePing},
		{http.MethodGet, "/admin/metrics", routeMetrics},
		{http.MethodPut, "/admin/config/log_level", routeConfig},
		{http.MethodGet, "/admin/render", routeGraphite},
		{http.MethodGet, "/metrics", routeOther},
		{http.MethodGet, "/administrator/api", routeOther},
		{http.MethodPost, "/admin/topics", routeOther},
	} {
		r := httptest.NewRequest(tc.method, tc.path, nil)
		require.Equal(t, routeClasses[tc.want], routeClasses[routeClassOf("/admin", r)], "%s %s", tc.method, tc.path)
	}
	require.Equal(t, routeAPI, routeClassOf("/", httptest.NewRequest(http.MethodGet, "/api/topics", nil)))
}

// Counting is on every request's path: it must not allocate.
func TestCountRequestDoesNotAllocate(t *testing.T) {
	m := newAdminMetrics()
	r := httptest.NewRequest(http.MethodGet, "/admin/api/topics/t", nil)
	allocs := testing.AllocsPerRun(100, func() { m.countRequest("/admin", r, http.StatusOK) })
	require.Zero(t, allocs)
	require.EqualValues(t, 101, m.requests[routeAPI][1].Load(), "AllocsPerRun runs once more to warm up")
	m.countRequest("/admin", r, 999)
	require.EqualValues(t, 101, m.requests[routeAPI][1].Load(), "an impossible status is not counted")
}

// BenchmarkCountRequest is what /metrics adds to every request; compare
// with BenchmarkServePing, a whole (in-process) request.
func BenchmarkCountRequest(b *testing.B) {
	m := newAdminMetrics()
	r := httptest.NewRequest(http.MethodGet, "/api/topics/t", nil)
	b.ReportAllocs()
	for range b.N {
		m.countRequest("/", r, http.StatusOK)
	}
}

func BenchmarkServePing(b *testing.B) {
	opts := NewOptions()
	opts.HTTPAddress = "127.0.0.1:0"
	opts.NSQDHTTPAddresses = []string{"127.0.0.1:4151"}
	opts.Logger = io.Discard
	n, err := New(opts)
	require.NoError(b, err)
	defer n.Exit()
	h := n.httpServer.Handler
	r := httptest.NewRequest(http.MethodGet, "/ping", nil)
	b.ReportAllocs()
	for range b.N {
		h.ServeHTTP(httptest.NewRecorder(), r)
	}
}
