package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"regexp"
	"time"

	"github.com/nsqgo/nsq/internal/config"
	"github.com/nsqgo/nsq/internal/logging"
	"github.com/nsqgo/nsq/internal/nsqclient"
	"github.com/nsqgo/nsq/internal/protocol"
)

// Options are nsq_to_file's settings, with upstream's flag names and
// defaults.
type Options struct {
	Topics       config.StringList
	TopicPattern string
	TopicRefresh time.Duration
	Channel      string

	NSQDTCPAddrs             config.StringList
	LookupdHTTPAddrs         config.StringList
	ConsumerOpts             []string
	MaxInFlight              int
	HTTPClientConnectTimeout time.Duration
	HTTPClientRequestTimeout time.Duration

	LogPrefix string
	LogLevel  string
	LogFormat logging.Format

	OutputDir      string
	WorkDir        string
	DatetimeFormat string
	FilenameFormat string
	HostIdentifier string
	GZIPLevel      int
	GZIP           bool
	SkipEmptyFiles bool
	RotateSize     int64
	RotateInterval time.Duration
	SyncInterval   time.Duration
}

// NewOptions returns upstream's defaults.
func NewOptions() *Options {
	return &Options{
		TopicRefresh:             time.Minute,
		Channel:                  "nsq_to_file",
		MaxInFlight:              200,
		HTTPClientConnectTimeout: 2 * time.Second,
		HTTPClientRequestTimeout: 5 * time.Second,
		LogPrefix:                "[nsq_to_file] ",
		LogLevel:                 "info",
		OutputDir:                "/tmp",
		DatetimeFormat:           "%Y-%m-%d_%H",
		FilenameFormat:           "<TOPIC>.<HOST><REV>.<DATETIME>.log",
		GZIPLevel:                6,
		SyncInterval:             30 * time.Second,
	}
}

// usageError is a command line the flag package rejected: exit status 2,
// as upstream's flag.ExitOnError.
type usageError struct{ err error }

func (e usageError) Error() string { return e.err.Error() }
func (e usageError) Unwrap() error { return e.err }

// consumerOpts collects --consumer-opt values; they are checked against
// the client's option names after parsing.
type consumerOpts struct{ opts *Options }

func (c consumerOpts) String() string { return "" }
func (c consumerOpts) Set(v string) error {
	c.opts.ConsumerOpts = append(c.opts.ConsumerOpts, v)
	return nil
}

// parseOptions turns the command line into Options; showVersion reports
// --version. Flag errors and usage go to usage.
func parseOptions(args []string, usage io.Writer) (opts *Options, showVersion bool, err error) {
	opts = NewOptions()
	fs := flag.NewFlagSet("nsq_to_file", flag.ContinueOnError)
	fs.SetOutput(usage)

	fs.BoolVar(&showVersion, "version", false, "print version string")
	fs.StringVar(&opts.LogLevel, "log-level", opts.LogLevel, "set log verbosity: debug, info, warn, error, or fatal")
	fs.StringVar(&opts.LogPrefix, "log-prefix", opts.LogPrefix, "log message prefix")
	fs.Var(&opts.LogFormat, "log-format", logging.FlagUsage)

	fs.StringVar(&opts.Channel, "channel", opts.Channel, "nsq channel")
	fs.IntVar(&opts.MaxInFlight, "max-in-flight", opts.MaxInFlight, "max number of messages to allow in flight")

	fs.StringVar(&opts.OutputDir, "output-dir", opts.OutputDir, "directory to write output files to")
	fs.StringVar(&opts.WorkDir, "work-dir", opts.WorkDir, "directory for in-progress files before moving to output-dir")
	fs.StringVar(&opts.DatetimeFormat, "datetime-format", opts.DatetimeFormat, "strftime compatible format for <DATETIME> in filename format")
	fs.StringVar(&opts.FilenameFormat, "filename-format", opts.FilenameFormat,
		"output filename format (<TOPIC>, <HOST>, <PID>, <DATETIME>, <REV> are replaced. <REV> is increased when file already exists)")
	fs.StringVar(&opts.HostIdentifier, "host-identifier", opts.HostIdentifier,
		"value to output in log filename in place of hostname. <SHORT_HOST> and <HOSTNAME> are valid replacement tokens")
	fs.IntVar(&opts.GZIPLevel, "gzip-level", opts.GZIPLevel, "gzip compression level (1-9, 1=BestSpeed, 9=BestCompression)")
	fs.BoolVar(&opts.GZIP, "gzip", opts.GZIP, "gzip output files.")
	fs.BoolVar(&opts.SkipEmptyFiles, "skip-empty-files", opts.SkipEmptyFiles, "skip writing empty files")
	fs.DurationVar(&opts.TopicRefresh, "topic-refresh", opts.TopicRefresh, "how frequently the topic list should be refreshed")
	fs.StringVar(&opts.TopicPattern, "topic-pattern", opts.TopicPattern, "only log topics matching the following pattern")

	fs.Int64Var(&opts.RotateSize, "rotate-size", opts.RotateSize, "rotate the file when it grows bigger than `rotate-size` bytes")
	fs.DurationVar(&opts.RotateInterval, "rotate-interval", opts.RotateInterval, "rotate the file every duration")
	fs.DurationVar(&opts.SyncInterval, "sync-interval", opts.SyncInterval, "sync file to disk every duration")

	fs.DurationVar(&opts.HTTPClientConnectTimeout, "http-client-connect-timeout", opts.HTTPClientConnectTimeout, "timeout for HTTP connect")
	fs.DurationVar(&opts.HTTPClientRequestTimeout, "http-client-request-timeout", opts.HTTPClientRequestTimeout, "timeout for HTTP request")

	fs.Var(&opts.NSQDTCPAddrs, "nsqd-tcp-address", "nsqd TCP address (may be given multiple times)")
	fs.Var(&opts.LookupdHTTPAddrs, "lookupd-http-address", "lookupd HTTP address (may be given multiple times)")
	fs.Var(&opts.Topics, "topic", "nsq topic (may be given multiple times)")
	fs.Var(consumerOpts{opts}, "consumer-opt",
		"option to passthrough to nsq.Consumer (may be given multiple times, http://godoc.org/github.com/nsqio/go-nsq#Config)")

	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return nil, false, err
		}
		return nil, false, usageError{err}
	}
	if fs.NArg() > 0 {
		return nil, false, fmt.Errorf("unknown arguments: %s", fs.Args())
	}
	return opts, showVersion, nil
}

