package nsqd

import (
	"crypto/md5"
	"crypto/tls"
	"github.com/nsqgo/nsq/internal/clock"
	"hash/crc32"
	"io"
	"os"
	"time"

	"github.com/nsqgo/nsq/internal/logging"
)

// Options holds every setting of the daemon. NewOptions gives upstream's
// defaults; Declarations (options_declared.go) gives each settable field's
// flag, config key and help, from which apps/nsqd parses flags and the
// config file into it and GET /config answers.
type Options struct {
	ID        int64
	LogLevel  logging.Level
	LogPrefix string
	LogFormat logging.Format // text (upstream's) or json lines
	Logger    io.Writer      // where logs go; os.Stderr by default
	// Clock is where the daemon's time comes from (internal/clock); the
	// wall clock when nil. Tests give a clock.Fake and advance it.
	Clock clock.Clock

	TCPAddress               string
	HTTPAddress              string
	BroadcastAddress         string
	BroadcastTCPPort         int
	BroadcastHTTPPort        int
	NSQLookupdTCPAddresses   []string
	HTTPClientConnectTimeout time.Duration
	HTTPClientRequestTimeout time.Duration

	// Authorization (auth*.go): servers asked about AUTH secrets, each
	// host:port (→ http://host:port/auth) or a full URL; none turns auth
	// off. The method is "get" or "post" (upstream after 1.3).
	AuthHTTPAddresses     []string
	AuthHTTPRequestMethod string
	// HTTPAuth (ours, http_auth.go): "off" (default), "publish" (/pub and
	// /mpub need a bearer secret) or "all" (admin endpoints too).
	HTTPAuth string

	DataPath        string
	MemQueueSize    int64
	MaxBytesPerFile int64
	SyncEvery       int64
	SyncTimeout     time.Duration

	QueueScanInterval        time.Duration
	QueueScanRefreshInterval time.Duration
	QueueScanSelectionCount  int
	QueueScanWorkerPoolMax   int

	MsgTimeout    time.Duration
	MaxMsgTimeout time.Duration
	MaxMsgSize    int64
	MaxBodySize   int64
	MaxReqTimeout time.Duration
	ClientTimeout time.Duration

	MaxHeartbeatInterval   time.Duration
	MaxRdyCount            int64
	MaxOutputBufferSize    int64
	MaxOutputBufferTimeout time.Duration
	MinOutputBufferTimeout time.Duration
	OutputBufferTimeout    time.Duration
	MaxChannelConsumers    int

	// Compression clients may negotiate in IDENTIFY (nsqd/connlayer).
	DeflateEnabled  bool
	MaxDeflateLevel int
	SnappyEnabled   bool

	// TLS (nsqd/connlayer, tls_options.go): with a certificate and key, IDENTIFY offers the
	// tls_v1 upgrade and HTTPSAddress serves the API over HTTPS. A client
	// auth policy ("require" or "require-verify", checked against
	// TLSRootCAFile) makes TLS required. TLSMinVersion defaults to TLS 1.2
	// where upstream still accepts 1.0.
	TLSCert             string
	TLSKey              string
	TLSRootCAFile       string
	TLSClientAuthPolicy string
	TLSRequired         TLSRequirement
	TLSMinVersion       TLSVersion
	HTTPSAddress        string

	// Metrics: statsd pushes (nsqd/metrics/statsd; an empty address turns them off)
	// and end-to-end latency percentiles (nsqd/metrics/e2e; none means untracked).
	// StatsdPrefix is expanded at New (%s → host key) without changing
	// this struct.
	StatsdAddress                   string
	StatsdPrefix                    string
	StatsdInterval                  time.Duration
	StatsdMemStats                  bool
	StatsdUDPPacketSize             int
	StatsdExcludeEphemeral          bool
	E2EProcessingLatencyPercentiles []float64
	E2EProcessingLatencyWindowTime  time.Duration

	// Prometheus /metrics (nsqd/metrics/prometheus): leave ephemeral
	// topics and channels out; record the publish-to-FIN histogram (one
	// clock read and two atomic adds per FIN).
	MetricsExcludeEphemeral bool
	MetricsE2EHistogram     bool

	// Upstream master's experiments (topology.go): names are accepted
	// whether known or not, as upstream. The topology values are reported
	// even with the experiment off.
	EnableExperiments []string
	TopologyRegion    string
	TopologyZone      string

	// Queue policy defaults (ours, issue 12; options_policy.go): every one
	// off at its zero value, which is upstream's behaviour. Topics and
	// channels may override them over HTTP (/topic/config, /channel/config).
	MaxAttempts     int           // deliveries before a message is dead; 0: unlimited
	MsgTTL          time.Duration // age (from publish) past which a message is never delivered; 0: none
	MaxChannelDepth int64         // messages a channel may hold (memory + disk); 0: unbounded
	MaxChannelBytes int64         // body bytes a channel may hold (memory + disk); 0: unbounded
	Overflow        string        // what a full queue does: reject-new or drop-oldest
	MaxDeadDepth    int64         // dead messages a channel keeps; 0: unbounded

	// HugePages (ours, hugepages.go): ask the kernel for 2 MB pages for the
	// heap memory that holds queued messages, where THP is "madvise".
	HugePages bool

	// FanoutLog (ours, fanout_log.go): a topic writes a batch its channels
	// would each spill to disk once, to a topic log each reads through a
	// cursor of its own. On by default (--fanout-log=false turns it off).
	FanoutLog bool
}

