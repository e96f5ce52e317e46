package main

import (
	"flag"
	"fmt"
	"io"

	"github.com/nsqgo/nsq/internal/config"
	"github.com/nsqgo/nsq/nsqadmin"
)

// usageError marks a bad command line (exit status 2, like the flag
// package), as opposed to a bad config file (exit status 1).
type usageError struct{ err error }

func (e usageError) Error() string { return e.err.Error() }
func (e usageError) Unwrap() error { return e.err }

// newFlagSet declares every flag: the options nsqadmin.Options declares,
// and --config, --version and the deprecated --verbose.
func newFlagSet(opts *nsqadmin.Options, usage io.Writer) (fs *flag.FlagSet, configPath *string, showVersion *bool) {
	fs = flag.NewFlagSet("nsqadmin", flag.ContinueOnError)
	fs.SetOutput(usage)
	configPath = fs.String("config", "", "path to config file")
	showVersion = fs.Bool("version", false, "print version string")

	fs.Bool("verbose", false, "[deprecated] has no effect, use --log-level")
	for _, option := range opts.Declarations() {
		option.Register(fs)
	}
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
	if err := config.Load(fs, *configPath, config.Keys(opts.Declarations())); err != nil {
		return nil, false, err
	}
	return opts, false, nil
}
