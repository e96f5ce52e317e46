package main

import (
	"flag"
	"fmt"
	"io"

	"github.com/nsqgo/nsq/internal/config"
	"github.com/nsqgo/nsq/internal/logging"
	"github.com/nsqgo/nsq/nsqlookupd"
)

// usageError marks a bad command line (exit status 2, like the flag
// package), as opposed to a bad config file (exit status 1).
type usageError struct{ err error }

func (e usageError) Error() string { return e.err.Error() }
func (e usageError) Unwrap() error { return e.err }

// parseOptions turns the command line, then the --config file for whatever
// the command line did not set, into Options. showVersion reports --version.
// Usage and flag errors are written to usage.
func parseOptions(args []string, usage io.Writer) (opts *nsqlookupd.Options, showVersion bool, err error) {
	opts = nsqlookupd.NewOptions()
	fs := flag.NewFlagSet("nsqlookupd", flag.ContinueOnError)
	fs.SetOutput(usage)

	configPath := fs.String("config", "", "path to config file")
	fs.BoolVar(&showVersion, "version", false, "print version string")
	fs.Var(&opts.LogLevel, "log-level", "set log verbosity: debug, info, warn, error, or fatal")
	fs.StringVar(&opts.LogPrefix, "log-prefix", opts.LogPrefix, "log message prefix")
	fs.Var(&opts.LogFormat, "log-format", logging.FlagUsage)
	fs.Bool("verbose", false, "[deprecated] has no effect, use --log-level")

	fs.StringVar(&opts.TCPAddress, "tcp-address", opts.TCPAddress, "<addr>:<port> to listen on for TCP clients")
	fs.StringVar(&opts.HTTPAddress, "http-address", opts.HTTPAddress, "<addr>:<port> to listen on for HTTP clients")
	fs.StringVar(&opts.BroadcastAddress, "broadcast-address", opts.BroadcastAddress,
		"address of this lookupd node, (default to the OS hostname)")

	fs.DurationVar(&opts.InactiveProducerTimeout, "inactive-producer-timeout", opts.InactiveProducerTimeout,
		"duration of time a producer will remain in the active list since its last ping")
	fs.DurationVar(&opts.TombstoneLifetime, "tombstone-lifetime", opts.TombstoneLifetime,
		"duration of time a producer will remain tombstoned if registration remains")

	if err := fs.Parse(args); err != nil {
		return nil, false, usageError{err}
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(usage, "unexpected arguments: %q\n", fs.Args())
		fs.Usage()
		return nil, false, usageError{fmt.Errorf("unexpected arguments %q", fs.Args())}
	}
	if showVersion || *configPath == "" {
		return opts, showVersion, nil
	}
	if err := config.Load(fs, *configPath, configKey); err != nil {
		return nil, false, err
	}
	return opts, false, nil
}

// configKey maps a flag to its TOML key; --config, --version and the
// deprecated --verbose cannot be set from the file, as upstream.
func configKey(flagName string) string {
	switch flagName {
	case "config", "version", "verbose":
		return ""
	}
	return config.DefaultKey(flagName)
}