// NewOptions returns upstream nsqd 1.3's defaults.
func NewOptions() *Options {
	hostname, err := os.Hostname()
	if err != nil {
		hostname = "localhost"
	}
	return &Options{
		ID:        DefaultNodeID(hostname),
		LogLevel:  logging.Info,
		LogPrefix: "[nsqd] ",
		Logger:    os.Stderr,

		TCPAddress:               "0.0.0.0:4150",
		HTTPAddress:              "0.0.0.0:4151",
		BroadcastAddress:         hostname,
		HTTPClientConnectTimeout: 2 * time.Second,
		HTTPClientRequestTimeout: 5 * time.Second,
		AuthHTTPRequestMethod:    authMethodGet,
		HTTPAuth:                 httpAuthOff,

		MemQueueSize:    10000,
		MaxBytesPerFile: 100 * 1024 * 1024,
		SyncEvery:       2500,
		SyncTimeout:     2 * time.Second,

		QueueScanInterval:        100 * time.Millisecond,
		QueueScanRefreshInterval: 5 * time.Second,
		QueueScanSelectionCount:  20,
		QueueScanWorkerPoolMax:   4,

		MsgTimeout:    60 * time.Second,
		MaxMsgTimeout: 15 * time.Minute,
		MaxMsgSize:    1024 * 1024,
		MaxBodySize:   5 * 1024 * 1024,
		MaxReqTimeout: time.Hour,
		ClientTimeout: 60 * time.Second,

		MaxHeartbeatInterval:   60 * time.Second,
		MaxRdyCount:            2500,
		MaxOutputBufferSize:    64 * 1024,
		MaxOutputBufferTimeout: 30 * time.Second,
		MinOutputBufferTimeout: 25 * time.Millisecond,
		OutputBufferTimeout:    250 * time.Millisecond,

		DeflateEnabled:  true,
		MaxDeflateLevel: 6,
		SnappyEnabled:   true,

		TLSMinVersion: tls.VersionTLS12,
		HTTPSAddress:  "0.0.0.0:4152",

		// Metrics: statsd off until an address is given; no percentiles.
		StatsdPrefix:                   "nsq.%s",
		StatsdInterval:                 60 * time.Second,
		StatsdMemStats:                 true,
		StatsdUDPPacketSize:            508,
		E2EProcessingLatencyWindowTime: 10 * time.Minute,
		MetricsE2EHistogram:            true,

		// Queue policy: all off; the dead set's bound only matters once
		// something sends messages there.
		Overflow:     defaultOverflow,
		MaxDeadDepth: defaultMaxDeadDepth,

		HugePages: false,
		FanoutLog: true,
	}
}

// DefaultNodeID is upstream's default --node-id: CRC-32 of the MD5 of the
// hostname, mod 1024.
func DefaultNodeID(hostname string) int64 {
	sum := md5.Sum([]byte(hostname))
	return int64(crc32.ChecksumIEEE(sum[:]) % 1024)
}
