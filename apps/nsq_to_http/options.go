package main

import (
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/nsqgo/nsq/internal/hostpool"
	"github.com/nsqgo/nsq/internal/nsqclient"
	"github.com/nsqgo/nsq/internal/toolflags"
)

const (
	toolName           = "nsq_to_http"
	defaultContentType = "application/octet-stream"
)

// options is nsq_to_http's validated command line.
type options struct {
	logs        *toolflags.Logs // --log-format; every line the tool writes to stderr
	topic       string
	channel     string
	nsqdAddrs   []string
	lookupAddrs []string

	post        bool     // POST to addrs; otherwise GET the templates
	addrs       []string // --post URLs or --get templates
	contentType string
	headers     []header

	// pooled is false when --mode names no known mode: then every
	// message goes to every address, as upstream.
	pooled      bool
	mode        hostpool.Mode
	handlers    int
	sample      float64
	statusEvery int

	connectTimeout time.Duration
	requestTimeout time.Duration

	consumer *nsqclient.Options
}

// header is one --header.
type header struct{ name, value string }

// parseOptions reads the command line; when ok is false the caller exits
// with status (0 after --version or --help, 2 for a flag error, 1 for a
// failed check, with upstream's messages in upstream's order).
func parseOptions(args []string, stdout, stderr io.Writer) (opts *options, status int, ok bool) {
	consumer := nsqclient.NewOptions()
	fs := toolflags.NewFlagSet(toolName, stderr)
	logs := toolflags.NewLogs(fs, stderr)
	showVersion := fs.Bool("version", false, "print version string")
	topic := fs.String("topic", "", "nsq topic")
	channel := fs.String("channel", "nsq_to_http", "nsq channel")
	maxInFlight := fs.Int("max-in-flight", 200, "max number of messages to allow in flight")
	handlers := fs.Int("n", 100, "number of concurrent publishers")
	mode := fs.String("mode", "hostpool", "the upstream request mode options: round-robin, hostpool (default), epsilon-greedy")
	sample := fs.Float64("sample", 1.0, "% of messages to publish (float b/w 0 -> 1)")
	connectTimeout := fs.Duration("http-client-connect-timeout", 2*time.Second, "timeout for HTTP connect")
	requestTimeout := fs.Duration("http-client-request-timeout", 20*time.Second, "timeout for HTTP request")
	statusEvery := fs.Int("status-every", 250, "the # of requests between logging status (per handler), 0 disables")
	contentType := fs.String("content-type", defaultContentType, "the Content-Type used for POST requests")
	var posts, gets, nsqdAddrs, lookupAddrs, headers toolflags.StringList
	fs.Var(&posts, "post", "HTTP address to make a POST request to.  data will be in the body (may be given multiple times)")
	fs.Var(&gets, "get", "HTTP address to make a GET request to. '%s' will be printf replaced with data (may be given multiple times)")
	fs.Var(&nsqdAddrs, "nsqd-tcp-address", "nsqd TCP address (may be given multiple times)")
	fs.Var(&lookupAddrs, "lookupd-http-address", "lookupd HTTP address (may be given multiple times)")
	fs.Var(&headers, "header", "Custom header for HTTP requests (may be given multiple times)")
	fs.Var(toolflags.ClientOptions{Opts: consumer}, "consumer-opt",
		"option to passthrough to nsq.Consumer (may be given multiple times, http://godoc.org/github.com/nsqio/go-nsq#Config)")
	if status, ok := toolflags.Parse(fs, args); !ok {
		return nil, status, false
	}
	if *showVersion {
		toolflags.PrintVersion(stdout, toolName)
		return nil, toolflags.ExitOK, false
	}

	fatal := func(msg string) (*options, int, bool) { return nil, logs.Fatalf("%s", msg), false }
	if *topic == "" || *channel == "" {
		return fatal("--topic and --channel are required")
	}
	if *contentType != defaultContentType {
		if len(posts) == 0 {
			return fatal("--content-type only used with --post")
		}
		if *contentType == "" {
			return fatal("--content-type requires a value when used")
		}
	}
	if err := toolflags.CheckSource(nsqdAddrs, lookupAddrs); err != nil {
		return fatal(err.Error())
	}
	if err := checkEndpoints(posts, gets); err != nil {
		return fatal(err.Error())
	}
	selected, pooled := hostpool.ParseMode(*mode)
	if *sample > 1.0 || *sample < 0.0 {
		return fatal("ERROR: --sample must be between 0.0 and 1.0")
	}
	parsedHeaders, err := parseHeaders(headers)
	if err != nil {
		return fatal("--header value format should be 'key=value'")
	}
	if *handlers < 1 {
		// Upstream would start no handler and hang with every message in
		// flight.
		return fatal("-n must be at least 1")
	}

	consumer.MaxInFlight = *maxInFlight
	consumer.UserAgent = nsqclient.ToolUserAgent(toolName)
	consumer.Logger = logs.Logger()
	opts = &options{
		logs:           logs,
		topic:          *topic,
		channel:        *channel,
		nsqdAddrs:      nsqdAddrs,
		lookupAddrs:    lookupAddrs,
		post:           len(posts) > 0,
		addrs:          posts,
		contentType:    *contentType,
		headers:        parsedHeaders,
		pooled:         pooled,
		mode:           selected,
		handlers:       *handlers,
		sample:         *sample,
		statusEvery:    *statusEvery,
		connectTimeout: *connectTimeout,
		requestTimeout: *requestTimeout,
		consumer:       consumer,
	}
	if !opts.post {
		opts.addrs = gets
	}
	return opts, 0, true
}

// checkEndpoints requires --post or --get, not both, and a GET template
// with exactly one %s.
func checkEndpoints(posts, gets []string) error {
	switch {
	case len(posts) == 0 && len(gets) == 0:
		return errors.New("--get or --post required")
	case len(posts) > 0 && len(gets) > 0:
		return errors.New("use --get or --post not both")
	}
	for _, g := range gets {
		if strings.Count(g, "%s") != 1 {
			return errors.New("invalid GET address - must be a printf string")
		}
	}
	return nil
}

// parseHeaders reads "Name: value" headers: split at the first colon,
// both sides trimmed and non-empty. (Upstream's error message says
// 'key=value', but a colon is what it splits at; the message is kept.)
func parseHeaders(raw []string) ([]header, error) {
	var out []header
	for _, s := range raw {
		name, value, found := strings.Cut(s, ":")
		name, value = strings.TrimSpace(name), strings.TrimSpace(value)
		if !found || name == "" || value == "" {
			return nil, fmt.Errorf("invalid header %q", s)
		}
		out = append(out, header{name: name, value: value})
	}
	return out, nil
}
