package httpserver_test

import (
	"encoding/json"
	"net/http"
	"os"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/nsqgo/nsq/nsqd"
)

func TestHTTPPingAnswersOKInPlainText(t *testing.T) {
	n := startDaemon(t, nil)
	status, body, header := httpDo(t, http.MethodGet, httpURL(n, "/ping"), nil)
	requireOK(t, "OK", status, body)
	require.Equal(t, "text/plain; charset=utf-8", header.Get("Content-Type"))
	require.Empty(t, header.Get("X-NSQ-Content-Type"), "/ping has no V1 header")
}

func TestHTTPInfoReportsListenersAndLimits(t *testing.T) {
	before := time.Now().Unix()
	n := startDaemon(t, func(o *nsqd.Options) {
		o.BroadcastAddress = "broadcast.example"
		o.MaxHeartbeatInterval = 42 * time.Second
		o.MaxOutputBufferSize = 1234
		o.MaxOutputBufferTimeout = 7 * time.Second
		o.MaxDeflateLevel = 4
	})
	status, body, header := httpDo(t, http.MethodGet, httpURL(n, "/info"), nil)
	require.Equal(t, http.StatusOK, status, "body %s", body)
	requireV1Header(t, header)
	require.Equal(t, "application/json; charset=utf-8", header.Get("Content-Type"))

	require.Equal(t, []string{
		"version", "broadcast_address", "hostname", "http_port", "tcp_port", "start_time",
		"max_heartbeat_interval", "max_output_buffer_size", "max_output_buffer_timeout", "max_deflate_level",
	}, objectKeys(t, body))

	var info map[string]any
	require.NoError(t, json.Unmarshal(body, &info))
	hostname, err := os.Hostname()
	require.NoError(t, err)
	require.Equal(t, "1.3.0", info["version"])
	require.Equal(t, "broadcast.example", info["broadcast_address"])
	require.Equal(t, hostname, info["hostname"])
	require.EqualValues(t, n.RealHTTPAddr().Port, info["http_port"])
	require.EqualValues(t, n.RealTCPAddr().Port, info["tcp_port"])
	// When the daemon started, in seconds: between the test's start and
	// its first request.
	require.GreaterOrEqual(t, info["start_time"], float64(before))
	require.LessOrEqual(t, info["start_time"], float64(time.Now().Unix()))
	require.Equal(t, getStats(t, n, "").StartTime, int64(info["start_time"].(float64)), "/stats says the same")
	require.EqualValues(t, 42e9, info["max_heartbeat_interval"], "nanoseconds")
	require.EqualValues(t, 1234, info["max_output_buffer_size"])
	require.EqualValues(t, 7e9, info["max_output_buffer_timeout"], "nanoseconds")
	require.EqualValues(t, 4, info["max_deflate_level"])
}
