package httpserver_test

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/nsqgo/nsq/internal/httpapi"
	"github.com/nsqgo/nsq/internal/tooltest"
	"github.com/nsqgo/nsq/internal/tooltest/daemons"
	"github.com/nsqgo/nsq/nsqd"
)

// The HTTP API's tests run a whole nsqd in-process on loopback (the shared
// helper every daemon test uses, internal/tooltest/daemons) and talk to it
// over HTTP; a consumer, where one is needed, is the tools' client
// (internal/tooltest).

// daemon is an nsqd under test.
type daemon = daemons.NSQD

// startDaemon runs an nsqd on 127.0.0.1 port 0, stopped when the test ends.
func startDaemon(t testing.TB, configure func(*nsqd.Options)) *daemon {
	t.Helper()
	return daemons.StartNSQD(t, nil, configure)
}

func httpURL(n *daemon, pathAndQuery string) string {
	return "http://" + n.HTTPAddr() + pathAndQuery
}

// httpDo performs a request and returns status, body and header.
func httpDo(t testing.TB, method, url string, body io.Reader) (int, []byte, http.Header) {
	t.Helper()
	req, err := http.NewRequest(method, url, body)
	require.NoError(t, err)
	client := &http.Client{Timeout: 10 * time.Second}
	resp, err := client.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	return resp.StatusCode, data, resp.Header
}

// httpPost posts body (may be empty) to path and returns status and body.
func httpPost(t testing.TB, n *daemon, path string, body string) (int, []byte) {
	t.Helper()
	status, data, _ := httpDo(t, http.MethodPost, httpURL(n, path), strings.NewReader(body))
	return status, data
}

// httpGet fetches path and returns status and body.
func httpGet(t testing.TB, n *daemon, path string) (int, []byte) {
	t.Helper()
	status, data, _ := httpDo(t, http.MethodGet, httpURL(n, path), nil)
	return status, data
}

// chunked wraps a body so that net/http cannot know its length and sends
// it with chunked transfer encoding, as a streaming client does.
type chunked struct{ r io.Reader }

func (c chunked) Read(p []byte) (int, error) { return c.r.Read(p) }

// httpPostChunked posts body without a Content-Length.
func httpPostChunked(t testing.TB, n *daemon, path string, body []byte) (int, []byte) {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, httpURL(n, path), chunked{bytes.NewReader(body)})
	require.NoError(t, err)
	// A body of unknown length (ContentLength 0, Body set) goes out chunked.
	require.EqualValues(t, 0, req.ContentLength)
	client := &http.Client{Timeout: 10 * time.Second}
	resp, err := client.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	return resp.StatusCode, data
}

// httpNoRedirect performs a request without following redirects.
func httpNoRedirect(t testing.TB, method, url string) *http.Response {
	t.Helper()
	req, err := http.NewRequest(method, url, nil)
	require.NoError(t, err)
	client := &http.Client{
		Timeout:       10 * time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
	resp, err := client.Do(req)
	require.NoError(t, err)
	resp.Body.Close()
	return resp
}

// requireAPIError asserts a V1 error answer.
func requireAPIError(t testing.TB, wantStatus int, wantMessage string, status int, body []byte) {
	t.Helper()
	require.Equal(t, wantStatus, status, "body %s", body)
	require.JSONEq(t, `{"message":"`+wantMessage+`"}`, string(body))
}

// requireOK asserts a 200 with the given body.
func requireOK(t testing.TB, want string, status int, body []byte) {
	t.Helper()
	require.Equal(t, http.StatusOK, status, "body %s", body)
	require.Equal(t, want, string(body))
}

// adminPost POSTs an admin endpoint that must answer 200 with an empty body.
func adminPost(t testing.TB, n *daemon, path string) {
	t.Helper()
	status, body := httpPost(t, n, path, "")
	requireOK(t, "", status, body)
}

// requireV1Header asserts the header go-nsq needs to read a V1 body.
func requireV1Header(t testing.TB, header http.Header) {
	t.Helper()
	require.Equal(t, httpapi.ContentTypeValue, header.Get(httpapi.ContentTypeHeader))
}

// requireNoTopic asserts the daemon has no topic of that name.
func requireNoTopic(t testing.TB, n *daemon, name string) {
	t.Helper()
	_, err := n.GetExistingTopic(name)
	require.Error(t, err, "topic %s exists", name)
}

// stats is the part of /stats?format=json the tests read.
type stats struct {
	Version   string             `json:"version"`
	Health    string             `json:"health"`
	StartTime int64              `json:"start_time"`
	Topics    []nsqd.TopicStats  `json:"topics"`
	Memory    *nsqd.MemStats     `json:"memory"`
	Producers []nsqd.ClientStats `json:"producers"`
}

// getStats fetches /stats?format=json plus extra query and decodes it.
func getStats(t testing.TB, n *daemon, extraQuery string) stats {
	t.Helper()
	status, body := httpGet(t, n, "/stats?format=json"+extraQuery)
	require.Equal(t, http.StatusOK, status, "body %s", body)
	var s stats
	require.NoError(t, json.Unmarshal(body, &s))
	return s
}

// topicStats returns the named topic of a decoded /stats.
func topicStats(t testing.TB, s stats, name string) nsqd.TopicStats {
	t.Helper()
	for _, ts := range s.Topics {
		if ts.TopicName == name {
			return ts
		}
	}
	t.Fatalf("topic %s not in stats %+v", name, s.Topics)
	return nsqd.TopicStats{}
}

// channelStats returns topic/channel of a decoded /stats.
func channelStats(t testing.TB, s stats, topic, channel string) nsqd.ChannelStats {
	t.Helper()
	for _, cs := range topicStats(t, s, topic).Channels {
		if cs.ChannelName == channel {
			return cs
		}
	}
	t.Fatalf("channel %s/%s not in stats", topic, channel)
	return nsqd.ChannelStats{}
}

// objectKeys lists the keys of a JSON object in document order.
func objectKeys(t testing.TB, raw []byte) []string {
	t.Helper()
	dec := json.NewDecoder(bytes.NewReader(raw))
	tok, err := dec.Token()
	require.NoError(t, err)
	require.Equal(t, json.Delim('{'), tok, "not an object: %s", raw)
	var keys []string
	for dec.More() {
		tok, err := dec.Token()
		require.NoError(t, err)
		keys = append(keys, tok.(string))
		var skip json.RawMessage
		require.NoError(t, dec.Decode(&skip))
	}
	return keys
}

// rawField returns one field of a JSON object, undecoded.
func rawField(t testing.TB, raw []byte, key string) json.RawMessage {
	t.Helper()
	var fields map[string]json.RawMessage
	require.NoError(t, json.Unmarshal(raw, &fields))
	field, ok := fields[key]
	require.True(t, ok, "no %q in %s", key, raw)
	return field
}

// consumeBodies subscribes to topic/channel and waits for count bodies,
// in the order they arrived.
func consumeBodies(t testing.TB, n *daemon, topic, channel string, count int) []string {
	t.Helper()
	return tooltest.Consume(t, n.TCPAddr(), topic, channel).WaitFor(t, count)
}