// logLevel parses --log-level with upstream's complaint.
func (o *Options) logLevel() (logging.Level, error) {
	level, err := logging.ParseLevel(o.LogLevel)
	if err != nil {
		return 0, errors.New("--log-level is invalid")
	}
	return level, nil
}

// validate applies upstream's checks in upstream's order and messages,
// then ours: a --topic-pattern that does not compile, a --topic or
// --channel that nsqd would refuse, a --topic that --topic-pattern
// excludes, a malformed or repeated --nsqd-tcp-address, and a
// --filename-format without <REV> when one is needed. Upstream only logs
// each of these for each topic and then archives nothing, for ever.
func (o *Options) validate() error {
	switch {
	case o.Channel == "":
		return errors.New("--channel is required")
	case o.HTTPClientConnectTimeout <= 0:
		return errors.New("--http-client-connect-timeout should be positive")
	case o.HTTPClientRequestTimeout <= 0:
		return errors.New("--http-client-request-timeout should be positive")
	case len(o.NSQDTCPAddrs) == 0 && len(o.LookupdHTTPAddrs) == 0:
		return errors.New("--nsqd-tcp-address or --lookupd-http-address required.")
	case len(o.NSQDTCPAddrs) != 0 && len(o.LookupdHTTPAddrs) != 0:
		return errors.New("use --nsqd-tcp-address or --lookupd-http-address not both")
	case o.GZIPLevel < 1 || o.GZIPLevel > 9:
		return fmt.Errorf("invalid --gzip-level value (%d), should be 1-9", o.GZIPLevel)
	case len(o.Topics) == 0 && o.TopicPattern == "":
		return errors.New("--topic or --topic-pattern required")
	case len(o.Topics) == 0 && len(o.LookupdHTTPAddrs) == 0:
		return errors.New("--lookupd-http-address must be specified when no --topic specified")
	}
	if o.WorkDir == "" {
		o.WorkDir = o.OutputDir
	}
	if _, err := regexp.Compile(o.TopicPattern); err != nil {
		return fmt.Errorf("invalid --topic-pattern: %w", err)
	}
	if o.TopicRefresh <= 0 && len(o.Topics) == 0 {
		return errors.New("--topic-refresh should be positive")
	}
	if o.SyncInterval <= 0 {
		return errors.New("--sync-interval should be positive")
	}
	if o.MaxInFlight < 1 {
		return errors.New("--max-in-flight should be positive")
	}
	if err := o.checkNames(); err != nil {
		return err
	}
	if err := checkNSQDAddrs(o.NSQDTCPAddrs); err != nil {
		return err
	}
	return checkRevToken(o)
}

// checkNames rejects what would keep a topic from ever being consumed:
// an invalid --channel (every topic), and an invalid --topic or one that
// --topic-pattern excludes. Topics found through the lookupds are not
// checked here: they come and go, and are skipped as upstream. The
// messages are the consumer's, as nsq_tail and nsq_to_http print them.
func (o *Options) checkNames() error {
	if !protocol.ValidName(o.Channel) {
		return fmt.Errorf("invalid channel name %q", o.Channel)
	}
	pattern := regexp.MustCompile(o.TopicPattern) // validate compiled it
	for _, topic := range o.Topics {
		if !protocol.ValidName(topic) {
			return fmt.Errorf("invalid topic name %q", topic)
		}
		if !pattern.MatchString(topic) {
			return fmt.Errorf("--topic %q does not match --topic-pattern %q", topic, o.TopicPattern)
		}
	}
	return nil
}

// checkNSQDAddrs rejects a --nsqd-tcp-address that is not host:port, or
// that is given twice, before anything connects. The messages are what
// nsq_tail, nsq_to_nsq and nsq_to_http print when their consumer refuses
// the same address.
func checkNSQDAddrs(addrs []string) error {
	seen := map[string]bool{}
	for _, addr := range addrs {
		if _, _, err := net.SplitHostPort(addr); err != nil {
			return fmt.Errorf("connect to nsqd: nsqd address %q: %w", addr, err)
		}
		if seen[addr] {
			return fmt.Errorf("connect to nsqd: nsqd %s: %w", addr, nsqclient.ErrAlreadyConnected)
		}
		seen[addr] = true
	}
	return nil
}
