package nsqd

import (
	"github.com/nsqgo/nsq/internal/config"
	"github.com/nsqgo/nsq/internal/logging"
)

// Declarations lists every option a user can set, bound to o's fields:
// apps/nsqd registers the flags from it, the config file is loaded by its
// keys and GET /config/:opt (options_live.go) answers from it.
// Fields absent here (Logger, Clock, QueueScanInterval, QueueScanRefreshInterval)
// have no flag, as upstream.
func (o *Options) Declarations() []config.Option {
	return []config.Option{
		{Flag: "log-level", Field: &o.LogLevel, Help: "set log verbosity: debug, info, warn, error, or fatal"},
		{Flag: "log-prefix", Field: &o.LogPrefix, Help: "log message prefix"},
		{Flag: "log-format", Field: &o.LogFormat, Help: logging.FlagUsage, Unlisted: true},
		{Flag: "node-id", Key: "id", Field: &o.ID, Help: "unique part for message IDs, (int) in range [0,1024) (default is hash of hostname)"},

		{Flag: "tcp-address", Field: &o.TCPAddress, Help: "<addr>:<port> (or a unix socket path) to listen on for TCP clients"},
		{Flag: "http-address", Field: &o.HTTPAddress, Help: "<addr>:<port> (or a unix socket path) to listen on for HTTP clients"},
		{Flag: "https-address", Field: &o.HTTPSAddress, Help: "<addr>:<port> to listen on for HTTPS clients"},
		{Flag: "broadcast-address", Field: &o.BroadcastAddress, Help: "address that will be registered with lookupd (defaults to the OS hostname)"},
		{Flag: "broadcast-tcp-port", Field: &o.BroadcastTCPPort, Help: "TCP port that will be registered with lookupd (defaults to the TCP port that this nsqd is listening on)"},
		{Flag: "broadcast-http-port", Field: &o.BroadcastHTTPPort, Help: "HTTP port that will be registered with lookupd (defaults to the HTTP port that this nsqd is listening on)"},
		{Flag: "lookupd-tcp-address", Key: "nsqlookupd_tcp_addresses", Field: &o.NSQLookupdTCPAddresses, Help: "lookupd TCP address (may be given multiple times)"},
		{Flag: "http-client-connect-timeout", Field: &o.HTTPClientConnectTimeout, Help: "timeout for HTTP connect"},
		{Flag: "http-client-request-timeout", Field: &o.HTTPClientRequestTimeout, Help: "timeout for HTTP request"},
		{Flag: "auth-http-address", Key: "auth_http_addresses", Field: &o.AuthHTTPAddresses, Help: "<addr>:<port> or a full url to query auth server (may be given multiple times)"},
		{Flag: "auth-http-request-method", Field: &o.AuthHTTPRequestMethod, Help: "HTTP method to use for auth server requests: get or post"},
		{Flag: "http-auth", Field: &o.HTTPAuth, Help: "require a bearer secret, checked with the auth servers, on the HTTP API: off, publish (/pub, /mpub) or all (admin endpoints too)"},

		{Flag: "data-path", Field: &o.DataPath, Help: "path to store disk-backed messages"},
		{Flag: "mem-queue-size", Field: &o.MemQueueSize, Help: "number of messages to keep in memory (per topic/channel)"},
		{Flag: "max-bytes-per-file", Field: &o.MaxBytesPerFile, Help: "number of bytes per diskqueue file before rolling"},
		{Flag: "sync-every", Field: &o.SyncEvery, Help: "number of messages per diskqueue fsync"},
		{Flag: "sync-timeout", Field: &o.SyncTimeout, Help: "duration of time per diskqueue fsync"},

		{Flag: "queue-scan-selection-count", Field: &o.QueueScanSelectionCount, Help: "number of channels to check per cycle (every 100ms) for in-flight and deferred timeouts"},
		{Flag: "queue-scan-worker-pool-max", Field: &o.QueueScanWorkerPoolMax, Help: "max concurrency for checking in-flight and deferred message timeouts"},

		{Flag: "msg-timeout", Field: &o.MsgTimeout, Help: "default duration to wait before auto-requeing a message"},
		{Flag: "max-msg-timeout", Field: &o.MaxMsgTimeout, Help: "maximum duration before a message will timeout"},
		{Flag: "max-msg-size", Field: &o.MaxMsgSize, Help: "maximum size of a single message in bytes"},
		{Flag: "max-req-timeout", Field: &o.MaxReqTimeout, Help: "maximum requeuing timeout for a message"},
		{Flag: "max-body-size", Field: &o.MaxBodySize, Help: "maximum size of a single command body"},

		// Upstream has no flag for it (a fixed 60s); ours sets the default
		// heartbeat (half of it) and the idle limit (all of it) for clients
		// that do not negotiate one.
		{Flag: "client-timeout", Field: &o.ClientTimeout, Unlisted: true, Help: "idle time after which a client that negotiated no heartbeat interval is disconnected (heartbeats are sent every half of it)"},
		{Flag: "max-heartbeat-interval", Field: &o.MaxHeartbeatInterval, Help: "maximum client configurable duration of time between client heartbeats"},
		{Flag: "max-rdy-count", Field: &o.MaxRdyCount, Help: "maximum RDY count for a client"},
		{Flag: "max-output-buffer-size", Field: &o.MaxOutputBufferSize, Help: "maximum client configurable size (in bytes) for a client output buffer"},
		{Flag: "max-output-buffer-timeout", Field: &o.MaxOutputBufferTimeout, Help: "maximum client configurable duration of time between flushing to a client"},
		{Flag: "min-output-buffer-timeout", Field: &o.MinOutputBufferTimeout, Help: "minimum client configurable duration of time between flushing to a client"},
		{Flag: "output-buffer-timeout", Field: &o.OutputBufferTimeout, Help: "default duration of time between flushing data to clients"},
		{Flag: "max-channel-consumers", Field: &o.MaxChannelConsumers, Help: "maximum channel consumer connection count per nsqd instance (default 0, i.e., unlimited)"},

		{Flag: "deflate", Field: &o.DeflateEnabled, Help: "enable deflate feature negotiation (client compression)"},
		{Flag: "max-deflate-level", Field: &o.MaxDeflateLevel, Help: "max deflate compression level a client can negotiate (> values == > nsqd CPU usage)"},
		{Flag: "snappy", Field: &o.SnappyEnabled, Help: "enable snappy feature negotiation (client compression)"},

		// TLS; a bare --tls-required means true. --tls-min-version
		// defaults to tls1.2 here, where upstream still accepts tls1.0.
		{Flag: "tls-cert", Field: &o.TLSCert, Help: "path to certificate file"},
		{Flag: "tls-key", Field: &o.TLSKey, Help: "path to key file"},
		{Flag: "tls-client-auth-policy", Field: &o.TLSClientAuthPolicy, Help: "client certificate auth policy ('require' or 'require-verify')"},
		{Flag: "tls-root-ca-file", Field: &o.TLSRootCAFile, Help: "path to certificate authority file"},
		{Flag: "tls-required", Field: &o.TLSRequired, Help: "require TLS for client connections (true, false, tcp-https)"},
		{Flag: "tls-min-version", Field: &o.TLSMinVersion, Help: "minimum SSL/TLS version acceptable ('tls1.0', 'tls1.1', 'tls1.2' or 'tls1.3')"},

		// metrics: statsd pushes and end-to-end latency percentiles
		{Flag: "statsd-address", Field: &o.StatsdAddress, Help: "UDP <addr>:<port> of a statsd daemon for pushing stats"},
		{Flag: "statsd-prefix", Field: &o.StatsdPrefix, Help: "prefix used for keys sent to statsd (%s for host replacement)"},
		{Flag: "statsd-interval", Field: &o.StatsdInterval, Help: "duration between pushing to statsd"},
		{Flag: "statsd-mem-stats", Field: &o.StatsdMemStats, Help: "toggle sending memory and GC stats to statsd"},
		{Flag: "statsd-udp-packet-size", Field: &o.StatsdUDPPacketSize, Help: "the size in bytes of statsd UDP packets"},
		{Flag: "statsd-exclude-ephemeral", Field: &o.StatsdExcludeEphemeral, Help: "Skip ephemeral topics and channels when sending stats to statsd"},
		{Flag: "e2e-processing-latency-percentile", Key: "e2e_processing_latency_percentiles", Field: &o.E2EProcessingLatencyPercentiles, Help: "message processing time percentiles (as float (0, 1.0]) to track (can be specified multiple times or comma separated '1.0,0.99,0.95', default none)"},
		{Flag: "e2e-processing-latency-window-time", Field: &o.E2EProcessingLatencyWindowTime, Help: "calculate end to end latency quantiles for this duration of time (ie: 60s would only show quantile calculations from the past 60 seconds)"},

		// ours: Prometheus /metrics (nsqd/metrics/prometheus)
		{Flag: "metrics-exclude-ephemeral", Field: &o.MetricsExcludeEphemeral, Help: "leave ephemeral topics and channels out of /metrics"},
		{Flag: "metrics-e2e-histogram", Field: &o.MetricsE2EHistogram, Help: "record each FIN's publish-to-FIN latency in the /metrics histogram"},

		// upstream master (post-1.3): experiments and topology-aware
		// delivery (topology.go)
		{Flag: "enable-experiment", Field: &o.EnableExperiments, Help: "enable an experimental feature (may be given multiple times): topology-aware-consumption"},
		{Flag: "topology-region", Field: &o.TopologyRegion, Help: "this node's region, for topology-aware consumption"},
		{Flag: "topology-zone", Field: &o.TopologyZone, Help: "this node's zone, for topology-aware consumption"},

		// ours: queue policy defaults (options_policy.go); topics and
		// channels override them with POST /topic/config, /channel/config
		{Flag: "max-attempts", Field: &o.MaxAttempts, Help: "deliveries a message gets before it goes to its channel's dead set (0 = unlimited, as upstream)"},
		{Flag: "msg-ttl", Field: &o.MsgTTL, Help: "age, from its publish time, after which a message is no longer delivered (0 = none, as upstream)"},
		{Flag: "max-channel-depth", Field: &o.MaxChannelDepth, Help: "messages a channel may hold, memory and disk together (0 = unbounded, as upstream)"},
		{Flag: "max-channel-bytes", Field: &o.MaxChannelBytes, Help: "message body bytes a channel may hold, memory and disk together (0 = unbounded, as upstream)"},
		{Flag: "overflow", Field: &o.Overflow, Help: "what a full channel or topic does with a new message: reject-new (the publish fails) or drop-oldest (the oldest goes to the dead set)"},
		{Flag: "max-dead-depth", Field: &o.MaxDeadDepth, Help: "dead messages a channel keeps; beyond it the oldest is dropped and counted (0 = unbounded)"},

		// ours: transparent huge pages for queued messages' memory (hugepages.go)
		{Flag: "huge-pages", Field: &o.HugePages, Help: "ask the kernel for 2 MB pages for the memory of queued messages once the heap passes 64 MB (only acts where transparent huge pages are 'madvise'; off by default: see README, Huge pages)"},

		// ours: the topic log for fan-outs past the channels' memory (fanout_log.go)
		{Flag: "fanout-log", Field: &o.FanoutLog, Help: "write a batch that several channels would each write to disk once, to a topic log each channel reads through its own cursor"},
	}
}
