package nsqadmin

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
)

// maxNodeReply bounds what is read from one nsqd or nsqlookupd answer: a
// /stats with clients of a big node is a few MiB, and an unbounded read
// would let a broken node exhaust nsqadmin's memory.
const maxNodeReply = 64 << 20

// nodeClient speaks nsqd's V1 HTTP API (reads and actions), with the
// --http-client-* timeouts and TLS settings. Like upstream's client, a 403
// that names an https_port (nsqd with --tls-required) is retried once over
// HTTPS. Lookupds are asked through internal/lookupdhttp, built with the
// same settings (see New): its answers need the V1 and pre-1.0 decoding
// and the fan-out the other lookupd callers share.
type nodeClient struct {
	transport *http.Transport
	client    *http.Client
}

func newNodeClient(tlsConfig *tls.Config, connectTimeout, requestTimeout time.Duration) *nodeClient {
	transport := &http.Transport{
		DialContext:           (&net.Dialer{Timeout: connectTimeout, KeepAlive: 30 * time.Second}).DialContext,
		ResponseHeaderTimeout: requestTimeout,
		TLSClientConfig:       tlsConfig,
		TLSHandshakeTimeout:   10 * time.Second,
		MaxIdleConns:          100,
		MaxIdleConnsPerHost:   4,
		IdleConnTimeout:       90 * time.Second,
	}
	return &nodeClient{transport: transport, client: &http.Client{Transport: transport, Timeout: requestTimeout}}
}

func (c *nodeClient) close() { c.transport.CloseIdleConnections() }

// get fetches endpoint and decodes its JSON into into.
func (c *nodeClient) get(ctx context.Context, endpoint string, into any) error {
	body, err := c.do(ctx, http.MethodGet, endpoint)
	if err != nil {
		return err
	}
	if err := json.Unmarshal(body, into); err != nil {
		return fmt.Errorf("GET %s: decoding reply - %w", endpoint, err)
	}
	return nil
}

// post sends an empty POST, as upstream's administrative calls are.
func (c *nodeClient) post(ctx context.Context, endpoint string) error {
	_, err := c.do(ctx, http.MethodPost, endpoint)
	return err
}

func (c *nodeClient) do(ctx context.Context, method, endpoint string) ([]byte, error) {
	for attempt := 0; ; attempt++ {
		status, body, err := c.once(ctx, method, endpoint)
		if err != nil {
			return nil, fmt.Errorf("%s %s: %w", method, endpoint, err)
		}
		if status == http.StatusOK {
			return body, nil
		}
		if status == http.StatusForbidden && attempt == 0 && strings.HasPrefix(endpoint, "http://") {
			if upgraded, ok := httpsEndpoint(endpoint, body); ok {
				endpoint = upgraded
				continue
			}
		}
		return nil, fmt.Errorf("%s %s: got response %d %q", method, endpoint, status, truncate(body, 256))
	}
}

func (c *nodeClient) once(ctx context.Context, method, endpoint string) (int, []byte, error) {
	req, err := http.NewRequestWithContext(ctx, method, endpoint, nil)
	if err != nil {
		return 0, nil, err
	}
	req.Header.Set("Accept", "application/vnd.nsq; version=1.0")
	resp, err := c.client.Do(req)
	if err != nil {
		// url.Error repeats method and URL, which the caller adds.
		if ue, ok := err.(*url.Error); ok {
			err = ue.Err
		}
		return 0, nil, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxNodeReply+1))
	if err != nil {
		return 0, nil, fmt.Errorf("reading reply - %w", err)
	}
	if len(body) > maxNodeReply {
		return 0, nil, fmt.Errorf("reply larger than %d bytes", maxNodeReply)
	}
	return resp.StatusCode, body, nil
}

// httpsEndpoint is endpoint on the https_port a 403 answer names.
func httpsEndpoint(endpoint string, body []byte) (string, bool) {
	var answer struct {
		HTTPSPort int `json:"https_port"`
	}
	if json.Unmarshal(body, &answer) != nil || answer.HTTPSPort <= 0 {
		return "", false
	}
	u, err := url.Parse(endpoint)
	if err != nil {
		return "", false
	}
	u.Scheme = "https"
	u.Host = net.JoinHostPort(u.Hostname(), strconv.Itoa(answer.HTTPSPort))
	return u.String(), true
}

func truncate(b []byte, n int) []byte {
	if len(b) > n {
		return b[:n]
	}
	return b
}

// nodeURL is http://addr/path?query for a configured or discovered
// host:port; an address that is already a URL keeps its scheme.
func nodeURL(addr, path string, query url.Values) string {
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
