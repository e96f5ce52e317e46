package nsqadmin

import (
	"net/http"
	"sync"
	"sync/atomic"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/nsqgo/nsq/internal/logging"
	"github.com/nsqgo/nsq/internal/metricsutil"
)

// The Prometheus exposition (GET {base-path}/metrics, beside
// {base-path}/ping): nsqadmin's own figures, read at scrape time from
// counters its pieces keep anyway, plus the Go, process and build-info
// collectors every daemon serves (internal/metricsutil). Labels are bounded:
// action and outcome come from fixed lists, route and code from fixed
// classes, and node (the poll-failure counter's address) is capped at
// maxFailureNodes, after which failures count under "other".

// maxFailureNodes bounds the node label of the poll-failure counter: a
// cluster whose nodes come and go under new addresses would otherwise grow
// it for ever.
const maxFailureNodes = 256

// adminMetrics holds what nsqadmin counts for /metrics that no other part
// keeps: history polls, admin actions and HTTP requests. Notifications and
// the auth cache are read from their owners.
type adminMetrics struct {
	polls              atomic.Uint64
	lastPollNanos      atomic.Int64
	lastSeriesRefused  atomic.Int64
	pollFailuresMu     sync.Mutex
	pollFailuresByNode map[string]uint64

	actions  [len(actionNames)][len(actionOutcomes)]atomic.Uint64
	requests [len(routeClasses)][len(statusClasses)]atomic.Uint64
}

func newAdminMetrics() *adminMetrics {
	return &adminMetrics{pollFailuresByNode: map[string]uint64{}}
}

// pollFailed counts one poll in which the node at addr did not answer.
func (m *adminMetrics) pollFailed(addr string) {
	m.pollFailuresMu.Lock()
	defer m.pollFailuresMu.Unlock()
	if _, known := m.pollFailuresByNode[addr]; !known && len(m.pollFailuresByNode) >= maxFailureNodes {
		addr = "other"
	}
	m.pollFailuresByNode[addr]++
}

func (m *adminMetrics) pollFailures() map[string]uint64 {
	m.pollFailuresMu.Lock()
	defer m.pollFailuresMu.Unlock()
	out := make(map[string]uint64, len(m.pollFailuresByNode))
	for k, v := range m.pollFailuresByNode {
		out[k] = v
	}
	return out
}

// routeClasses are the HTTP request counter's route label: what kind of
// thing was asked for, never the path itself (topic names would make the
// series unbounded).
var routeClasses = [...]string{"api", "action", "ui", "ping", "metrics", "config", "graphite", "other"}

var statusClasses = [...]string{"1xx", "2xx", "3xx", "4xx", "5xx"}

const (
	routeAPI = iota
	routeAction
	routeUI
	routePing
	routeMetrics
	routeConfig
	routeGraphite
	routeOther
)

// countRequest is called once per request by logRequests (http_log.go):
// two array lookups and an atomic add.
func (m *adminMetrics) countRequest(basePath string, r *http.Request, status int) {
	class := status/100 - 1
	if class < 0 || class >= len(statusClasses) {
		return
	}
	m.requests[routeClassOf(basePath, r)][class].Add(1)
}

func routeClassOf(basePath string, r *http.Request) int {
	p := r.URL.Path
	if basePath != "/" {
		if !hasPathPrefix(p, basePath) {
			return routeOther
		}
		p = p[len(basePath):]
	}
	read := r.Method == http.MethodGet || r.Method == http.MethodHead
	switch {
	case p == "/ping":
		return routePing
	case p == "/metrics":
		return routeMetrics
	case p == "/render":
		return routeGraphite
	case hasPathPrefix(p, "/config"):
		return routeConfig
	case hasPathPrefix(p, "/api") && read:
		return routeAPI
	case hasPathPrefix(p, "/api"):
		return routeAction
	case read:
		return routeUI
	}
	return routeOther
}

func hasPathPrefix(p, prefix string) bool {
	return p == prefix || (len(p) > len(prefix) && p[:len(prefix)] == prefix && p[len(prefix)] == '/')
}

