package lookupdhttp

import (
	"context"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/nsqgo/nsq/internal/httpapi"
)

// fakeLookupd answers every request with status, body and, when v1 is
// set, the V1 content-type header.
func fakeLookupd(t *testing.T, status int, body string, v1 bool) string {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		require.Equal(t, "application/vnd.nsq; version=1.0", r.Header.Get("Accept"))
		if v1 {
			w.Header().Set(httpapi.ContentTypeHeader, httpapi.ContentTypeValue)
		}
		w.WriteHeader(status)
		w.Write([]byte(body))
	}))
	t.Cleanup(srv.Close)
	return srv.Listener.Addr().String()
}

func TestClientReadsCurrentAndLegacyAnswers(t *testing.T) {
	l := New(Options{ConnectTimeout: time.Second, RequestTimeout: time.Second})
	defer l.Close()
	ctx := context.Background()

	current := fakeLookupd(t, 200, `{"channels":["c"],"producers":[{"remote_address":"127.0.0.1:5","hostname":"h","broadcast_address":"10.0.0.1","tcp_port":4150,"http_port":4151,"version":"1.3.0"}]}`, true)
	nodes, err := l.Producers(ctx, current, "t")
	require.NoError(t, err)
	require.Len(t, nodes, 1)
	require.Equal(t, "10.0.0.1:4150", nodes[0].TCPAddress())
	require.Equal(t, "10.0.0.1:4151", nodes[0].HTTPAddress())

	legacy := fakeLookupd(t, 200, `{"status_code":200,"status_txt":"OK","data":{"topics":["a","b"]}}`, false)
	topics, err := l.Topics(ctx, "http://"+legacy+"/")
	require.NoError(t, err)
	require.Equal(t, []string{"a", "b"}, topics)

	ipv6 := Node{BroadcastAddress: "::1", TCPPort: 4150}
	require.Equal(t, "[::1]:4150", ipv6.TCPAddress())
}

func TestClientErrors(t *testing.T) {
	l := New(Options{ConnectTimeout: time.Second, RequestTimeout: time.Second})
	defer l.Close()
	ctx := context.Background()

	unknown := fakeLookupd(t, 404, `{"message":"TOPIC_NOT_FOUND"}`, true)
	nodes, err := l.Producers(ctx, unknown, "t")
	require.NoError(t, err, "an unknown topic has no producers")
	require.Empty(t, nodes)

	broken := fakeLookupd(t, 500, `{"message":"INTERNAL_ERROR"}`, true)
	_, err = l.Topics(ctx, broken)
	var status *StatusError
	require.ErrorAs(t, err, &status)
	require.Equal(t, &StatusError{Code: 500, Message: "INTERNAL_ERROR"}, status)

	garbage := fakeLookupd(t, 200, `<html>`, true)
	_, err = l.Producers(ctx, garbage, "t")
	require.ErrorContains(t, err, "decode response")

	_, err = l.Topics(ctx, "127.0.0.1:1")
	require.Error(t, err)
	// The http package's error names the method and URL; nothing repeats
	// them (it used to read `GET http://...: Get "http://...": ...`).
	require.Regexp(t, `^Get "http://127\.0\.0\.1:1/topics": dial tcp 127\.0\.0\.1:1: connect: connection refused$`, err.Error())
}

