package main

import (
	"flag"
	"fmt"
	"io"

	"github.com/nsqgo/nsq/internal/config"
	"github.com/nsqgo/nsq/internal/logging"
	"github.com/nsqgo/nsq/nsqadmin"
)

// usageError marks a bad command line (exit status 2, like the flag
// package), as opposed to a bad config file (exit status 1).
type usageError struct{ err error }

func (e usageError) Error() string { return e.err.Error() }
func (e usageError) Unwrap() error { return e.err }

// newFlagSet declares every flag: upstream nsqadmin 1.3's, with its names,
// defaults and help, then ours.
func newFlagSet(opts *nsqadmin.Options, usage io.Writer) (fs *flag.FlagSet, configPath *string, showVersion *bool) {
	fs = flag.NewFlagSet("nsqadmin", flag.ContinueOnError)
	fs.SetOutput(usage)
	configPath = fs.String("config", "", "path to config file")
	showVersion = fs.Bool("version", false, "print version string")

	fs.Var(&opts.LogLevel, "log-level", "set log verbosity: debug, info, warn, error, or fatal")
	fs.StringVar(&opts.LogPrefix, "log-prefix", opts.LogPrefix, "log message prefix")
	fs.Var(&opts.LogFormat, "log-format", logging.FlagUsage)
	fs.Bool("verbose", false, "[deprecated] has no effect, use --log-level")

	fs.StringVar(&opts.HTTPAddress, "http-address", opts.HTTPAddress, "<addr>:<port> to listen on for HTTP clients")
	fs.StringVar(&opts.BasePath, "base-path", opts.BasePath, "URL base path")
	fs.StringVar(&opts.DevStaticDir, "dev-static-dir", opts.DevStaticDir, "(development use only; accepted for compatibility, the embedded pages are always served)")

	fs.StringVar(&opts.GraphiteURL, "graphite-url", opts.GraphiteURL, "graphite HTTP address")
	fs.BoolVar(&opts.ProxyGraphite, "proxy-graphite", opts.ProxyGraphite, "proxy HTTP requests to graphite")

	fs.StringVar(&opts.StatsdCounterFormat, "statsd-counter-format", opts.StatsdCounterFormat,
		"The counter stats key formatting applied by the implementation of statsd. If no formatting is desired, set this to an empty string.")
	fs.StringVar(&opts.StatsdGaugeFormat, "statsd-gauge-format", opts.StatsdGaugeFormat,
		"The gauge stats key formatting applied by the implementation of statsd. If no formatting is desired, set this to an empty string.")
	fs.StringVar(&opts.StatsdPrefix, "statsd-prefix", opts.StatsdPrefix,
		"prefix used for keys sent to statsd (%s for host replacement, must match nsqd)")
	fs.DurationVar(&opts.StatsdInterval, "statsd-interval", opts.StatsdInterval,
		"time interval nsqd is configured to push to statsd (must match nsqd)")

	fs.StringVar(&opts.NotificationHTTPEndpoint, "notification-http-endpoint", opts.NotificationHTTPEndpoint,
		"HTTP endpoint (fully qualified) to which POST notifications of admin actions will be sent")

	fs.DurationVar(&opts.HTTPClientConnectTimeout, "http-client-connect-timeout", opts.HTTPClientConnectTimeout, "timeout for HTTP connect")
	fs.DurationVar(&opts.HTTPClientRequestTimeout, "http-client-request-timeout", opts.HTTPClientRequestTimeout, "timeout for HTTP request")

	fs.BoolVar(&opts.HTTPClientTLSInsecureSkipVerify, "http-client-tls-insecure-skip-verify", opts.HTTPClientTLSInsecureSkipVerify,
		"configure the HTTP client to skip verification of TLS certificates")
	fs.StringVar(&opts.HTTPClientTLSRootCAFile, "http-client-tls-root-ca-file", opts.HTTPClientTLSRootCAFile, "path to CA file for the HTTP client")
	fs.StringVar(&opts.HTTPClientTLSCert, "http-client-tls-cert", opts.HTTPClientTLSCert, "path to certificate file for the HTTP client")
	fs.StringVar(&opts.HTTPClientTLSKey, "http-client-tls-key", opts.HTTPClientTLSKey, "path to key file for the HTTP client")

	fs.StringVar(&opts.AllowConfigFromCIDR, "allow-config-from-cidr", opts.AllowConfigFromCIDR,
		"A CIDR from which to allow HTTP requests to the /config endpoint")
	fs.StringVar(&opts.ACLHTTPHeader, "acl-http-header", opts.ACLHTTPHeader, "HTTP header to check for authenticated admin users")

	fs.Var((*config.StringList)(&opts.NSQLookupdHTTPAddresses), "lookupd-http-address", "lookupd HTTP address (may be given multiple times)")
	fs.Var((*config.StringList)(&opts.NSQDHTTPAddresses), "nsqd-http-address", "nsqd HTTP address (may be given multiple times)")
	fs.Var((*config.StringList)(&opts.AdminUsers), "admin-user",
		"admin user (may be given multiple times; if specified, only these users will be able to perform privileged actions; acl-http-header is used to determine the authenticated user)")

	// Ours.
	fs.DurationVar(&opts.HistoryInterval, "history-interval", opts.HistoryInterval,
		"how often to poll every nsqd's /stats for the built-in graphs (/api/history)")
	fs.DurationVar(&opts.HistoryRetention, "history-retention", opts.HistoryRetention,
		"how long the built-in graphs' points are kept in memory")
	fs.IntVar(&opts.HistoryMaxSeries, "history-max-series", opts.HistoryMaxSeries,
		"at most this many topics plus channels have built-in graphs (bounds memory: about 23 KB each at the default interval and retention)")
	fs.Var((*config.StringList)(&opts.AuthHTTPAddresses), "auth-http-address",
		"<addr>:<port> or a full URL of an auth server (the one nsqd's --auth-http-address names; may be given multiple times); when set, actions need a secret it accepts")
	fs.StringVar(&opts.AuthHTTPRequestMethod, "auth-http-request-method", opts.AuthHTTPRequestMethod,
		"HTTP method to query the auth server with: get or post")
	return fs, configPath, showVersion
}

// parseOptions turns the command line, then the --config file for whatever
// the command line did not set, into Options. Usage and flag errors are
// written to usage.
func parseOptions(args []string, usage io.Writer) (opts *nsqadmin.Options, showVersion bool, err error) {
	opts = nsqadmin.NewOptions()
	fs, configPath, version := newFlagSet(opts, usage)
	if err := fs.Parse(args); err != nil {
		return nil, false, usageError{err}
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(usage, "unexpected arguments: %q\n", fs.Args())
		fs.Usage()
		return nil, false, usageError{fmt.Errorf("unexpected arguments %q", fs.Args())}
	}
	if *version || *configPath == "" {
		return opts, *version, nil
	}
	if err := config.Load(fs, *configPath, configKey); err != nil {
		return nil, false, err
	}
	return opts, false, nil
}

// configKey maps a flag to its TOML key, upstream's where upstream has the
// flag; --config, --version and --verbose cannot be set from the file.
func configKey(flagName string) string {
	switch flagName {
	case "config", "version", "verbose":
		return ""
	case "lookupd-http-address":
		return "nsqlookupd_http_addresses"
	case "nsqd-http-address":
		return "nsqd_http_addresses"
	case "admin-user":
		return "admin_users"
	case "auth-http-address":
		return "auth_http_addresses"
	}
	return config.DefaultKey(flagName)
}
