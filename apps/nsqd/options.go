package main

import (
	"flag"
	"fmt"
	"io"
	"strings"

	"github.com/nsqgo/nsq/internal/config"
	"github.com/nsqgo/nsq/nsqd"
)

// configKey maps a flag to its config-file key, as nsqd.Options
// declares it; the flags that are not options (--config, --version and the
// deprecated ones) have none.
func configKey(flagName string) string {
	return config.Keys(nsqd.NewOptions().Declarations())(flagName)
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

	declared := opts.Declarations()
	for _, option := range declared {
		option.Register(fs)
	}

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
		if err := config.Load(fs, *configPath, config.Keys(declared)); err != nil {
			return nil, err
		}
	}
	return result, nil
}
