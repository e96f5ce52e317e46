// Command nsqadmin runs the web UI and its JSON API over a cluster of nsqd
// and nsqlookupd. This file only wires flags, signals and the exit status
// to the nsqadmin package.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"

	"syscall"

	"github.com/nsqgo/nsq/internal/daemonrun"
	"github.com/nsqgo/nsq/internal/logging"
	"github.com/nsqgo/nsq/internal/version"
	"github.com/nsqgo/nsq/nsqadmin"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

// versionString is upstream's --version line with ours and the commit
// appended, as every binary prints it.
func versionString() string { return version.String("nsqadmin") }

// run serves until ctx is done (a signal) or the server fails, and returns
// the exit status.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	opts, showVersion, err := parseOptions(args, stderr)
	var usageErr usageError
	switch {
	case errors.Is(err, flag.ErrHelp):
		return 0
	case errors.As(err, &usageErr):
		return 2
	case err != nil:
		logFatal(stderr, logging.Text, "%s", err)
		return 1
	case showVersion:
		fmt.Fprintln(stdout, versionString())
		return 0
	}
	opts.Logger = stderr

	n, err := nsqadmin.New(opts)
	if err != nil {
		logFatal(stderr, opts.LogFormat, "failed to instantiate nsqadmin - %s", err)
		return 1
	}
	return daemonrun.Serve(ctx, n)
}

// logFatal writes upstream's fatal line with its fixed "[nsqadmin] " prefix.
func logFatal(w io.Writer, logFormat logging.Format, format string, args ...any) {
	logging.NewWithFormat(w, "[nsqadmin] ", logging.Fatal, logFormat).Logf(logging.Fatal, format, args...)
}
