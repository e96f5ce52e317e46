package main

import (
	"flag"
	"fmt"
	"io"
	"strings"

	"github.com/nsqgo/nsq/internal/config"
	"github.com/nsqgo/nsq/internal/logging"
	"github.com/nsqgo/nsq/nsqd"
)

// configKeys are the four options whose config-file key is not simply the
// flag name with '-' turned into '_'.
var configKeys = map[string]string{
	"node-id":                           "id",
	"lookupd-tcp-address":               "nsqlookupd_tcp_addresses",
	"auth-http-address":                 "auth_http_addresses",
	"e2e-processing-latency-percentile": "e2e_processing_latency_percentiles",
	"config":                            "",
	"version":                           "",
	"verbose":                           "",
	"worker-id":                         "",
}

func configKey(flagName string) string {
	if key, ok := configKeys[flagName]; ok {
		return key
	}
	return config.DefaultKey(flagName)
}

// usageError marks a bad command line (exit status 2, as the flag package
// does), as opposed to a bad config file (exit status 1, as upstream).
type usageError struct{ err error }

func (e usageError) Error() string { return e.err.Error() }
func (e usageError) Unwrap() error { return e.err }

// parsed is what the command line asks for besides the options.
type parsed struct {
	opts        *nsqd.Options
	showVersion bool
}

