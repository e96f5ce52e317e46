package nsqlookupd

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

const (
	jsonType = "application/json; charset=utf-8"
	v1Type   = "nsq; version=1.0"
)

// requireV1 checks a V1 JSON answer: status, exact body and both headers.
func requireV1(t *testing.T, res httpResult, status int, body string) {
	t.Helper()
	require.Equal(t, status, res.status, res.body)
	require.Equal(t, body, res.body)
	require.Equal(t, v1Type, res.header.Get("X-NSQ-Content-Type"))
	if body != "" {
		require.Equal(t, jsonType, res.header.Get("Content-Type"))
	}
}

func TestHTTPPingIsPlainText(t *testing.T) {
	l := startLookupd(t, nil)
	res := httpGet(t, l, "/ping")
	require.Equal(t, 200, res.status)
	require.Equal(t, "OK", res.body)
	require.Empty(t, res.header.Get("X-NSQ-Content-Type"))
	require.Equal(t, "text/plain; charset=utf-8", res.header.Get("Content-Type"))
}

func TestHTTPInfo(t *testing.T) {
	l := startLookupd(t, nil)
	requireV1(t, httpGet(t, l, "/info"), 200, `{"version":"1.3.0"}`)
}

func TestHTTPEmptyRegistry(t *testing.T) {
	l := startLookupd(t, nil)
	requireV1(t, httpGet(t, l, "/topics"), 200, `{"topics":[]}`)
	requireV1(t, httpGet(t, l, "/channels?topic=none"), 200, `{"channels":[]}`)
	requireV1(t, httpGet(t, l, "/nodes"), 200, `{"producers":[]}`)
	requireV1(t, httpGet(t, l, "/debug"), 200, `{}`)
	requireV1(t, httpGet(t, l, "/lookup?topic=none"), 404, `{"message":"TOPIC_NOT_FOUND"}`)
	requireV1(t, httpGet(t, l, "/lookup?topic=bad*name"), 404, `{"message":"TOPIC_NOT_FOUND"}`)
	requireV1(t, httpGet(t, l, "/lookup?topic="), 404, `{"message":"TOPIC_NOT_FOUND"}`)
}

func TestHTTPParameterErrors(t *testing.T) {
	l := startLookupd(t, nil)
	cases := []struct {
		method, path string
		status       int
		message      string
	}{
		{"GET", "/lookup", 400, "MISSING_ARG_TOPIC"},
		{"GET", "/lookup?topic=%zz", 400, "INVALID_REQUEST"},
		{"GET", "/channels", 400, "MISSING_ARG_TOPIC"},
		{"GET", "/channels?topic=%zz", 400, "INVALID_REQUEST"},
		{"POST", "/topic/create", 400, "MISSING_ARG_TOPIC"},
		{"POST", "/topic/create?topic=a*b", 400, "INVALID_ARG_TOPIC"},
		{"POST", "/topic/create?topic=", 400, "INVALID_ARG_TOPIC"},
		{"POST", "/topic/create?topic=%zz", 400, "INVALID_REQUEST"},
		{"POST", "/topic/delete", 400, "MISSING_ARG_TOPIC"},
		{"POST", "/channel/create", 400, "MISSING_ARG_TOPIC"},
		{"POST", "/channel/create?topic=a*b&channel=c", 400, "INVALID_ARG_TOPIC"},
		{"POST", "/channel/create?topic=t", 400, "MISSING_ARG_CHANNEL"},
		{"POST", "/channel/create?topic=t&channel=" + strings.Repeat("c", 65), 400, "INVALID_ARG_CHANNEL"},
		{"POST", "/channel/delete", 400, "MISSING_ARG_TOPIC"},
		{"POST", "/channel/delete?topic=t&channel=c!", 400, "INVALID_ARG_CHANNEL"},
		{"POST", "/channel/delete?topic=t&channel=c", 404, "CHANNEL_NOT_FOUND"},
		{"POST", "/topic/tombstone", 400, "MISSING_ARG_TOPIC"},
		{"POST", "/topic/tombstone?node=a:1", 400, "MISSING_ARG_TOPIC"},
		{"POST", "/topic/tombstone?topic=t", 400, "MISSING_ARG_NODE"},
		{"GET", "/topic/create?topic=t", 405, "METHOD_NOT_ALLOWED"},
		{"POST", "/lookup?topic=t", 405, "METHOD_NOT_ALLOWED"},
		{"GET", "/create_topic?topic=t", 404, "NOT_FOUND"},
		{"POST", "/tombstone_topic_producer?topic=t&node=a:1", 404, "NOT_FOUND"},
		{"GET", "/config/nsqlookupd_tcp_addresses", 404, "NOT_FOUND"},
	}
	for _, tc := range cases {
		t.Run(tc.method+" "+tc.path, func(t *testing.T) {
			requireV1(t, httpDo(t, tc.method, l.url(tc.path)), tc.status, `{"message":"`+tc.message+`"}`)
		})
	}
}

