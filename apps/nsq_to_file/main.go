// Command nsq_to_file archives NSQ topics to rotated files: it consumes
// every nsqd that holds a topic (given directly or found through
// nsqlookupd) and writes each message body as a line, finishing a message
// only once its bytes are synced to disk. This file wires flags, signals
// and the exit status; discovery.go, topic_logger.go and output_file.go do
// the work.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"syscall"

	"github.com/nsqgo/nsq/internal/clock"
	"github.com/nsqgo/nsq/internal/logging"
	"github.com/nsqgo/nsq/internal/nsqclient"
	"github.com/nsqgo/nsq/internal/version"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

// run archives until ctx is done (SIGINT/SIGTERM) and returns the exit
// status; SIGHUP makes every topic close its file.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	hup := make(chan os.Signal, 1)
	signal.Notify(hup, syscall.SIGHUP)
	defer signal.Stop(hup)
	return runWithHUP(ctx, args, stdout, stderr, hup)
}

// runWithHUP is run with the SIGHUP channel supplied, for tests.
func runWithHUP(ctx context.Context, args []string, stdout, stderr io.Writer, hup <-chan os.Signal) int {
	return runWithClock(ctx, args, stdout, stderr, hup, clock.Real())
}

// runWithClock is runWithHUP with the one clock all of the tool's time
// comes from: the sync interval, the rotation deadlines and the time files
// are named by, the --topic-refresh of topic discovery, and the
// consumers' timers (lookupd polls, reconnection waits, RDY
// redistribution, backoff). Tests pass a clock.Fake and advance it.
func runWithClock(ctx context.Context, args []string, stdout, stderr io.Writer, hup <-chan os.Signal, clk clock.Clock) int {
	// Start-up failures exit 1, as upstream's log.Fatal, in the format of
	// every other line (text until --log-format is known).
	logFormat := logging.Text
	fatal := func(err error) int {
		logging.NewWithFormat(stderr, "", logging.Fatal, logFormat).Logf(logging.Fatal, "%s", err)
		return 1
	}
	opts, showVersion, err := parseOptions(args, stderr)
	var usage usageError
	switch {
	case errors.Is(err, flag.ErrHelp):
		return 0
	case errors.As(err, &usage):
		return 2
	case err != nil:
		return fatal(err)
	}
	logFormat = opts.LogFormat
	level, err := opts.logLevel()
	if err != nil {
		return fatal(err)
	}
	if showVersion {
		fmt.Fprintln(stdout, version.String("nsq_to_file"))
		return 0
	}
	if err := opts.validate(); err != nil {
		return fatal(err)
	}
	logger := logging.NewWithFormat(stderr, opts.LogPrefix, level, opts.LogFormat)
	clientOpts, err := consumerOptions(opts, logger)
	if err != nil {
		return fatal(err)
	}
	clientOpts.Clock = clk
	if err := checkDirs(opts); err != nil {
		return fatal(err)
	}
	hostname, err := os.Hostname()
	if err != nil {
		return fatal(fmt.Errorf("unable to get hostname: %w", err))
	}
	return newDiscoverer(opts, clientOpts, newHostNames(hostname), logger, clk).run(ctx, hup)
}

// consumerOptions applies --consumer-opt, then what nsq_to_file sets
// itself, as upstream: its user agent and --max-in-flight. Unlike
// upstream, an unknown or invalid option is an error, not ignored.
func consumerOptions(opts *Options, logger *logging.Logger) (*nsqclient.Options, error) {
	clientOpts := nsqclient.NewOptions()
	for _, opt := range opts.ConsumerOpts {
		if err := clientOpts.SetFlag(opt); err != nil {
			return nil, fmt.Errorf("invalid --consumer-opt %q: %w", opt, err)
		}
	}
	clientOpts.UserAgent = nsqclient.ToolUserAgent("nsq_to_file")
	clientOpts.MaxInFlight = opts.MaxInFlight
	clientOpts.Logger = logger
	if err := clientOpts.Validate(); err != nil {
		return nil, fmt.Errorf("invalid --consumer-opt: %w", err)
	}
	return clientOpts, nil
}

// checkDirs reports at start-up what upstream only finds at the first
// file: a work or output dir that cannot be created or written, and
// (since finished files are moved by hard link) a work dir on another
// filesystem than the output dir.
func checkDirs(opts *Options) error {
	for _, dir := range []struct{ flag, path string }{{"--output-dir", opts.OutputDir}, {"--work-dir", opts.WorkDir}} {
		if err := os.MkdirAll(dir.path, 0o770); err != nil {
			return fmt.Errorf("%s %s is not usable: %w", dir.flag, dir.path, err)
		}
	}
	probe, err := os.CreateTemp(opts.WorkDir, ".nsq_to_file-probe-")
	if err != nil {
		return fmt.Errorf("--work-dir %s is not writable: %w", opts.WorkDir, err)
	}
	probe.Close()
	defer os.Remove(probe.Name())
	if opts.WorkDir == opts.OutputDir {
		return nil
	}
	moved := filepath.Join(opts.OutputDir, filepath.Base(probe.Name()))
	if err := os.Link(probe.Name(), moved); err != nil {
		return fmt.Errorf("cannot move files from --work-dir %s to --output-dir %s: %w", opts.WorkDir, opts.OutputDir, err)
	}
	os.Remove(moved)
	return nil
}