// parseOptions turns the command line (and --config) into Options. Flag
// errors and usage are written to usageOut and returned as a usageError; the
// config file is not read when --version is given, as upstream.
func parseOptions(args []string, usageOut io.Writer) (*parsed, error) {
	opts := nsqd.NewOptions()
	fs := flag.NewFlagSet("nsqd", flag.ContinueOnError)
	fs.SetOutput(usageOut)
	result := &parsed{opts: opts}

	configPath := fs.String("config", "", "path to config file")
	fs.BoolVar(&result.showVersion, "version", false, "print version string")
	fs.Bool("verbose", false, "[deprecated] has no effect, use --log-level")
	fs.Bool("worker-id", false, "[deprecated] use --node-id")

	fs.Var(&opts.LogLevel, "log-level", "set log verbosity: debug, info, warn, error, or fatal")
	fs.StringVar(&opts.LogPrefix, "log-prefix", opts.LogPrefix, "log message prefix")
	fs.Var(&opts.LogFormat, "log-format", logging.FlagUsage)
	fs.Int64Var(&opts.ID, "node-id", opts.ID, "unique part for message IDs, (int) in range [0,1024) (default is hash of hostname)")

	fs.StringVar(&opts.TCPAddress, "tcp-address", opts.TCPAddress, "<addr>:<port> (or a unix socket path) to listen on for TCP clients")
	fs.StringVar(&opts.HTTPAddress, "http-address", opts.HTTPAddress, "<addr>:<port> (or a unix socket path) to listen on for HTTP clients")
	fs.StringVar(&opts.HTTPSAddress, "https-address", opts.HTTPSAddress, "<addr>:<port> to listen on for HTTPS clients")
	fs.StringVar(&opts.BroadcastAddress, "broadcast-address", opts.BroadcastAddress, "address that will be registered with lookupd (defaults to the OS hostname)")
	fs.IntVar(&opts.BroadcastTCPPort, "broadcast-tcp-port", opts.BroadcastTCPPort, "TCP port that will be registered with lookupd (defaults to the TCP port that this nsqd is listening on)")
	fs.IntVar(&opts.BroadcastHTTPPort, "broadcast-http-port", opts.BroadcastHTTPPort, "HTTP port that will be registered with lookupd (defaults to the HTTP port that this nsqd is listening on)")
	lookupds := (*config.StringList)(&opts.NSQLookupdTCPAddresses)
	fs.Var(lookupds, "lookupd-tcp-address", "lookupd TCP address (may be given multiple times)")
	fs.DurationVar(&opts.HTTPClientConnectTimeout, "http-client-connect-timeout", opts.HTTPClientConnectTimeout, "timeout for HTTP connect")
	fs.DurationVar(&opts.HTTPClientRequestTimeout, "http-client-request-timeout", opts.HTTPClientRequestTimeout, "timeout for HTTP request")
	authds := (*config.StringList)(&opts.AuthHTTPAddresses)
	fs.Var(authds, "auth-http-address", "<addr>:<port> or a full url to query auth server (may be given multiple times)")
	fs.StringVar(&opts.AuthHTTPRequestMethod, "auth-http-request-method", opts.AuthHTTPRequestMethod, "HTTP method to use for auth server requests: get or post")
	fs.StringVar(&opts.HTTPAuth, "http-auth", opts.HTTPAuth, "require a bearer secret, checked with the auth servers, on the HTTP API: off, publish (/pub, /mpub) or all (admin endpoints too)")

	fs.StringVar(&opts.DataPath, "data-path", opts.DataPath, "path to store disk-backed messages")
	fs.Int64Var(&opts.MemQueueSize, "mem-queue-size", opts.MemQueueSize, "number of messages to keep in memory (per topic/channel)")
	fs.Int64Var(&opts.MaxBytesPerFile, "max-bytes-per-file", opts.MaxBytesPerFile, "number of bytes per diskqueue file before rolling")
	fs.Int64Var(&opts.SyncEvery, "sync-every", opts.SyncEvery, "number of messages per diskqueue fsync")
	fs.DurationVar(&opts.SyncTimeout, "sync-timeout", opts.SyncTimeout, "duration of time per diskqueue fsync")

	fs.IntVar(&opts.QueueScanSelectionCount, "queue-scan-selection-count", opts.QueueScanSelectionCount, "number of channels to check per cycle (every 100ms) for in-flight and deferred timeouts")
	fs.IntVar(&opts.QueueScanWorkerPoolMax, "queue-scan-worker-pool-max", opts.QueueScanWorkerPoolMax, "max concurrency for checking in-flight and deferred message timeouts")

	fs.DurationVar(&opts.MsgTimeout, "msg-timeout", opts.MsgTimeout, "default duration to wait before auto-requeing a message")
	fs.DurationVar(&opts.MaxMsgTimeout, "max-msg-timeout", opts.MaxMsgTimeout, "maximum duration before a message will timeout")
	fs.Int64Var(&opts.MaxMsgSize, "max-msg-size", opts.MaxMsgSize, "maximum size of a single message in bytes")
	fs.DurationVar(&opts.MaxReqTimeout, "max-req-timeout", opts.MaxReqTimeout, "maximum requeuing timeout for a message")
	fs.Int64Var(&opts.MaxBodySize, "max-body-size", opts.MaxBodySize, "maximum size of a single command body")

	// Upstream has no flag for it (a fixed 60s); ours sets the default
	// heartbeat (half of it) and the idle limit (all of it) for clients that
	// do not negotiate one.
	fs.DurationVar(&opts.ClientTimeout, "client-timeout", opts.ClientTimeout, "idle time after which a client that negotiated no heartbeat interval is disconnected (heartbeats are sent every half of it)")
	fs.DurationVar(&opts.MaxHeartbeatInterval, "max-heartbeat-interval", opts.MaxHeartbeatInterval, "maximum client configurable duration of time between client heartbeats")
	fs.Int64Var(&opts.MaxRdyCount, "max-rdy-count", opts.MaxRdyCount, "maximum RDY count for a client")
	fs.Int64Var(&opts.MaxOutputBufferSize, "max-output-buffer-size", opts.MaxOutputBufferSize, "maximum client configurable size (in bytes) for a client output buffer")
	fs.DurationVar(&opts.MaxOutputBufferTimeout, "max-output-buffer-timeout", opts.MaxOutputBufferTimeout, "maximum client configurable duration of time between flushing to a client")
	fs.DurationVar(&opts.MinOutputBufferTimeout, "min-output-buffer-timeout", opts.MinOutputBufferTimeout, "minimum client configurable duration of time between flushing to a client")
	fs.DurationVar(&opts.OutputBufferTimeout, "output-buffer-timeout", opts.OutputBufferTimeout, "default duration of time between flushing data to clients")
	fs.IntVar(&opts.MaxChannelConsumers, "max-channel-consumers", opts.MaxChannelConsumers, "maximum channel consumer connection count per nsqd instance (default 0, i.e., unlimited)")

	fs.BoolVar(&opts.DeflateEnabled, "deflate", opts.DeflateEnabled, "enable deflate feature negotiation (client compression)")
	fs.IntVar(&opts.MaxDeflateLevel, "max-deflate-level", opts.MaxDeflateLevel, "max deflate compression level a client can negotiate (> values == > nsqd CPU usage)")
	fs.BoolVar(&opts.SnappyEnabled, "snappy", opts.SnappyEnabled, "enable snappy feature negotiation (client compression)")

	// TLS; a bare --tls-required means true. --tls-min-version defaults to
	// tls1.2 here, where upstream still accepts tls1.0.
	fs.StringVar(&opts.TLSCert, "tls-cert", opts.TLSCert, "path to certificate file")
	fs.StringVar(&opts.TLSKey, "tls-key", opts.TLSKey, "path to key file")
	fs.StringVar(&opts.TLSClientAuthPolicy, "tls-client-auth-policy", opts.TLSClientAuthPolicy, "client certificate auth policy ('require' or 'require-verify')")
	fs.StringVar(&opts.TLSRootCAFile, "tls-root-ca-file", opts.TLSRootCAFile, "path to certificate authority file")
	fs.Var(&opts.TLSRequired, "tls-required", "require TLS for client connections (true, false, tcp-https)")
	fs.Var(&opts.TLSMinVersion, "tls-min-version", "minimum SSL/TLS version acceptable ('tls1.0', 'tls1.1', 'tls1.2' or 'tls1.3')")

	// metrics: statsd pushes and end-to-end latency percentiles
	fs.StringVar(&opts.StatsdAddress, "statsd-address", opts.StatsdAddress, "UDP <addr>:<port> of a statsd daemon for pushing stats")
	fs.StringVar(&opts.StatsdPrefix, "statsd-prefix", opts.StatsdPrefix, "prefix used for keys sent to statsd (%s for host replacement)")
	fs.DurationVar(&opts.StatsdInterval, "statsd-interval", opts.StatsdInterval, "duration between pushing to statsd")
	fs.BoolVar(&opts.StatsdMemStats, "statsd-mem-stats", opts.StatsdMemStats, "toggle sending memory and GC stats to statsd")
	fs.IntVar(&opts.StatsdUDPPacketSize, "statsd-udp-packet-size", opts.StatsdUDPPacketSize, "the size in bytes of statsd UDP packets")
	fs.BoolVar(&opts.StatsdExcludeEphemeral, "statsd-exclude-ephemeral", opts.StatsdExcludeEphemeral, "Skip ephemeral topics and channels when sending stats to statsd")
	percentiles := (*config.FloatList)(&opts.E2EProcessingLatencyPercentiles)
	fs.Var(percentiles, "e2e-processing-latency-percentile", "message processing time percentiles (as float (0, 1.0]) to track (can be specified multiple times or comma separated '1.0,0.99,0.95', default none)")
	fs.DurationVar(&opts.E2EProcessingLatencyWindowTime, "e2e-processing-latency-window-time", opts.E2EProcessingLatencyWindowTime, "calculate end to end latency quantiles for this duration of time (ie: 60s would only show quantile calculations from the past 60 seconds)")

	// ours: Prometheus /metrics (nsqd/metrics.go)
	fs.BoolVar(&opts.MetricsExcludeEphemeral, "metrics-exclude-ephemeral", opts.MetricsExcludeEphemeral, "leave ephemeral topics and channels out of /metrics")
	fs.BoolVar(&opts.MetricsE2EHistogram, "metrics-e2e-histogram", opts.MetricsE2EHistogram, "record each FIN's publish-to-FIN latency in the /metrics histogram")

	// upstream master (post-1.3): experiments and topology-aware delivery (nsqd/topology.go)
	fs.Var((*config.StringList)(&opts.EnableExperiments), "enable-experiment", "enable an experimental feature (may be given multiple times): topology-aware-consumption")
	fs.StringVar(&opts.TopologyRegion, "topology-region", opts.TopologyRegion, "this node's region, for topology-aware consumption")
	fs.StringVar(&opts.TopologyZone, "topology-zone", opts.TopologyZone, "this node's zone, for topology-aware consumption")

	if err := fs.Parse(args); err != nil {
		return nil, usageError{err}
	}
	if fs.NArg() > 0 {
		err := fmt.Errorf("unknown arguments: %s", strings.Join(fs.Args(), " "))
		fmt.Fprintln(usageOut, err)
		fs.Usage()
		return nil, usageError{err}
	}
	if *configPath != "" && !result.showVersion {
		if err := config.Load(fs, *configPath, configKey); err != nil {
			return nil, err
		}
	}
	return result, nil
}
