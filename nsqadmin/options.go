package nsqadmin

import (
	"io"
	"os"
	"time"

	"github.com/nsqgo/nsq/internal/logging"
)

// Options holds every setting. NewOptions gives upstream nsqadmin 1.3's
// defaults, and ours for what upstream lacks; apps/nsqadmin only parses
// flags and the config file into it.
type Options struct {
	LogLevel  logging.Level
	LogPrefix string
	LogFormat logging.Format // text (upstream's) or json lines
	Logger    io.Writer      // where logs go; os.Stderr when nil

	HTTPAddress string
	BasePath    string
	// DevStaticDir is accepted for upstream's command line; the pages are
	// always the embedded ones.
	DevStaticDir string

	GraphiteURL   string
	ProxyGraphite bool

	StatsdPrefix        string
	StatsdCounterFormat string
	StatsdGaugeFormat   string
	StatsdInterval      time.Duration

	NSQLookupdHTTPAddresses []string
	NSQDHTTPAddresses       []string

	HTTPClientConnectTimeout time.Duration
	HTTPClientRequestTimeout time.Duration

	HTTPClientTLSInsecureSkipVerify bool
	HTTPClientTLSRootCAFile         string
	HTTPClientTLSCert               string
	HTTPClientTLSKey                string

	AllowConfigFromCIDR string

	NotificationHTTPEndpoint string

	ACLHTTPHeader string
	AdminUsers    []string

	// Ours.

	// HistoryInterval is how often every known nsqd's /stats is polled
	// for /api/history; HistoryRetention how long points are kept.
	HistoryInterval  time.Duration
	HistoryRetention time.Duration
	// HistoryMaxSeries caps how many topics plus channels have a history,
	// so memory stays bounded whatever the cluster holds.
	HistoryMaxSeries int

	// AuthHTTPAddresses are the auth servers nsqd's --auth-http-address
	// names; when set, actions need a secret the auth server accepts.
	AuthHTTPAddresses     []string
	AuthHTTPRequestMethod string
}

// NewOptions returns upstream nsqadmin 1.3's defaults.
func NewOptions() *Options {
	return &Options{
		LogLevel:  logging.Info,
		LogPrefix: "[nsqadmin] ",
		Logger:    os.Stderr,

		HTTPAddress: "0.0.0.0:4171",
		BasePath:    "/",

		StatsdPrefix:        "nsq.%s",
		StatsdCounterFormat: "stats.counters.%s.count",
		StatsdGaugeFormat:   "stats.gauges.%s",
		StatsdInterval:      60 * time.Second,

		HTTPClientConnectTimeout: 2 * time.Second,
		HTTPClientRequestTimeout: 5 * time.Second,

		AllowConfigFromCIDR: "127.0.0.1/8",
		ACLHTTPHeader:       "X-Forwarded-User",

		HistoryInterval:  10 * time.Second,
		HistoryRetention: time.Hour,
		HistoryMaxSeries: 2000,

		AuthHTTPRequestMethod: "get",
	}
}

// clone copies o, lists included, so a runtime change (PUT /config) never
// touches what a request in flight reads.
func (o *Options) clone() *Options {
	c := *o
	c.NSQLookupdHTTPAddresses = append([]string(nil), o.NSQLookupdHTTPAddresses...)
	c.NSQDHTTPAddresses = append([]string(nil), o.NSQDHTTPAddresses...)
	c.AdminUsers = append([]string(nil), o.AdminUsers...)
	c.AuthHTTPAddresses = append([]string(nil), o.AuthHTTPAddresses...)
	return &c
}
