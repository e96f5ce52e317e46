// Command nsqd is the message daemon: it parses flags and the config file
// into nsqd.Options and runs the daemon until SIGINT or SIGTERM.
package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"

	"github.com/nsqgo/nsq/internal/clock"
	"github.com/nsqgo/nsq/internal/exepages"
	"github.com/nsqgo/nsq/internal/gcgoal"
	"github.com/nsqgo/nsq/internal/logging"
	"github.com/nsqgo/nsq/internal/version"
	"github.com/nsqgo/nsq/nsqd"
)

func main() {
	os.Exit(run(os.Args[1:]))
}

// run runs nsqd with the process's stdout and stderr.
func run(args []string) int {
	return runWith(args, os.Stdout, os.Stderr)
}

// runWith serves until SIGINT/SIGTERM or a daemon failure and returns the
// exit status: 2 for a bad command line (the flag package has printed the
// error and usage), 1 for a fatal startup error.
func runWith(args []string, stdout, stderr io.Writer) int {
	p, err := parseOptions(args, stderr)
	var usageErr usageError
	switch {
	case errors.Is(err, flag.ErrHelp):
		return 0
	case errors.As(err, &usageErr):
		return 2
	case err != nil:
		logFatal(stderr, logging.Text, "%s", err)
		return 1
	case p.showVersion:
		fmt.Fprintln(stdout, version.String("nsqd"))
		return 0
	}
	p.opts.Logger = stderr
	daemon, err := nsqd.New(p.opts)
	if err != nil {
		logFatal(stderr, p.opts.LogFormat, "failed to instantiate nsqd - %s", err)
		return 1
	}
	// Start-up is over (options, metadata, listeners): give back the
	// executable's pages only it needed (internal/exepages). An error
	// leaves them resident, which is all it can cost, so it is not fatal
	// and not worth a line in the log.
	_, _ = exepages.Release()
	// And again every few seconds while it serves: code that ran only for a
	// phase (publishing, start-up, a departure) leaves the resident set
	// soon after it (internal/exepages/trim.go; README, "Peak RSS").
	defer exepages.StartTrimmer(clock.Real(), exepages.TrimEvery).Stop()
	// A small live heap is collected at a 2 MB goal instead of the
	// runtime's 4 MB minimum, unless GOGC or GOMEMLIMIT says otherwise
	// (internal/gcgoal; README, "Peak RSS").
	defer gcgoal.Start(gcgoal.Default).Stop()
	signals := make(chan os.Signal, 1)
	signal.Notify(signals, syscall.SIGINT, syscall.SIGTERM)
	defer signal.Stop(signals)
	done := make(chan error, 1)
	go func() { done <- daemon.Main() }()
	select {
	case <-signals:
		daemon.Exit()
		return 0
	case err := <-done:
		if err != nil {
			logFatal(stderr, p.opts.LogFormat, "%s", err)
			return 1
		}
		return 0
	}
}

// logFatal writes upstream's fatal line, "[nsqd] <date> <time> FATAL: ...".
// Like upstream it uses the fixed "[nsqd] " prefix, not --log-prefix.
// A bad command line or config file is reported as text: the format asked
// for is not known yet.
func logFatal(w io.Writer, logFormat logging.Format, format string, args ...any) {
	logging.NewWithFormat(w, "[nsqd] ", logging.Fatal, logFormat).Logf(logging.Fatal, format, args...)
}