func TestHTTPTopicAndChannelLifecycle(t *testing.T) {
	l := startLookupd(t, nil)
	requireV1(t, httpPost(t, l, "/topic/create?topic=a"), 200, "")
	requireV1(t, httpGet(t, l, "/lookup?topic=a"), 200, `{"channels":[],"producers":[]}`)
	requireV1(t, httpPost(t, l, "/channel/create?topic=b%23ephemeral&channel=c1"), 200, "")
	requireV1(t, httpPost(t, l, "/channel/create?topic=b%23ephemeral&channel=c2"), 200, "")
	requireV1(t, httpGet(t, l, "/topics"), 200, `{"topics":["a","b#ephemeral"]}`)
	requireV1(t, httpGet(t, l, "/channels?topic=b%23ephemeral"), 200, `{"channels":["c1","c2"]}`)
	requireV1(t, httpGet(t, l, "/lookup?topic=b%23ephemeral"), 200, `{"channels":["c1","c2"],"producers":[]}`)

	requireV1(t, httpPost(t, l, "/channel/delete?topic=b%23ephemeral&channel=c1"), 200, "")
	requireV1(t, httpGet(t, l, "/channels?topic=b%23ephemeral"), 200, `{"channels":["c2"]}`)

	requireV1(t, httpPost(t, l, "/topic/delete?topic=b%23ephemeral"), 200, "")
	requireV1(t, httpPost(t, l, "/topic/delete?topic=never"), 200, "")
	requireV1(t, httpGet(t, l, "/topics"), 200, `{"topics":["a"]}`)
	requireV1(t, httpGet(t, l, "/channels?topic=b%23ephemeral"), 200, `{"channels":[]}`)
	requireV1(t, httpGet(t, l, "/lookup?topic=b%23ephemeral"), 404, `{"message":"TOPIC_NOT_FOUND"}`)

	res := httpPost(t, l, "/topic/create?topic=a")
	require.Equal(t, "0", res.header.Get("Content-Length"))
}

func TestHTTPDeleteTopicDropsRegisteredProducers(t *testing.T) {
	l := startLookupd(t, nil)
	c := dialV1(t, l)
	c.identify("127.0.0.1", 4150, 4151)
	require.Equal(t, "OK", c.cmd("REGISTER t c"))
	requireV1(t, httpPost(t, l, "/topic/delete?topic=t"), 200, "")
	requireV1(t, httpGet(t, l, "/lookup?topic=t"), 404, `{"message":"TOPIC_NOT_FOUND"}`)
	require.Contains(t, httpGet(t, l, "/nodes").body, `"tombstones":[],"topics":[]`)

	// The nsqd still has it, and re-creates the keys on its next REGISTER.
	require.Equal(t, "OK", c.cmd("REGISTER t c"))
	require.Len(t, lookupProducers(t, l, "t"), 1)
	require.Contains(t, httpGet(t, l, "/nodes").body, `"tombstones":[false],"topics":["t"]`)
}

func TestHTTPNodesAndDebugShapes(t *testing.T) {
	l := startLookupd(t, nil)
	c := dialV1(t, l)
	c.identify("127.0.0.1", 4150, 4151)
	require.Equal(t, "OK", c.cmd("REGISTER t8"))
	require.Equal(t, "OK", c.cmd("REGISTER t7 c"))
	requireV1(t, httpPost(t, l, "/topic/tombstone?topic=t8&node=127.0.0.1:4151"), 200, "")
	remote := c.conn.LocalAddr().String()

	requireV1(t, httpGet(t, l, "/nodes"), 200, `{"producers":[{"remote_address":"`+remote+
		`","hostname":"host-127.0.0.1","broadcast_address":"127.0.0.1","tcp_port":4150,"http_port":4151,`+
		`"version":"1.3.0","tombstones":[false,true],"topics":["t7","t8"]}]}`)
	requireV1(t, httpGet(t, l, "/lookup?topic=t8"), 200, `{"channels":[],"producers":[]}`)

	var dump map[string][]map[string]any
	res := httpGet(t, l, "/debug")
	require.Equal(t, 200, res.status)
	require.NoError(t, json.Unmarshal([]byte(res.body), &dump))
	require.ElementsMatch(t, []string{"client::", "topic:t8:", "topic:t7:", "channel:t7:c"}, keys(dump))
	entry := dump["client::"][0]
	require.Equal(t, remote, entry["id"])
	require.Equal(t, false, entry["tombstoned"])
	require.Equal(t, float64(-6795364578871345152), entry["tombstoned_at"], "Go's zero time, as upstream")
	require.Equal(t, true, dump["topic:t8:"][0]["tombstoned"])
	require.Contains(t, res.body, `{"broadcast_address":"127.0.0.1","hostname":"host-127.0.0.1","http_port":4151,"id":"`+remote+`","last_update":`)
}

func keys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	return out
}

func TestHTTPRouterConventions(t *testing.T) {
	l := startLookupd(t, nil)
	res := httpDo(t, http.MethodOptions, l.url("/topic/create"))
	require.Equal(t, 200, res.status)
	require.Contains(t, res.header.Get("Allow"), "POST")

	res = httpGet(t, l, "/topics/")
	require.Equal(t, http.StatusMovedPermanently, res.status)
	require.Equal(t, "/topics", res.header.Get("Location"))

	res = httpGet(t, l, "/debug/pprof")
	require.Equal(t, 200, res.status)
	require.Contains(t, res.body, "goroutine")
	res = httpGet(t, l, "/debug/pprof/")
	require.Equal(t, http.StatusMovedPermanently, res.status)
	require.Equal(t, "/debug/pprof", res.header.Get("Location"))
	require.Equal(t, 200, httpGet(t, l, "/debug/pprof/goroutine?debug=1").status)
}
