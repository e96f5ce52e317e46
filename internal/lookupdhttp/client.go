package lookupdhttp

import (
	"context"
	"crypto/tls"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/nsqgo/nsq/internal/httpapi"
)

// DefaultMaxResponseSize bounds an answer when Options leaves it zero.
const DefaultMaxResponseSize = 16 << 20

// Options configures a Client. Zero values take the defaults noted.
type Options struct {
	ConnectTimeout time.Duration // dial timeout; default 2s
	RequestTimeout time.Duration // whole request, retry included; default 5s
	// MaxResponseSize bounds what is read of one answer; a longer one is
	// an error. Default DefaultMaxResponseSize.
	MaxResponseSize int64
	// TLSConfig is used for https:// addresses and for the HTTPS retry a
	// 403 asks for; nil uses Go's defaults.
	TLSConfig *tls.Config
	// Trace, when set, is called before every request with its URL
	// (nsqadmin logs each query at debug level).
	Trace func(endpoint string)
}

func (o Options) withDefaults() Options {
	if o.ConnectTimeout <= 0 {
		o.ConnectTimeout = 2 * time.Second
	}
	if o.RequestTimeout <= 0 {
		o.RequestTimeout = 5 * time.Second
	}
	if o.MaxResponseSize <= 0 {
		o.MaxResponseSize = DefaultMaxResponseSize
	}
	return o
}

// Client queries nsqlookupd HTTP APIs with its own connection pool and
// timeouts. Addresses are "host:port" or a URL ("http://host:port",
// "https://host:port"). It is safe for concurrent use.
type Client struct {
	transport *http.Transport
	client    *http.Client
	maxBody   int64
	trace     func(endpoint string)
}

// New returns a Client; Close releases its idle connections.
func New(opts Options) *Client {
	opts = opts.withDefaults()
	transport := &http.Transport{
		DialContext:           (&net.Dialer{Timeout: opts.ConnectTimeout, KeepAlive: 30 * time.Second}).DialContext,
		ResponseHeaderTimeout: opts.RequestTimeout,
		TLSClientConfig:       opts.TLSConfig,
		TLSHandshakeTimeout:   10 * time.Second, // as nsqadmin's node client; RequestTimeout bounds it too
		MaxIdleConnsPerHost:   2,
		IdleConnTimeout:       90 * time.Second,
	}
	return &Client{
		transport: transport,
		client:    &http.Client{Transport: transport, Timeout: opts.RequestTimeout},
		maxBody:   opts.MaxResponseSize,
		trace:     opts.Trace,
	}
}

// Close releases idle connections.
func (c *Client) Close() { c.transport.CloseIdleConnections() }

// StatusError is a non-200 answer; Message is the {"message":...} text
// when the body has one, else the start of the body.
type StatusError struct {
	Code    int
	Message string
}

func (e *StatusError) Error() string { return fmt.Sprintf("got response %d %s", e.Code, e.Message) }

// get asks addr for path?query and decodes the answer into into. The http
// package's errors (*url.Error) already name the method and URL, so they
// are returned as they are; every other error is prefixed with both.
func (c *Client) get(ctx context.Context, addr, path string, query url.Values, into any) error {
	endpoint := endpointURL(addr, path, query)
	for attempt := 0; ; attempt++ {
		status, v1, body, err := c.once(ctx, endpoint)
		if err != nil {
			return err
		}
		if status == http.StatusForbidden && attempt == 0 {
			// A node with --tls-required answers plain HTTP with 403 and
			// the port to use instead.
			if upgraded, ok := httpsRetryURL(endpoint, body); ok {
				endpoint = upgraded
				continue
			}
		}
		if status != http.StatusOK {
			return fmt.Errorf("GET %s: %w", endpoint, statusError(status, body))
		}
		if err := decodeV1(body, v1, into); err != nil {
			return fmt.Errorf("GET %s: %w", endpoint, err)
		}
		return nil
	}
}

// once is one GET: the status, whether the answer declares the V1 format,
// and the body read up to the bound.
func (c *Client) once(ctx context.Context, endpoint string) (status int, v1 bool, body []byte, err error) {
	if c.trace != nil {
		c.trace(endpoint)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, endpoint, nil)
	if err != nil {
		return 0, false, nil, err
	}
	req.Header.Set("Accept", "application/vnd.nsq; version=1.0")
	resp, err := c.client.Do(req)
	if err != nil {
		return 0, false, nil, err
	}
	defer resp.Body.Close()
	body, err = io.ReadAll(io.LimitReader(resp.Body, c.maxBody+1))
	if err != nil {
		return 0, false, nil, fmt.Errorf("GET %s: reading response: %w", endpoint, err)
	}
	if int64(len(body)) > c.maxBody {
		return 0, false, nil, fmt.Errorf("GET %s: response larger than %d bytes", endpoint, c.maxBody)
	}
	v1 = resp.Header.Get(httpapi.ContentTypeHeader) == httpapi.ContentTypeValue
	return resp.StatusCode, v1, body, nil
}

// endpointURL accepts a bare host:port (http assumed) or a full URL.
func endpointURL(addr, path string, query url.Values) string {
	base := addr
	if !strings.Contains(base, "://") {
		base = "http://" + base
	}
	u := strings.TrimSuffix(base, "/") + path
	if len(query) > 0 {
		u += "?" + query.Encode()
	}
	return u
}

// httpsRetryURL is endpoint over HTTPS on the https_port a 403 answer
// names; false when endpoint is not plain HTTP or the body names no port.
func httpsRetryURL(endpoint string, body []byte) (string, bool) {
	var answer struct {
		HTTPSPort int `json:"https_port"`
	}
	if json.Unmarshal(body, &answer) != nil || answer.HTTPSPort <= 0 || answer.HTTPSPort > 65535 {
		return "", false
	}
	u, err := url.Parse(endpoint)
	if err != nil || u.Scheme != "http" {
		return "", false
	}
	u.Scheme = "https"
	u.Host = net.JoinHostPort(u.Hostname(), strconv.Itoa(answer.HTTPSPort))
	return u.String(), true
}
