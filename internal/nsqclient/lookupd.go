package nsqclient

import (
	"context"
	"encoding/json"
	"errors"
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

// maxLookupdResponse bounds a lookupd answer we are willing to read.
const maxLookupdResponse = 16 << 20

// Node is an nsqd as nsqlookupd lists it: a producer in /lookup and
// /nodes answers.
type Node struct {
	RemoteAddress    string   `json:"remote_address"`
	Hostname         string   `json:"hostname"`
	BroadcastAddress string   `json:"broadcast_address"`
	TCPPort          int      `json:"tcp_port"`
	HTTPPort         int      `json:"http_port"`
	Version          string   `json:"version"`
	Topics           []string `json:"topics,omitempty"`     // /nodes only
	Tombstones       []bool   `json:"tombstones,omitempty"` // /nodes only
}

// TCPAddress is where clients connect: broadcast_address:tcp_port.
func (p Node) TCPAddress() string {
	return net.JoinHostPort(p.BroadcastAddress, strconv.Itoa(p.TCPPort))
}

// HTTPAddress is the nsqd's HTTP API: broadcast_address:http_port.
func (p Node) HTTPAddress() string {
	return net.JoinHostPort(p.BroadcastAddress, strconv.Itoa(p.HTTPPort))
}

// LookupdClient queries nsqlookupd HTTP APIs with its own connection pool
// and timeouts. Addresses are "host:port" or a URL ("http://host:port").
type LookupdClient struct {
	transport *http.Transport
	client    *http.Client
}

// NewLookupdClient returns a client with the given connect and whole-
// request timeouts (the tools' --http-client-connect-timeout and
// --http-client-request-timeout).
func NewLookupdClient(connectTimeout, requestTimeout time.Duration) *LookupdClient {
	transport := &http.Transport{
		DialContext:           (&net.Dialer{Timeout: connectTimeout}).DialContext,
		ResponseHeaderTimeout: requestTimeout,
		MaxIdleConnsPerHost:   2,
	}
	return &LookupdClient{transport: transport, client: &http.Client{Transport: transport, Timeout: requestTimeout}}
}

// Close releases idle connections.
func (l *LookupdClient) Close() { l.transport.CloseIdleConnections() }

// Producers is GET /lookup?topic=: the nsqds that have the topic. A topic
// lookupd does not know (404 TOPIC_NOT_FOUND) has no producers.
func (l *LookupdClient) Producers(ctx context.Context, addr, topic string) ([]Node, error) {
	var answer struct {
		Producers []Node `json:"producers"`
	}
	err := l.get(ctx, addr, "/lookup", url.Values{"topic": {topic}}, &answer)
	var status *StatusError
	if errors.As(err, &status) && status.Code == http.StatusNotFound {
		return nil, nil
	}
	return answer.Producers, err
}

// Topics is GET /topics: every topic the lookupd knows.
func (l *LookupdClient) Topics(ctx context.Context, addr string) ([]string, error) {
	var answer struct {
		Topics []string `json:"topics"`
	}
	err := l.get(ctx, addr, "/topics", nil, &answer)
	return answer.Topics, err
}

// Channels is GET /channels?topic=: the topic's channels.
func (l *LookupdClient) Channels(ctx context.Context, addr, topic string) ([]string, error) {
	var answer struct {
		Channels []string `json:"channels"`
	}
	err := l.get(ctx, addr, "/channels", url.Values{"topic": {topic}}, &answer)
	return answer.Channels, err
}

// Nodes is GET /nodes: every active nsqd with its topics.
func (l *LookupdClient) Nodes(ctx context.Context, addr string) ([]Node, error) {
	var answer struct {
		Producers []Node `json:"producers"`
	}
	err := l.get(ctx, addr, "/nodes", nil, &answer)
	return answer.Producers, err
}

// StatusError is a non-200 answer; Message is the {"message":...} text
// when the body has one.
type StatusError struct {
	Code    int
	Message string
}

func (e *StatusError) Error() string { return fmt.Sprintf("got response %d %s", e.Code, e.Message) }

func (l *LookupdClient) get(ctx context.Context, addr, path string, query url.Values, into any) error {
	endpoint := lookupdURL(addr, path, query)
	// The http package's errors (*url.Error) already name the method and
	// URL: they are returned as they are, not prefixed a second time.
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, endpoint, nil)
	if err != nil {
		return err
	}
	req.Header.Set("Accept", "application/vnd.nsq; version=1.0")
	resp, err := l.client.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxLookupdResponse+1))
	if err != nil {
		return fmt.Errorf("GET %s: reading response: %w", endpoint, err)
	}
	if len(body) > maxLookupdResponse {
		return fmt.Errorf("GET %s: response larger than %d bytes", endpoint, maxLookupdResponse)
	}
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("GET %s: %w", endpoint, statusError(resp.StatusCode, body))
	}
	v1 := resp.Header.Get(httpapi.ContentTypeHeader) == httpapi.ContentTypeValue
	if err := decodeV1(body, v1, into); err != nil {
		return fmt.Errorf("GET %s: %w", endpoint, err)
	}
	return nil
}

// lookupdURL accepts a bare host:port (http assumed) or a full URL.
func lookupdURL(addr, path string, query url.Values) string {
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

func statusError(code int, body []byte) *StatusError {
	var msg struct {
		Message string `json:"message"`
	}
	if json.Unmarshal(body, &msg) != nil || msg.Message == "" {
		msg.Message = strings.TrimSpace(string(body))
		if len(msg.Message) > 200 {
			msg.Message = msg.Message[:200]
		}
	}
	return &StatusError{Code: code, Message: msg.Message}
}

// decodeV1 decodes a V1 answer. With the X-NSQ-Content-Type header the
// body is the data itself; without it (pre-1.0 lookupds) the data is
// wrapped as {"status_code":200,"status_txt":"OK","data":{...}}, which is
// what go-nsq expects then. An unwrapped body without the header is
// accepted too.
func decodeV1(body []byte, v1 bool, into any) error {
	if !v1 {
		var wrapped struct {
			StatusCode *int            `json:"status_code"`
			Data       json.RawMessage `json:"data"`
		}
		if err := json.Unmarshal(body, &wrapped); err != nil {
			return fmt.Errorf("decode response: %w", err)
		}
		if wrapped.StatusCode != nil {
			if *wrapped.StatusCode != http.StatusOK {
				return fmt.Errorf("decode response: status_code %d", *wrapped.StatusCode)
			}
			body = wrapped.Data
		}
	}
	if err := json.Unmarshal(body, into); err != nil {
		return fmt.Errorf("decode response: %w", err)
	}
	return nil
}
