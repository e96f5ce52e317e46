package nsqadmin

import (
	"github.com/nsqgo/nsq/internal/config"
	"github.com/nsqgo/nsq/internal/logging"
)

// Declarations lists every option a user can set, bound to o's fields:
// upstream nsqadmin 1.3's, with its names, defaults and help, then ours.
// apps/nsqadmin registers the flags from it, the config file is loaded by
// its keys and GET /config/:opt (config.go) answers from it. Logger has no
// flag.
func (o *Options) Declarations() []config.Option {
	return []config.Option{
		{Flag: "log-level", Field: &o.LogLevel, Help: "set log verbosity: debug, info, warn, error, or fatal"},
		{Flag: "log-prefix", Field: &o.LogPrefix, Help: "log message prefix"},
		{Flag: "log-format", Field: &o.LogFormat, Help: logging.FlagUsage, Unlisted: true},

		{Flag: "http-address", Field: &o.HTTPAddress, Help: "<addr>:<port> to listen on for HTTP clients"},
		{Flag: "base-path", Field: &o.BasePath, Help: "URL base path"},
		{Flag: "dev-static-dir", Field: &o.DevStaticDir, Help: "(development use only; accepted for compatibility, the embedded pages are always served)"},

		{Flag: "graphite-url", Field: &o.GraphiteURL, Help: "graphite HTTP address"},
		{Flag: "proxy-graphite", Field: &o.ProxyGraphite, Help: "proxy HTTP requests to graphite"},

		{Flag: "statsd-counter-format", Field: &o.StatsdCounterFormat, Help: "The counter stats key formatting applied by the implementation of statsd. If no formatting is desired, set this to an empty string."},
		{Flag: "statsd-gauge-format", Field: &o.StatsdGaugeFormat, Help: "The gauge stats key formatting applied by the implementation of statsd. If no formatting is desired, set this to an empty string."},
		{Flag: "statsd-prefix", Field: &o.StatsdPrefix, Help: "prefix used for keys sent to statsd (%s for host replacement, must match nsqd)"},
		{Flag: "statsd-interval", Field: &o.StatsdInterval, Help: "time interval nsqd is configured to push to statsd (must match nsqd)"},

		{Flag: "notification-http-endpoint", Field: &o.NotificationHTTPEndpoint, Help: "HTTP endpoint (fully qualified) to which POST notifications of admin actions will be sent"},

		{Flag: "http-client-connect-timeout", Field: &o.HTTPClientConnectTimeout, Help: "timeout for HTTP connect"},
		{Flag: "http-client-request-timeout", Field: &o.HTTPClientRequestTimeout, Help: "timeout for HTTP request"},

		{Flag: "http-client-tls-insecure-skip-verify", Field: &o.HTTPClientTLSInsecureSkipVerify, Help: "configure the HTTP client to skip verification of TLS certificates"},
		{Flag: "http-client-tls-root-ca-file", Field: &o.HTTPClientTLSRootCAFile, Help: "path to CA file for the HTTP client"},
		{Flag: "http-client-tls-cert", Field: &o.HTTPClientTLSCert, Help: "path to certificate file for the HTTP client"},
		{Flag: "http-client-tls-key", Field: &o.HTTPClientTLSKey, Help: "path to key file for the HTTP client"},

		{Flag: "allow-config-from-cidr", Field: &o.AllowConfigFromCIDR, Help: "A CIDR from which to allow HTTP requests to the /config endpoint"},
		{Flag: "acl-http-header", Field: &o.ACLHTTPHeader, Help: "HTTP header to check for authenticated admin users"},

		{Flag: "lookupd-http-address", Key: "nsqlookupd_http_addresses", Field: &o.NSQLookupdHTTPAddresses, Help: "lookupd HTTP address (may be given multiple times)"},
		{Flag: "nsqd-http-address", Key: "nsqd_http_addresses", Field: &o.NSQDHTTPAddresses, Help: "nsqd HTTP address (may be given multiple times)"},
		{Flag: "admin-user", Key: "admin_users", Field: &o.AdminUsers, Help: "admin user (may be given multiple times; if specified, only these users will be able to perform privileged actions; acl-http-header is used to determine the authenticated user)"},

		// Ours.
		{Flag: "history-interval", Field: &o.HistoryInterval, Help: "how often to poll every nsqd's /stats for the built-in graphs (/api/history)"},
		{Flag: "history-retention", Field: &o.HistoryRetention, Help: "how long the built-in graphs' points are kept in memory"},
		{Flag: "history-max-series", Field: &o.HistoryMaxSeries, Help: "at most this many topics plus channels have built-in graphs (bounds memory: about 23 KB each at the default interval and retention)"},
		{Flag: "auth-http-address", Key: "auth_http_addresses", Field: &o.AuthHTTPAddresses, Help: "<addr>:<port> or a full URL of an auth server (the one nsqd's --auth-http-address names; may be given multiple times); when set, actions need a secret it accepts"},
		{Flag: "auth-http-request-method", Field: &o.AuthHTTPRequestMethod, Help: "HTTP method to query the auth server with: get or post"},
	}
}
