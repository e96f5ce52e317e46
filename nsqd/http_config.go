package nsqd

import (
	"encoding/json"
	"io"
	"net/http"

	"github.com/julienschmidt/httprouter"
	"github.com/nsqgo/nsq/internal/httpapi"
	"github.com/nsqgo/nsq/internal/logging"
)

// configGet answers GET /config/<opt> with the option's current value,
// rendered by the V1 rules: strings raw, durations as integer nanoseconds,
// numbers, booleans and lists as JSON.
func (s *httpServer) configGet(w http.ResponseWriter, r *http.Request, ps httprouter.Params) (any, error) {
	value, ok := s.nsqd.configValue(ps.ByName("opt"))
	if !ok {
		return nil, httpapi.Errorf(http.StatusBadRequest, "INVALID_OPTION")
	}
	return value, nil
}

// configPut changes one of the two options upstream lets change at run
// time and answers its new value. The body is checked before the name, so
// an empty body is 413 INVALID_VALUE whatever the option, as upstream.
func (s *httpServer) configPut(w http.ResponseWriter, r *http.Request, ps httprouter.Params) (any, error) {
	n := s.nsqd
	opt := ps.ByName("opt")
	readMax := n.opts.MaxMsgSize + 1
	body, err := io.ReadAll(io.LimitReader(r.Body, readMax))
	if err != nil {
		n.logf(errorLevel, "HTTP PUT /config/%s: reading body: %s", opt, err)
		return nil, httpapi.Errorf(http.StatusInternalServerError, "INTERNAL_ERROR")
	}
	if int64(len(body)) == readMax || len(body) == 0 {
		return nil, httpapi.Errorf(http.StatusRequestEntityTooLarge, "INVALID_VALUE")
	}

	switch opt {
	case "nsqlookupd_tcp_addresses":
		var addrs []string
		if err := json.Unmarshal(body, &addrs); err != nil {
			return nil, httpapi.Errorf(http.StatusBadRequest, "INVALID_VALUE")
		}
		// Applied live: removed lookupds are disconnected, new ones
		// connected and sent every registration.
		n.SetLookupdAddresses(addrs)
		n.logf(infoLevel, "nsqlookupd TCP addresses set to %q", addrs)
	case "log_level":
		level, err := logging.ParseLevel(string(body))
		if err != nil {
			return nil, httpapi.Errorf(http.StatusBadRequest, "INVALID_VALUE")
		}
		n.logger.SetLevel(level)
		n.logf(infoLevel, "log level set to %s", level)
	default:
		return nil, httpapi.Errorf(http.StatusBadRequest, "INVALID_OPTION")
	}
	return s.configGet(w, r, ps)
}

