package nsqd

import (
	"encoding/json"
	"errors"
	"net/http"
	"os"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func TestHTTPPingAnswersOKInPlainText(t *testing.T) {
	n := startDaemon(t, nil)
	status, body, header := httpDo(t, http.MethodGet, httpURL(n, "/ping"), nil)
	requireOK(t, "OK", status, body)
	require.Equal(t, "text/plain; charset=utf-8", header.Get("Content-Type"))
	require.Empty(t, header.Get("X-NSQ-Content-Type"), "/ping has no V1 header")
}

func TestHTTPPingReportsFailedDiskWriteUntilNextSuccess(t *testing.T) {
	n := startDaemon(t, nil)
	n.recordWrite(errors.New("disk full"))
	status, body := httpGet(t, n, "/ping")
	require.Equal(t, http.StatusInternalServerError, status)
	require.Equal(t, "NOK - disk full", string(body))

	n.recordWrite(nil)
	status, body = httpGet(t, n, "/ping")
	requireOK(t, "OK", status, body)
}

func TestHTTPInfoReportsListenersAndLimits(t *testing.T) {
	n := startDaemon(t, func(o *Options) {
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
	require.InDelta(t, float64(n.startTime.Unix()), info["start_time"], 0)
	require.EqualValues(t, 42e9, info["max_heartbeat_interval"], "nanoseconds")
	require.EqualValues(t, 1234, info["max_output_buffer_size"])
	require.EqualValues(t, 7e9, info["max_output_buffer_timeout"], "nanoseconds")
	require.EqualValues(t, 4, info["max_deflate_level"])
}
