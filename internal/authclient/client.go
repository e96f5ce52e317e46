package authclient

import (
	"bytes"
	"context"
	"crypto/tls"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
)

const (
	// MethodGet and MethodPost are --auth-http-request-method's values.
	MethodGet  = "get"
	MethodPost = "post"

	// DefaultMaxReplySize bounds what is read from an auth server, so that
	// one answering garbage without end cannot exhaust memory.
	DefaultMaxReplySize = 16 << 20
)

// Config says which auth servers to ask and how.
type Config struct {
	// Addresses are --auth-http-address values: host:port, or a URL.
	Addresses []string
	// Post asks by POST with a JSON body (--auth-http-request-method=post).
	Post           bool
	ConnectTimeout time.Duration
	RequestTimeout time.Duration
	// TLS is used for https:// auth servers (nil: the system roots).
	TLS *tls.Config
	// MaxReplySize bounds a reply (0: DefaultMaxReplySize).
	MaxReplySize int
	// Rules are the answer's validation rules (state.go).
	Rules Rules
	// Now is the auth clock (nil: a monotonic reading, which is what TTLs
	// need and costs about half of time.Now; nsqd checks a TTL on every
	// PUB). Tests pass a fake clock's Now and advance it.
	Now func() time.Time
}

// Client asks the auth servers about a connection's secret. One per
// daemon: its HTTP client keeps connections to the auth servers alive
// across queries (upstream dials anew for every query).
type Client struct {
	endpoints    []string
	post         bool
	maxReplySize int
	rules        Rules
	http         *http.Client

	// ctx ends in-flight queries when the daemon exits, so that Close
	// does not wait out a slow auth server's request timeout.
	ctx    context.Context
	cancel context.CancelFunc

	// clock is Config.Now; when nil, epoch anchors the monotonic reading.
	clock func() time.Time
	epoch time.Time
}

// Query is what a query tells the auth server about a connection.
type Query struct {
	RemoteIP   string
	TLS        bool
	CommonName string
	Secret     string
}

// New returns nil when no auth server is configured, which is how a
// daemon knows auth is off.
func New(cfg Config) *Client {
	if len(cfg.Addresses) == 0 {
		return nil
	}
	endpoints := make([]string, len(cfg.Addresses))
	for i, addr := range cfg.Addresses {
		endpoints[i] = Endpoint(addr)
	}
	transport := &http.Transport{
		DialContext: (&net.Dialer{
			Timeout:   cfg.ConnectTimeout,
			KeepAlive: 30 * time.Second,
		}).DialContext,
		ResponseHeaderTimeout: cfg.RequestTimeout,
		TLSHandshakeTimeout:   10 * time.Second,
		TLSClientConfig:       cfg.TLS,
		MaxIdleConns:          100,
		MaxIdleConnsPerHost:   16,
		IdleConnTimeout:       90 * time.Second,
	}
	maxReply := cfg.MaxReplySize
	if maxReply <= 0 {
		maxReply = DefaultMaxReplySize
	}
	ctx, cancel := context.WithCancel(context.Background())
	return &Client{
		endpoints:    endpoints,
		post:         cfg.Post,
		maxReplySize: maxReply,
		rules:        cfg.Rules,
		http:         &http.Client{Transport: transport, Timeout: cfg.RequestTimeout},
		ctx:          ctx,
		cancel:       cancel,
		clock:        cfg.Now,
		epoch:        time.Now(),
	}
}

// Endpoint turns a configured address into the URL queried: host:port
// means http://host:port/auth; anything with "://" is already the URL.
func Endpoint(addr string) string {
	if strings.Contains(addr, "://") {
		return addr
	}
	return "http://" + addr + "/auth"
}

// Close aborts queries in flight and drops idle connections. Nil-safe, so
// a daemon calls it whether or not auth is configured.
func (a *Client) Close() {
	if a == nil {
		return
	}
	a.cancel()
	a.http.CloseIdleConnections()
}

// Now is the auth clock: Config.Now, or a monotonic reading only
// comparable with its own readings, which is all TTLs need.
func (a *Client) Now() time.Time {
	if a.clock != nil {
		return a.clock()
	}
	return a.epoch.Add(time.Since(a.epoch))
}

// Query asks the auth servers, starting at a random one and trying each
// until one gives a valid answer, as upstream. ctx bounds the query, as
// does Close. The error names every server that failed and never the
// secret; it is for the log only, never for the client.
func (a *Client) Query(ctx context.Context, q Query) (*State, error) {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	stop := context.AfterFunc(a.ctx, cancel)
	defer stop()
	start := rand.IntN(len(a.endpoints))
	var failures []string
	for i := range a.endpoints {
		endpoint := a.endpoints[(start+i)%len(a.endpoints)]
		state, err := a.queryOne(ctx, endpoint, q)
		if err == nil {
			return state, nil
		}
		failures = append(failures, fmt.Sprintf("failed to auth against %s - %s", endpoint, err))
		if ctx.Err() != nil {
			break // exiting: the others would fail the same way
		}
	}
	return nil, errors.New(strings.Join(failures, "; "))
}

// queryOne is one exchange with one auth server: GET with the fields in the
// query string, or (--auth-http-request-method=post, upstream after 1.3)
// POST with them as a JSON object of string arrays, upstream's encoding of
// url.Values.
func (a *Client) queryOne(ctx context.Context, endpoint string, q Query) (*State, error) {
	values := url.Values{}
	values.Set("remote_ip", q.RemoteIP)
	values.Set("tls", strconv.FormatBool(q.TLS))
	values.Set("secret", q.Secret)
	values.Set("common_name", q.CommonName)

	var req *http.Request
	var err error
	if a.post {
		body, merr := json.Marshal(values)
		if merr != nil {
			return nil, fmt.Errorf("encoding request: %w", merr)
		}
		req, err = http.NewRequestWithContext(ctx, http.MethodPost, endpoint, bytes.NewReader(body))
		if err == nil {
			req.Header.Set("Content-Type", "application/json")
		}
	} else {
		// A configured URL may carry its own query; keep it.
		sep := "?"
		if strings.Contains(endpoint, "?") {
			sep = "&"
		}
		req, err = http.NewRequestWithContext(ctx, http.MethodGet, endpoint+sep+values.Encode(), nil)
	}
	if err != nil {
		return nil, fmt.Errorf("building request: %w", err)
	}
	req.Header.Set("Accept", "application/vnd.nsq; version=1.0")

	resp, err := a.http.Do(req)
	if err != nil {
		// url.Error quotes the URL, and with GET the URL holds the secret.
		var urlErr *url.Error
		if errors.As(err, &urlErr) {
			err = urlErr.Err
		}
		return nil, fmt.Errorf("request failed: %w", err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, int64(a.maxReplySize)+1))
	if err != nil {
		return nil, fmt.Errorf("reading reply: %w", err)
	}
	if len(body) > a.maxReplySize {
		return nil, fmt.Errorf("reply larger than %d bytes", a.maxReplySize)
	}
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("got response %s %q", resp.Status, truncateForLog(body, 256))
	}
	return Parse(body, a.Now(), a.rules)
}

// truncateForLog shortens what is quoted into a log line.
func truncateForLog(b []byte, n int) []byte {
	if len(b) > n {
		return b[:n]
	}
	return b
}