// configValue returns an option by its config-file key (the flag name with
// '-' as '_', except id, nsqlookupd_tcp_addresses and the other renamed
// ones). Options without a flag (queue_scan_interval, client_timeout, ...)
// are not exposed, as upstream. A new flag must be added here too; a test
// walks Options to catch one that is not.
func (n *NSQD) configValue(name string) (any, bool) {
	o := n.opts
	switch name {
	case "id":
		return o.ID, true
	case "log_level":
		// The logger holds the live level; PUT changes it there.
		return int32(n.logger.Level()), true
	case "log_prefix":
		return o.LogPrefix, true
	case "tcp_address":
		return o.TCPAddress, true
	case "http_address":
		return o.HTTPAddress, true
	case "broadcast_address":
		return o.BroadcastAddress, true
	case "broadcast_tcp_port":
		return o.BroadcastTCPPort, true
	case "broadcast_http_port":
		return o.BroadcastHTTPPort, true
	case "nsqlookupd_tcp_addresses":
		return n.lookupdAddresses(), true
	case "http_client_connect_timeout":
		return o.HTTPClientConnectTimeout, true
	case "http_client_request_timeout":
		return o.HTTPClientRequestTimeout, true
	case "auth_http_addresses":
		// [] rather than null when unset, like the lookupd list.
		if o.AuthHTTPAddresses == nil {
			return []string{}, true
		}
		return o.AuthHTTPAddresses, true
	case "auth_http_request_method":
		return o.AuthHTTPRequestMethod, true
	case "data_path":
		return o.DataPath, true
	case "mem_queue_size":
		return o.MemQueueSize, true
	case "max_bytes_per_file":
		return o.MaxBytesPerFile, true
	case "sync_every":
		return o.SyncEvery, true
	case "sync_timeout":
		return o.SyncTimeout, true
	case "queue_scan_selection_count":
		return o.QueueScanSelectionCount, true
	case "queue_scan_worker_pool_max":
		return o.QueueScanWorkerPoolMax, true
	case "msg_timeout":
		return o.MsgTimeout, true
	case "max_msg_timeout":
		return o.MaxMsgTimeout, true
	case "max_msg_size":
		return o.MaxMsgSize, true
	case "max_body_size":
		return o.MaxBodySize, true
	case "max_req_timeout":
		return o.MaxReqTimeout, true
	case "max_heartbeat_interval":
		return o.MaxHeartbeatInterval, true
	case "max_rdy_count":
		return o.MaxRdyCount, true
	case "max_output_buffer_size":
		return o.MaxOutputBufferSize, true
	case "max_output_buffer_timeout":
		return o.MaxOutputBufferTimeout, true
	case "min_output_buffer_timeout":
		return o.MinOutputBufferTimeout, true
	case "output_buffer_timeout":
		return o.OutputBufferTimeout, true
	case "max_channel_consumers":
		return o.MaxChannelConsumers, true
	case "deflate":
		return o.DeflateEnabled, true
	case "max_deflate_level":
		return o.MaxDeflateLevel, true
	case "snappy":
		return o.SnappyEnabled, true

	// TLS. tls_required is the requirement in force (a client auth policy
	// raises it to 2, as upstream shows) and both render as numbers.
	case "tls_cert":
		return o.TLSCert, true
	case "tls_key":
		return o.TLSKey, true
	case "tls_root_ca_file":
		return o.TLSRootCAFile, true
	case "tls_client_auth_policy":
		return o.TLSClientAuthPolicy, true
	case "tls_required":
		return int(n.tls.required), true
	case "tls_min_version":
		return uint16(o.TLSMinVersion), true
	case "https_address":
		return o.HTTPSAddress, true

	// Metrics. The prefix is the expanded one and the percentiles the
	// sorted ones: what the daemon actually uses, as upstream shows.
	case "statsd_address":
		return o.StatsdAddress, true
	case "statsd_prefix":
		return n.statsdPrefix, true
	case "statsd_interval":
		return o.StatsdInterval, true
	case "statsd_mem_stats":
		return o.StatsdMemStats, true
	case "statsd_udp_packet_size":
		return o.StatsdUDPPacketSize, true
	case "statsd_exclude_ephemeral":
		return o.StatsdExcludeEphemeral, true
	case "e2e_processing_latency_percentiles":
		return n.e2e.configPercentiles(), true
	case "e2e_processing_latency_window_time":
		return o.E2EProcessingLatencyWindowTime, true
	// ours (README "Prometheus metrics")
	case "metrics_exclude_ephemeral":
		return o.MetricsExcludeEphemeral, true
	case "metrics_e2e_histogram":
		return o.MetricsE2EHistogram, true
	case "http_auth":
		return o.HTTPAuth, true
	// upstream master (topology.go)
	case "enable_experiment":
		if o.EnableExperiments == nil {
			return []string{}, true
		}
		return o.EnableExperiments, true
	case "topology_region":
		return o.TopologyRegion, true
	case "topology_zone":
		return o.TopologyZone, true
	}
	return nil, false
}

// lookupdAddresses is the live nsqlookupd set; never nil, so /config
// renders [] rather than null, as upstream's default does.
func (n *NSQD) lookupdAddresses() []string {
	addrs := n.LookupdAddresses()
	if addrs == nil {
		addrs = []string{}
	}
	return addrs
}
