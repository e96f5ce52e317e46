package nsqadmin

import (
	"net/http"
	"sync"
	"sync/atomic"

	"github.com/nsqgo/nsq/internal/logging"
	"github.com/nsqgo/nsq/internal/metricsutil"
	"github.com/nsqgo/nsq/internal/promexpo"
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
	adminPollsDesc         = promexpo.NewDesc(promexpo.Counter, "nsq_admin_history_polls_total", "History polls taken (every --history-interval), whether or not every node answered.")
	adminPollFailuresDesc  = promexpo.NewDesc(promexpo.Counter, "nsq_admin_history_poll_failures_total", "History polls in which a node did not answer, by the address nsqadmin called it at (a lookupd or configured nsqd while finding nodes, an nsqd's broadcast_address:http_port while reading /stats).", "node")
	adminSeriesDesc        = promexpo.NewDesc(promexpo.Gauge, "nsq_admin_history_series", "Topics and channels with a history ring.")
	adminMaxSeriesDesc     = promexpo.NewDesc(promexpo.Gauge, "nsq_admin_history_max_series", "The --history-max-series cap on nsq_admin_history_series.")
	adminRefusedDesc       = promexpo.NewDesc(promexpo.Gauge, "nsq_admin_history_series_refused", "Topics and channels the last poll found but could not keep history for, the cap being reached.")
	adminPollDurationDesc  = promexpo.NewDesc(promexpo.Gauge, "nsq_admin_history_last_poll_duration_seconds", "How long the last history poll took.")
	adminNotifyPendingDesc = promexpo.NewDesc(promexpo.Gauge, "nsq_admin_notifications_pending", "Admin-action notifications queued and not yet sent to --notification-http-endpoint.")
	adminNotifyQueuedDesc  = promexpo.NewDesc(promexpo.Counter, "nsq_admin_notifications_queued_total", "Admin-action notifications queued for --notification-http-endpoint.")
	adminNotifySentDesc    = promexpo.NewDesc(promexpo.Counter, "nsq_admin_notifications_sent_total", "Notifications the endpoint accepted (2xx).")
	adminNotifyFailedDesc  = promexpo.NewDesc(promexpo.Counter, "nsq_admin_notifications_failed_total", "Notifications the endpoint refused or did not answer.")
	adminNotifyDroppedDesc = promexpo.NewDesc(promexpo.Counter, "nsq_admin_notifications_dropped_total", "Notifications dropped because the queue was full.")
	adminActionsDesc       = promexpo.NewDesc(promexpo.Counter, "nsq_admin_actions_total", "Admin actions requested, by action and outcome (ok, partial: some node failed, failed: no node answered, denied, invalid, error).", "action", "outcome")
	adminAuthCachedDesc    = promexpo.NewDesc(promexpo.Gauge, "nsq_admin_auth_cached_answers", "Auth server answers cached (at most 1024).")
	adminRequestsDesc      = promexpo.NewDesc(promexpo.Counter, "nsq_admin_http_requests_total", "HTTP requests answered, by route class and status class.", "route", "code")
)

// metricsHandler is GET {base-path}/metrics.
func (n *NSQAdmin) metricsHandler() http.Handler {
	return metricsutil.Handler(func(format string, args ...any) { n.logf(logging.Error, format, args...) }, adminCollector{n})
}

type adminCollector struct{ n *NSQAdmin }

func (c adminCollector) Collect(s *promexpo.Scrape) error {
	n, m := c.n, c.n.metrics
	s.Value(adminPollsDesc, float64(m.polls.Load()))
	for node, count := range m.pollFailures() {
		s.Value(adminPollFailuresDesc, float64(count), node)
	}
	s.Value(adminSeriesDesc, float64(n.history.size()))
	s.Value(adminMaxSeriesDesc, float64(n.history.maxSeries))
	s.Value(adminRefusedDesc, float64(m.lastSeriesRefused.Load()))
	s.Value(adminPollDurationDesc, float64(m.lastPollNanos.Load())/1e9)

	notes := n.notifications
	s.Value(adminNotifyPendingDesc, float64(len(notes.queue)))
	s.Value(adminNotifyQueuedDesc, float64(notes.queued.Load()))
	s.Value(adminNotifySentDesc, float64(notes.sent.Load()))
	s.Value(adminNotifyFailedDesc, float64(notes.failed.Load()))
	s.Value(adminNotifyDroppedDesc, float64(notes.dropped.Load()))

	for i, action := range actionNames {
		for j, outcome := range actionOutcomes {
			if v := m.actions[i][j].Load(); v > 0 {
				s.Value(adminActionsDesc, float64(v), action, outcome)
			}
		}
	}
	s.Value(adminAuthCachedDesc, float64(n.auth.cached()))
	for i, route := range routeClasses {
		for j, code := range statusClasses {
			if v := m.requests[i][j].Load(); v > 0 {
				s.Value(adminRequestsDesc, float64(v), route, code)
			}
		}
	}
	return nil
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
