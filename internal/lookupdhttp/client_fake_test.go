package lookupdhttp

import (
	"context"
	"net/http"
	"net/http/httptest"
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

func TestLookupdClientReadsCurrentAndLegacyAnswers(t *testing.T) {
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

func TestLookupdClientErrors(t *testing.T) {
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

func FuzzDecodeV1(f *testing.F) {
	f.Add([]byte(`{"producers":[{"broadcast_address":"a","tcp_port":1}]}`), true)
	f.Add([]byte(`{"status_code":200,"status_txt":"OK","data":{"producers":[]}}`), false)
	f.Add([]byte(`{"status_code":500,"data":null}`), false)
	f.Add([]byte(`[]`), false)
	f.Add([]byte(``), true)
	f.Fuzz(func(t *testing.T, body []byte, v1 bool) {
		var answer struct {
			Producers []Node   `json:"producers"`
			Topics    []string `json:"topics"`
		}
		if err := decodeV1(body, v1, &answer); err != nil {
			return
		}
		for _, p := range answer.Producers {
			_ = p.TCPAddress()
		}
	})
}
