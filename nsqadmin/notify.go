package nsqadmin

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"strings"
	"sync/atomic"

	"github.com/nsqgo/nsq/internal/logging"
)

// notificationQueue bounds the actions waiting to be POSTed; when the
// endpoint is slower than the operators, later ones are dropped (and
// logged) rather than held without limit.
const notificationQueue = 256

// AdminAction is what --notification-http-endpoint receives for each
// action, with upstream's field names.
type AdminAction struct {
	Action    string `json:"action"`
	Topic     string `json:"topic"`
	Channel   string `json:"channel,omitempty"`
	Node      string `json:"node,omitempty"`
	Timestamp int64  `json:"timestamp"`
	User      string `json:"user,omitempty"`
	RemoteIP  string `json:"remote_ip"`
	UserAgent string `json:"user_agent"`
	URL       string `json:"url"` // the request that caused the action
	Via       string `json:"via"` // this nsqadmin's hostname
}

// notifier POSTs queued actions, one at a time, to the endpoint.
type notifier struct {
	endpoint string
	client   *http.Client
	queue    chan *AdminAction
	logf     func(logging.Level, string, ...any)
	via      string

	// For /metrics (metrics.go).
	queued, sent, failed, dropped atomic.Uint64
}

func newNotifier(opts *Options, logf func(logging.Level, string, ...any)) *notifier {
	via, _ := os.Hostname()
	transport := &http.Transport{
		DialContext:           (&net.Dialer{Timeout: opts.HTTPClientConnectTimeout}).DialContext,
		ResponseHeaderTimeout: opts.HTTPClientRequestTimeout,
	}
	return &notifier{
		endpoint: opts.NotificationHTTPEndpoint,
		client:   &http.Client{Transport: transport, Timeout: opts.HTTPClientRequestTimeout},
		queue:    make(chan *AdminAction, notificationQueue),
		logf:     logf,
		via:      via,
	}
}

// run sends until ctx ends.
func (s *notifier) run(ctx context.Context) {
	defer s.client.CloseIdleConnections()
	for {
		select {
		case <-ctx.Done():
			return
		case a := <-s.queue:
			s.send(ctx, a)
		}
	}
}

func (s *notifier) send(ctx context.Context, a *AdminAction) {
	body, err := json.Marshal(a)
	if err != nil {
		s.logf(logging.Error, "failed to serialize admin action - %s", err)
		return
	}
	s.logf(logging.Info, "POSTing notification to %s", s.endpoint)
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, s.endpoint, bytes.NewReader(body))
	if err != nil {
		s.failed.Add(1)
		s.logf(logging.Error, "failed to POST notification - %s", err)
		return
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := s.client.Do(req)
	if err != nil {
		s.failed.Add(1)
		s.logf(logging.Error, "failed to POST notification - %s", err)
		return
	}
	io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	resp.Body.Close()
	if resp.StatusCode/100 != 2 {
		s.failed.Add(1)
		s.logf(logging.Warn, "notification endpoint %s answered %s", s.endpoint, resp.Status)
		return
	}
	s.sent.Add(1)
}

// notify queues an action for the endpoint, if one is configured. The
// user is upstream's (HTTP basic auth), else the one the ACL header or the
// auth server names.
func (n *NSQAdmin) notify(r *http.Request, action, topic, channel, node string) {
	if n.notifications.endpoint == "" {
		return
	}
	u := url.URL{Scheme: "http", Host: r.Host, Path: r.URL.Path, RawQuery: r.URL.RawQuery}
	if r.TLS != nil || r.Header.Get("X-Scheme") == "https" {
		u.Scheme = "https"
	}
	user := basicAuthUser(r)
	if user == "" {
		user = n.accessOf(r).User
	}
	a := &AdminAction{
		Action:    action,
		Topic:     topic,
		Channel:   channel,
		Node:      node,
		Timestamp: n.now().Unix(),
		User:      user,
		RemoteIP:  r.RemoteAddr,
		UserAgent: r.UserAgent(),
		URL:       u.String(),
		Via:       n.notifications.via,
	}
	select {
	case n.notifications.queue <- a:
		n.notifications.queued.Add(1)
	default:
		n.notifications.dropped.Add(1)
		n.logf(logging.Error, "dropped notification of %s %s/%s: %d already waiting", action, topic, channel, notificationQueue)
	}
}

func basicAuthUser(r *http.Request) string {
	scheme, value, ok := strings.Cut(r.Header.Get("Authorization"), " ")
	if !ok || scheme != "Basic" {
		return ""
	}
	decoded, err := base64.StdEncoding.DecodeString(value)
	if err != nil {
		return ""
	}
	user, _, ok := strings.Cut(string(decoded), ":")
	if !ok {
		return ""
	}
	return user
}
