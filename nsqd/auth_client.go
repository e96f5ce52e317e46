package nsqd

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
	"sync/atomic"
	"time"
)

const (
	authMethodGet  = "get"
	authMethodPost = "post"

	// maxAuthReplySize bounds what is read from an auth server, so that one
	// answering garbage without end cannot exhaust memory.
	maxAuthReplySize = 16 << 20
)

// validateAuthOptions checks --auth-http-request-method, with upstream's
// message, whether or not auth servers are configured (as upstream).
func validateAuthOptions(opts *Options) error {
	switch opts.AuthHTTPRequestMethod {
	case authMethodGet, authMethodPost:
		return nil
	}
	return errors.New("--auth-http-request-method must be post or get")
}

// authClient asks the --auth-http-address servers about a connection's
// secret. One per daemon: its HTTP client keeps connections to the auth
// servers alive across queries (upstream dials anew for every query).
type authClient struct {
	endpoints []string
	post      bool
	http      *http.Client

	// ctx ends in-flight queries when the daemon exits, so that Exit does
	// not wait out a slow auth server's request timeout.
	ctx    context.Context
	cancel context.CancelFunc

	// epoch anchors the auth clock (now): reading the monotonic clock
	// alone costs about half of time.Now, and every PUB reads it. skew
	// moves the clock forward; only tests set it, to expire a TTL without
	// waiting for it.
	epoch time.Time
	skew  atomic.Int64
}

// authQuery is what a query tells the auth server about a connection.
type authQuery struct {
	remoteIP   string
	tls        bool
	commonName string
	secret     string
}

// newAuthClient returns nil when no auth server is configured, which is how
// the daemon knows auth is off. tlsConfig is used for https:// auth servers
// (nil: the system roots).
func newAuthClient(opts *Options, tlsConfig *tls.Config) *authClient {
	if len(opts.AuthHTTPAddresses) == 0 {
		return nil
	}
	endpoints := make([]string, len(opts.AuthHTTPAddresses))
	for i, addr := range opts.AuthHTTPAddresses {
		endpoints[i] = authEndpoint(addr)
	}
	transport := &http.Transport{
		DialContext: (&net.Dialer{
			Timeout:   opts.HTTPClientConnectTimeout,
			KeepAlive: 30 * time.Second,
		}).DialContext,
		ResponseHeaderTimeout: opts.HTTPClientRequestTimeout,
		TLSHandshakeTimeout:   10 * time.Second,
		TLSClientConfig:       tlsConfig,
		MaxIdleConns:          100,
		MaxIdleConnsPerHost:   16,
		IdleConnTimeout:       90 * time.Second,
	}
	ctx, cancel := context.WithCancel(context.Background())
	return &authClient{
		endpoints: endpoints,
		post:      opts.AuthHTTPRequestMethod == authMethodPost,
		http:      &http.Client{Transport: transport, Timeout: opts.HTTPClientRequestTimeout},
		ctx:       ctx,
		cancel:    cancel,
		epoch:     time.Now(),
	}
}

// authEndpoint turns a configured address into the URL queried: host:port
// means http://host:port/auth; anything with "://" is already the URL.
func authEndpoint(addr string) string {
	if strings.Contains(addr, "://") {
		return addr
	}
	return "http://" + addr + "/auth"
}

// close aborts queries in flight and drops idle connections. Nil-safe, so
// the daemon calls it whether or not auth is configured.
func (a *authClient) close() {
	if a == nil {
		return
	}
	a.cancel()
	a.http.CloseIdleConnections()
}

// now is the auth clock: monotonic, and only comparable with its own
// readings, which is all TTLs need.
func (a *authClient) now() time.Time {
	return a.epoch.Add(time.Since(a.epoch) + time.Duration(a.skew.Load()))
}

// query asks the auth servers, starting at a random one and trying each
// until one gives a valid answer, as upstream. The error names every
// server that failed; it is for the log only, never for the client.
func (a *authClient) query(q authQuery) (*authState, error) {
	start := rand.IntN(len(a.endpoints))
	var failures []string
	for i := range a.endpoints {
		endpoint := a.endpoints[(start+i)%len(a.endpoints)]
		state, err := a.queryOne(endpoint, q)
		if err == nil {
			return state, nil
		}
		failures = append(failures, fmt.Sprintf("failed to auth against %s - %s", endpoint, err))
		if a.ctx.Err() != nil {
			break // exiting: the others would fail the same way
		}
	}
	return nil, errors.New(strings.Join(failures, "; "))
}

// queryOne is one exchange with one auth server: GET with the fields in the
// query string, or (--auth-http-request-method=post, upstream after 1.3)
// POST with them as a JSON object of string arrays, upstream's encoding of
// url.Values.
func (a *authClient) queryOne(endpoint string, q authQuery) (*authState, error) {
	values := url.Values{}
	values.Set("remote_ip", q.remoteIP)
	values.Set("tls", strconv.FormatBool(q.tls))
	values.Set("secret", q.secret)
	values.Set("common_name", q.commonName)

	var req *http.Request
	var err error
	if a.post {
		body, merr := json.Marshal(values)
		if merr != nil {
			return nil, fmt.Errorf("encoding request: %w", merr)
		}
		req, err = http.NewRequestWithContext(a.ctx, http.MethodPost, endpoint, bytes.NewReader(body))
		if err == nil {
			req.Header.Set("Content-Type", "application/json")
		}
	} else {
		// A configured URL may carry its own query; keep it.
		sep := "?"
		if strings.Contains(endpoint, "?") {
			sep = "&"
		}
		req, err = http.NewRequestWithContext(a.ctx, http.MethodGet, endpoint+sep+values.Encode(), nil)
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
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxAuthReplySize+1))
	if err != nil {
		return nil, fmt.Errorf("reading reply: %w", err)
	}
	if len(body) > maxAuthReplySize {
		return nil, fmt.Errorf("reply larger than %d bytes", maxAuthReplySize)
	}
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("got response %s %q", resp.Status, truncateForLog(body, 256))
	}
	return parseAuthAnswer(body, a.now())
}

// truncateForLog shortens what is quoted into a log line.
func truncateForLog(b []byte, n int) []byte {
	if len(b) > n {
		return b[:n]
	}
	return b
}
