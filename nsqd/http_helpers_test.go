package nsqd

import (
	"bytes"
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	"github.com/nsqgo/nsq/internal/httpapi"
	"github.com/stretchr/testify/require"
)

// httpPost posts body (may be empty) to path and returns status and body.
func httpPost(t testing.TB, n *NSQD, path string, body string) (int, []byte) {
	t.Helper()
	status, data, _ := httpDo(t, http.MethodPost, httpURL(n, path), strings.NewReader(body))
	return status, data
}

// httpGet fetches path and returns status and body.
func httpGet(t testing.TB, n *NSQD, path string) (int, []byte) {
	t.Helper()
	status, data, _ := httpDo(t, http.MethodGet, httpURL(n, path), nil)
	return status, data
}

// requireAPIError asserts a V1 error answer.
func requireAPIError(t testing.TB, wantStatus int, wantMessage string, status int, body []byte) {
	t.Helper()
	require.Equal(t, wantStatus, status, "body %s", body)
	require.JSONEq(t, `{"message":"`+wantMessage+`"}`, string(body))
}

// requireOK asserts a 200 with the given body.
// adminPost POSTs an admin endpoint that must answer 200 with an empty body.
func adminPost(t testing.TB, n *NSQD, path string) {
	t.Helper()
	status, body := httpPost(t, n, path, "")
	requireOK(t, "", status, body)
}

func requireOK(t testing.TB, want string, status int, body []byte) {
	t.Helper()
	require.Equal(t, http.StatusOK, status, "body %s", body)
	require.Equal(t, want, string(body))
}

// getStats fetches /stats?format=json plus extra query and decodes it.
func getStats(t testing.TB, n *NSQD, extraQuery string) statsResponse {
	t.Helper()
	status, body := httpGet(t, n, "/stats?format=json"+extraQuery)
	require.Equal(t, http.StatusOK, status, "body %s", body)
	var stats statsResponse
	require.NoError(t, json.Unmarshal(body, &stats))
	return stats
}

// topicStats returns the named topic of a decoded /stats.
func topicStats(t testing.TB, stats statsResponse, name string) TopicStats {
	t.Helper()
	for _, ts := range stats.Topics {
		if ts.TopicName == name {
			return ts
		}
	}
	t.Fatalf("topic %s not in stats %+v", name, stats.Topics)
	return TopicStats{}
}

// channelStats returns topic/channel of a decoded /stats.
func channelStats(t testing.TB, stats statsResponse, topic, channel string) ChannelStats {
	t.Helper()
	for _, cs := range topicStats(t, stats, topic).Channels {
		if cs.ChannelName == channel {
			return cs
		}
	}
	t.Fatalf("channel %s/%s not in stats", topic, channel)
	return ChannelStats{}
}

// waitForStats polls /stats until cond holds: counters are updated by the
// daemon's goroutines and there is no event to wait on.
func waitForStats(t testing.TB, n *NSQD, what string, cond func(statsResponse) bool) statsResponse {
	t.Helper()
	var last statsResponse
	waitFor(t, what, func() bool {
		last = getStats(t, n, "")
		return cond(last)
	})
	return last
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

// firstElement returns the first element of a JSON array, undecoded.
func firstElement(t testing.TB, raw []byte) json.RawMessage {
	t.Helper()
	var list []json.RawMessage
	require.NoError(t, json.Unmarshal(raw, &list))
	require.NotEmpty(t, list, "empty array")
	return list[0]
}

// requireV1Header asserts the header go-nsq needs to read a V1 body.
func requireV1Header(t testing.TB, header http.Header) {
	t.Helper()
	require.Equal(t, httpapi.ContentTypeValue, header.Get(httpapi.ContentTypeHeader))
}