// TestForbiddenNamingAnHTTPSPortIsRetriedOverHTTPSOnce: a node with
// --tls-required answers plain HTTP with 403 and its https_port; the
// client asks again there, with its TLS settings, and only once.
func TestForbiddenNamingAnHTTPSPortIsRetriedOverHTTPSOnce(t *testing.T) {
	var secureAnswer atomic.Value
	secureAnswer.Store(`{"topics":["secure"]}`)
	secure := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set(httpapi.ContentTypeHeader, httpapi.ContentTypeValue)
		if body := secureAnswer.Load().(string); body != `{"topics":["secure"]}` {
			w.WriteHeader(http.StatusForbidden)
			w.Write([]byte(body))
			return
		}
		w.Write([]byte(`{"topics":["secure"]}`))
	}))
	t.Cleanup(secure.Close)
	_, securePort, err := net.SplitHostPort(secure.Listener.Addr().String())
	require.NoError(t, err)
	plain := fakeLookupd(t, 403, `{"message":"TLS_REQUIRED","https_port":`+securePort+`}`, true)

	var traced []string
	var traceMu sync.Mutex
	tlsConfig := secure.Client().Transport.(*http.Transport).TLSClientConfig
	c := New(Options{ConnectTimeout: 5 * time.Second, RequestTimeout: 10 * time.Second, TLSConfig: tlsConfig, Trace: func(endpoint string) {
		traceMu.Lock()
		traced = append(traced, endpoint)
		traceMu.Unlock()
	}})
	defer c.Close()
	ctx := context.Background()

	topics, err := c.Topics(ctx, plain)
	require.NoError(t, err)
	require.Equal(t, []string{"secure"}, topics)
	require.Equal(t, []string{"http://" + plain + "/topics", "https://127.0.0.1:" + securePort + "/topics"}, traced)

	// A second 403 naming a port is not followed again.
	secureAnswer.Store(`{"message":"TLS_REQUIRED","https_port":` + securePort + `}`)
	_, err = c.Topics(ctx, plain)
	var status *StatusError
	require.ErrorAs(t, err, &status)
	require.Equal(t, &StatusError{Code: 403, Message: "TLS_REQUIRED"}, status)
	require.Len(t, traced, 4)

	// Without the TLS settings the retry fails on the unknown certificate.
	untrusted := New(Options{ConnectTimeout: 5 * time.Second, RequestTimeout: 10 * time.Second})
	defer untrusted.Close()
	_, err = untrusted.Topics(ctx, plain)
	require.ErrorContains(t, err, "certificate")

	// A 403 that names no port is an answer like any other.
	forbidden := fakeLookupd(t, 403, `{"message":"FORBIDDEN"}`, true)
	_, err = c.Topics(ctx, forbidden)
	require.ErrorAs(t, err, &status)
	require.Equal(t, &StatusError{Code: 403, Message: "FORBIDDEN"}, status)
}

func TestAnswerLargerThanTheBoundIsRefused(t *testing.T) {
	big := fakeLookupd(t, 200, `{"topics":["`+strings.Repeat("x", 100)+`"]}`, true)
	c := New(Options{ConnectTimeout: time.Second, RequestTimeout: time.Second, MaxResponseSize: 64})
	defer c.Close()
	_, err := c.Topics(context.Background(), big)
	require.ErrorContains(t, err, "response larger than 64 bytes")

	roomy := New(Options{ConnectTimeout: time.Second, RequestTimeout: time.Second, MaxResponseSize: 200})
	defer roomy.Close()
	topics, err := roomy.Topics(context.Background(), big)
	require.NoError(t, err)
	require.Len(t, topics, 1)
}

// FuzzAnswerParsers feeds arbitrary bytes to every parser of a lookupd's
// answer: the V1 and pre-1.0 bodies of each endpoint, a non-200's message,
// and a 403's https_port. None may panic; a StatusError's message stays
// bounded; a retry URL is always HTTPS on a valid port.
func FuzzAnswerParsers(f *testing.F) {
	for _, seed := range []string{
		`{"producers":[{"broadcast_address":"a","tcp_port":1}]}`,
		`{"channels":["a","b"],"producers":[]}`,
		`{"topics":["a"]}`,
		`{"producers":[{"broadcast_address":"::1","tcp_port":4150,"topics":["t"],"tombstones":[true]}]}`,
		`{"status_code":200,"status_txt":"OK","data":{"producers":[]}}`,
		`{"status_code":500,"data":null}`,
		`{"message":"TOPIC_NOT_FOUND"}`,
		`{"message":"TLS_REQUIRED","https_port":4152}`,
		`{"https_port":-1}`, `{"https_port":70000}`, `{"channels":[1]}`,
		`[]`, ``, `null`, `[`, `<html>`,
	} {
		f.Add([]byte(seed), true)
		f.Add([]byte(seed), false)
	}
	f.Fuzz(func(t *testing.T, body []byte, v1 bool) {
		var answer struct {
			Producers []Node   `json:"producers"`
			Topics    []string `json:"topics"`
			Channels  []string `json:"channels"`
		}
		if err := decodeV1(body, v1, &answer); err == nil {
			for _, p := range answer.Producers {
				_ = p.TCPAddress()
				_ = p.HTTPAddress()
			}
		}
		if msg := statusError(500, body).Message; len(msg) > maxStatusMessage {
			t.Fatalf("status message of %d bytes", len(msg))
		}
		if retry, ok := httpsRetryURL("http://127.0.0.1:4151/topics", body); ok {
			u, err := url.Parse(retry)
			if err != nil || u.Scheme != "https" || u.Port() == "" || u.Path != "/topics" {
				t.Fatalf("bad retry URL %q", retry)
			}
		}
	})
}