var (
	adminPollsDesc         = prometheus.NewDesc("nsq_admin_history_polls_total", "History polls taken (every --history-interval), whether or not every node answered.", nil, nil)
	adminPollFailuresDesc  = prometheus.NewDesc("nsq_admin_history_poll_failures_total", "History polls in which a node did not answer, by the address nsqadmin called it at (a lookupd or configured nsqd while finding nodes, an nsqd's broadcast_address:http_port while reading /stats).", []string{"node"}, nil)
	adminSeriesDesc        = prometheus.NewDesc("nsq_admin_history_series", "Topics and channels with a history ring.", nil, nil)
	adminMaxSeriesDesc     = prometheus.NewDesc("nsq_admin_history_max_series", "The --history-max-series cap on nsq_admin_history_series.", nil, nil)
	adminRefusedDesc       = prometheus.NewDesc("nsq_admin_history_series_refused", "Topics and channels the last poll found but could not keep history for, the cap being reached.", nil, nil)
	adminPollDurationDesc  = prometheus.NewDesc("nsq_admin_history_last_poll_duration_seconds", "How long the last history poll took.", nil, nil)
	adminNotifyPendingDesc = prometheus.NewDesc("nsq_admin_notifications_pending", "Admin-action notifications queued and not yet sent to --notification-http-endpoint.", nil, nil)
	adminNotifyQueuedDesc  = prometheus.NewDesc("nsq_admin_notifications_queued_total", "Admin-action notifications queued for --notification-http-endpoint.", nil, nil)
	adminNotifySentDesc    = prometheus.NewDesc("nsq_admin_notifications_sent_total", "Notifications the endpoint accepted (2xx).", nil, nil)
	adminNotifyFailedDesc  = prometheus.NewDesc("nsq_admin_notifications_failed_total", "Notifications the endpoint refused or did not answer.", nil, nil)
	adminNotifyDroppedDesc = prometheus.NewDesc("nsq_admin_notifications_dropped_total", "Notifications dropped because the queue was full.", nil, nil)
	adminActionsDesc       = prometheus.NewDesc("nsq_admin_actions_total", "Admin actions requested, by action and outcome (ok, partial: some node failed, failed: no node answered, denied, invalid, error).", []string{"action", "outcome"}, nil)
	adminAuthCachedDesc    = prometheus.NewDesc("nsq_admin_auth_cached_answers", "Auth server answers cached (at most 1024).", nil, nil)
	adminRequestsDesc      = prometheus.NewDesc("nsq_admin_http_requests_total", "HTTP requests answered, by route class and status class.", []string{"route", "code"}, nil)
)

// metricsHandler is GET {base-path}/metrics.
func (n *NSQAdmin) metricsHandler() http.Handler {
	return metricsutil.Handler(func(format string, args ...any) { n.logf(logging.Error, format, args...) }, adminCollector{n})
}

type adminCollector struct{ n *NSQAdmin }

func (adminCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{
		adminPollsDesc, adminPollFailuresDesc, adminSeriesDesc, adminMaxSeriesDesc, adminRefusedDesc, adminPollDurationDesc,
		adminNotifyPendingDesc, adminNotifyQueuedDesc, adminNotifySentDesc, adminNotifyFailedDesc, adminNotifyDroppedDesc,
		adminActionsDesc, adminAuthCachedDesc, adminRequestsDesc,
	} {
		ch <- d
	}
}

func (c adminCollector) Collect(ch chan<- prometheus.Metric) {
	n, m := c.n, c.n.metrics
	gauge := func(d *prometheus.Desc, v float64, labels ...string) {
		ch <- prometheus.MustNewConstMetric(d, prometheus.GaugeValue, v, labels...)
	}
	counter := func(d *prometheus.Desc, v uint64, labels ...string) {
		ch <- prometheus.MustNewConstMetric(d, prometheus.CounterValue, float64(v), labels...)
	}
	counter(adminPollsDesc, m.polls.Load())
	for node, count := range m.pollFailures() {
		counter(adminPollFailuresDesc, count, node)
	}
	gauge(adminSeriesDesc, float64(n.history.size()))
	gauge(adminMaxSeriesDesc, float64(n.history.maxSeries))
	gauge(adminRefusedDesc, float64(m.lastSeriesRefused.Load()))
	gauge(adminPollDurationDesc, float64(m.lastPollNanos.Load())/1e9)

	s := n.notifications
	gauge(adminNotifyPendingDesc, float64(len(s.queue)))
	counter(adminNotifyQueuedDesc, s.queued.Load())
	counter(adminNotifySentDesc, s.sent.Load())
	counter(adminNotifyFailedDesc, s.failed.Load())
	counter(adminNotifyDroppedDesc, s.dropped.Load())

	for i, action := range actionNames {
		for j, outcome := range actionOutcomes {
			if v := m.actions[i][j].Load(); v > 0 {
				counter(adminActionsDesc, v, action, outcome)
			}
		}
	}
	gauge(adminAuthCachedDesc, float64(n.auth.cached()))
	for i, route := range routeClasses {
		for j, code := range statusClasses {
			if v := m.requests[i][j].Load(); v > 0 {
				counter(adminRequestsDesc, v, route, code)
			}
		}
	}
}

// size is how many series have a ring.
func (h *history) size() int {
	h.mu.Lock()
	defer h.mu.Unlock()
	return len(h.series)
}

// cached is how many answers the cache holds, expired ones included until
// the next insertion sweeps them.
func (a *authChecker) cached() int {
	a.mu.Lock()
	defer a.mu.Unlock()
	return len(a.cache)
}
