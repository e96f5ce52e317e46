package main

import (
	"bytes"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/nsqgo/nsq/internal/version"
)

// maxDrain is how much of a response body is read so that its connection
// can be reused; a longer body costs a new connection instead of time.
const maxDrain = 1 << 20

// sender makes the HTTP request for one message to one address.
type sender struct {
	client      *http.Client
	transport   *http.Transport
	post        bool
	contentType string
	headers     []header
	userAgent   string
}

func newSender(opts *options) *sender {
	transport := &http.Transport{
		DialContext:           (&net.Dialer{Timeout: opts.connectTimeout, KeepAlive: 30 * time.Second}).DialContext,
		ResponseHeaderTimeout: opts.requestTimeout,
		// Every handler may be talking to the same endpoint at once.
		MaxIdleConnsPerHost: max(opts.handlers, 2),
		IdleConnTimeout:     90 * time.Second,
	}
	return &sender{
		client:      &http.Client{Transport: transport, Timeout: opts.requestTimeout},
		transport:   transport,
		post:        opts.post,
		contentType: opts.contentType,
		headers:     opts.headers,
		userAgent:   fmt.Sprintf("%s v%s", toolName, version.Version),
	}
}

// close releases idle connections.
func (s *sender) close() { s.transport.CloseIdleConnections() }

// send delivers body to addr: success is any 2xx for a POST and exactly
// 200 for a GET, as upstream.
func (s *sender) send(addr string, body []byte) error {
	req, err := s.request(addr, body)
	if err != nil {
		return err
	}
	resp, err := s.client.Do(req)
	if err != nil {
		return err
	}
	io.Copy(io.Discard, io.LimitReader(resp.Body, maxDrain))
	resp.Body.Close()
	if s.post && resp.StatusCode/100 == 2 || !s.post && resp.StatusCode == http.StatusOK {
		return nil
	}
	return fmt.Errorf("got status code %d", resp.StatusCode)
}

// request builds the request. A GET template's single %s is replaced by
// the query-escaped body; unlike upstream's Sprintf, any other % in the
// template (an escaped character such as %20) is left as it is.
func (s *sender) request(addr string, body []byte) (*http.Request, error) {
	var req *http.Request
	var err error
	if s.post {
		req, err = http.NewRequest(http.MethodPost, addr, bytes.NewReader(body))
	} else {
		endpoint := strings.Replace(addr, "%s", url.QueryEscape(string(body)), 1)
		req, err = http.NewRequest(http.MethodGet, endpoint, nil)
	}
	if err != nil {
		return nil, err
	}
	req.Header.Set("User-Agent", s.userAgent)
	if s.post {
		req.Header.Set("Content-Type", s.contentType)
	}
	// Custom headers come last, so they may override the two above.
	for _, h := range s.headers {
		req.Header.Set(h.name, h.value)
	}
	return req, nil
}
