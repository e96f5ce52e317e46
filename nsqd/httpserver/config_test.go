package httpserver_test

import (
	"net/http"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/nsqgo/nsq/internal/logging"
	"github.com/nsqgo/nsq/nsqd"
)

func configURL(n *daemon, opt string) string { return httpURL(n, "/config/"+opt) }

func TestHTTPConfigGetRendersValuesByV1Rules(t *testing.T) {
	n := startDaemon(t, func(o *nsqd.Options) {
		o.LogLevel = logging.Info // nsqd's default; the test helper's is Warn
		o.LogPrefix = ""
		o.MsgTimeout = 30 * time.Second
		o.MemQueueSize = 700
		o.ID = 42
		o.NSQLookupdTCPAddresses = []string{"127.0.0.1:1"}
	})
	for _, tc := range []struct {
		opt, body, contentType string
	}{
		{"tcp_address", "127.0.0.1:0", "text/plain; charset=utf-8"}, // strings raw, unquoted
		{"log_prefix", "", ""}, // an empty string is an empty body
		{"msg_timeout", "30000000000", "application/json; charset=utf-8"}, // durations in ns
		{"mem_queue_size", "700", "application/json; charset=utf-8"},
		{"id", "42", "application/json; charset=utf-8"},
		{"deflate", "true", "application/json; charset=utf-8"},
		{"log_level", "2", "application/json; charset=utf-8"},
		{"nsqlookupd_tcp_addresses", `["127.0.0.1:1"]`, "application/json; charset=utf-8"},
	} {
		status, body, header := httpDo(t, http.MethodGet, configURL(n, tc.opt), nil)
		require.Equal(t, http.StatusOK, status, "%s: %s", tc.opt, body)
		require.Equal(t, tc.body, string(body), tc.opt)
		require.Equal(t, tc.contentType, header.Get("Content-Type"), tc.opt)
		requireV1Header(t, header)
	}
}

func TestHTTPConfigGetEmptyListIsArray(t *testing.T) {
	n := startDaemon(t, nil)
	status, body := httpGet(t, n, "/config/nsqlookupd_tcp_addresses")
	requireOK(t, "[]", status, body)
}

func TestHTTPConfigGetUnknownOptionIsInvalid(t *testing.T) {
	n := startDaemon(t, nil)
	// node_id is the flag's name, not the config key; the others have no flag.
	for _, opt := range []string{"nope", "node_id", "queue_scan_interval", "client_timeout", "logger"} {
		status, body := httpGet(t, n, "/config/"+opt)
		requireAPIError(t, http.StatusBadRequest, "INVALID_OPTION", status, body)
	}
}

// configKeyOf is the config-file key of each Options field, or "" for the
// fields upstream has no flag for (and so does not expose). A field added
// to Options without an entry here fails the test below, so that /config
// is taught about it.
func configKeyOf() map[string]string {
	return map[string]string{
		"ID": "id", "LogLevel": "log_level", "LogPrefix": "log_prefix", "Logger": "", "Clock": "", "LogFormat": "",
		"TCPAddress": "tcp_address", "HTTPAddress": "http_address", "BroadcastAddress": "broadcast_address",
		"BroadcastTCPPort": "broadcast_tcp_port", "BroadcastHTTPPort": "broadcast_http_port",
		"NSQLookupdTCPAddresses":   "nsqlookupd_tcp_addresses",
		"HTTPClientConnectTimeout": "http_client_connect_timeout", "HTTPClientRequestTimeout": "http_client_request_timeout",
		"AuthHTTPAddresses": "auth_http_addresses", "AuthHTTPRequestMethod": "auth_http_request_method",
		"DataPath": "data_path", "MemQueueSize": "mem_queue_size", "MaxBytesPerFile": "max_bytes_per_file",
		"SyncEvery": "sync_every", "SyncTimeout": "sync_timeout",
		"QueueScanInterval": "", "QueueScanRefreshInterval": "",
		"QueueScanSelectionCount": "queue_scan_selection_count", "QueueScanWorkerPoolMax": "queue_scan_worker_pool_max",
		"MsgTimeout": "msg_timeout", "MaxMsgTimeout": "max_msg_timeout", "MaxMsgSize": "max_msg_size",
		"MaxBodySize": "max_body_size", "MaxReqTimeout": "max_req_timeout", "ClientTimeout": "",
		"MaxHeartbeatInterval": "max_heartbeat_interval", "MaxRdyCount": "max_rdy_count",
		"MaxOutputBufferSize": "max_output_buffer_size", "MaxOutputBufferTimeout": "max_output_buffer_timeout",
		"MinOutputBufferTimeout": "min_output_buffer_timeout", "OutputBufferTimeout": "output_buffer_timeout",
		"MaxChannelConsumers": "max_channel_consumers",
		"DeflateEnabled":      "deflate", "MaxDeflateLevel": "max_deflate_level", "SnappyEnabled": "snappy",

		// TLS (tls_options.go)
		"TLSCert": "tls_cert", "TLSKey": "tls_key", "TLSRootCAFile": "tls_root_ca_file",
		"TLSClientAuthPolicy": "tls_client_auth_policy", "TLSRequired": "tls_required",
		"TLSMinVersion": "tls_min_version", "HTTPSAddress": "https_address",

		// metrics (nsqd/metrics/statsd, nsqd/metrics/e2e)
		"StatsdAddress":                   "statsd_address",
		"StatsdPrefix":                    "statsd_prefix",
		"StatsdInterval":                  "statsd_interval",
		"StatsdMemStats":                  "statsd_mem_stats",
		"StatsdUDPPacketSize":             "statsd_udp_packet_size",
		"StatsdExcludeEphemeral":          "statsd_exclude_ephemeral",
		"E2EProcessingLatencyPercentiles": "e2e_processing_latency_percentiles",
		"E2EProcessingLatencyWindowTime":  "e2e_processing_latency_window_time",

		// ours (nsqd/metrics/prometheus)
		"MetricsExcludeEphemeral": "metrics_exclude_ephemeral",
		"MetricsE2EHistogram":     "metrics_e2e_histogram",
		"HTTPAuth":                "http_auth",
		"EnableExperiments":       "enable_experiment",
		"TopologyRegion":          "topology_region",
		"TopologyZone":            "topology_zone",

		// queue policy (options_policy.go)
		"MaxAttempts": "max_attempts", "MsgTTL": "msg_ttl", "MaxChannelDepth": "max_channel_depth",
		"MaxChannelBytes": "max_channel_bytes", "Overflow": "overflow", "MaxDeadDepth": "max_dead_depth",

		// huge pages (nsqd/hugepages.go)
		"HugePages": "huge_pages",

		// the topic log (nsqd/fanout_log.go)
		"FanoutLog": "fanout_log",
	}
}

