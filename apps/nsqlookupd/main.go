// Command nsqlookupd runs the lookup daemon: nsqds register with it over TCP
// and consumers discover them over HTTP. This file only wires flags,
// signals and the exit status to the nsqlookupd package.
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
	"github.com/nsqgo/nsq/nsqlookupd"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

// versionString is upstream's --version line with ours and the commit
// appended.
func versionString() string { return version.String("nsqlookupd") }

// run serves until ctx is done (a signal) or the daemon fails, and returns
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

	l, err := nsqlookupd.New(opts)
	if err != nil {
		logFatal(stderr, opts.LogFormat, "failed to instantiate nsqlookupd - %s", err)
		return 1
	}
	return daemonrun.Serve(ctx, l)
}

// logFatal writes upstream's fatal line, "[nsqlookupd] <date> <time> FATAL:
// ...". Like upstream it uses the fixed "[nsqlookupd] " prefix, not
// --log-prefix.
func logFatal(w io.Writer, logFormat logging.Format, format string, args ...any) {
	logging.NewWithFormat(w, "[nsqlookupd] ", logging.Fatal, logFormat).Logf(logging.Fatal, format, args...)
}
