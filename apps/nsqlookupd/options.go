package main

import (
	"flag"
	"fmt"
	"io"

	"github.com/nsqgo/nsq/internal/config"
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
	fs.Bool("verbose", false, "[deprecated] has no effect, use --log-level")
	declared := opts.Declarations()
	for _, option := range declared {
		option.Register(fs)
	}

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
	if err := config.Load(fs, *configPath, config.Keys(declared)); err != nil {
		return nil, false, err
	}
	return opts, false, nil
}

// configKey maps a flag to its TOML key, as nsqlookupd.Options declares
// it; --config, --version and the deprecated --verbose have none, as
// upstream.
func configKey(flagName string) string {
	return config.Keys(nsqlookupd.NewOptions().Declarations())(flagName)
}