func TestHTTPConfigExposesEveryFlagOption(t *testing.T) {
	n := startDaemon(t, nil)
	keys := configKeyOf()
	fields := reflect.TypeOf(nsqd.Options{})
	for i := 0; i < fields.NumField(); i++ {
		field := fields.Field(i)
		key, known := keys[field.Name]
		if !known {
			t.Errorf("Options.%s is new: expose it in options_live.go configValue and list it in configKeyOf", field.Name)
			continue
		}
		if key == "" {
			continue
		}
		status, body := httpGet(t, n, "/config/"+key)
		require.Equal(t, http.StatusOK, status, "%s (Options.%s): %s", key, field.Name, body)
	}
}

// The new set goes to the lookupd client at once. Port 1 on loopback
// refuses connections, so the client's reconnecting stays quiet and local.
func TestHTTPConfigPutLookupdAddressesAppliesThemLive(t *testing.T) {
	n := startDaemon(t, nil)
	const set = `["127.0.0.1:1","127.0.0.2:1"]`
	status, body, _ := httpDo(t, http.MethodPut, configURL(n, "nsqlookupd_tcp_addresses"), strings.NewReader(set))
	requireOK(t, set, status, body)
	require.Equal(t, []string{"127.0.0.1:1", "127.0.0.2:1"}, n.LookupdAddresses())
	status, body = httpGet(t, n, "/config/nsqlookupd_tcp_addresses")
	requireOK(t, set, status, body)

	status, body, _ = httpDo(t, http.MethodPut, configURL(n, "nsqlookupd_tcp_addresses"), strings.NewReader(`[]`))
	requireOK(t, `[]`, status, body)
	require.Empty(t, n.LookupdAddresses())
}

func TestHTTPConfigPutAcceptsBodyOfExactlyMaxMsgSize(t *testing.T) {
	n := startDaemon(t, func(o *nsqd.Options) { o.MaxMsgSize = int64(len("error")) })
	status, body, _ := httpDo(t, http.MethodPut, configURL(n, "log_level"), strings.NewReader("error"))
	requireOK(t, "4", status, body)
	status, body, _ = httpDo(t, http.MethodPut, configURL(n, "log_level"), strings.NewReader("errorx"))
	requireAPIError(t, http.StatusRequestEntityTooLarge, "INVALID_VALUE", status, body)
}

func TestHTTPConfigPostIsNotAllowed(t *testing.T) {
	n := startDaemon(t, nil)
	status, body := httpPost(t, n, "/config/log_level", "debug")
	requireAPIError(t, http.StatusMethodNotAllowed, "METHOD_NOT_ALLOWED", status, body)
}
