package main

import (
	"context"
	"io"
	"time"

	"github.com/nsqgo/nsq/internal/toolflags"
)

// run polls every --interval and prints a report line per poll after the
// first, until --count lines (exit 0), a signal (exit 0) or a failed poll
// (exit 1: upstream exits rather than print totals missing a node).
func run(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	opts, status, ok := parseOptions(args, stdout, stderr)
	if !ok {
		return status
	}
	p := newPoller(opts)
	defer p.close()

	var prev *channelTotals
	for i := 0; opts.count == 0 || i <= opts.count; i++ {
		cur, err := p.poll(ctx)
		if ctx.Err() != nil {
			return toolflags.ExitOK
		}
		if err != nil {
			return opts.logs.Fatalf("ERROR: %s", err)
		}
		if i%headerEvery == 0 {
			writeHeader(stdout)
		}
		if prev != nil {
			writeRow(stdout, *prev, cur, opts.interval)
		}
		prev = &cur
		if opts.count > 0 && i == opts.count {
			break // no point waiting after the last line
		}
		if !sleep(ctx, opts.interval) {
			return toolflags.ExitOK
		}
	}
	return toolflags.ExitOK
}

// sleep waits d; false if ctx ended first.
func sleep(ctx context.Context, d time.Duration) bool {
	timer := time.NewTimer(d)
	defer timer.Stop()
	select {
	case <-timer.C:
		return true
	case <-ctx.Done():
		return false
	}
}
