package main

import (
	"context"
	"errors"
	"fmt"
	"io"

	"github.com/nsqgo/nsq/internal/clock"
	"github.com/nsqgo/nsq/internal/nsqclient"
	"github.com/nsqgo/nsq/internal/toolflags"
)

// run publishes stdin until its end (exit 0), a signal (ctx; exit 0) or a
// failed publish (exit 1, as upstream: each piece goes to every nsqd, so
// carrying on would leave the nsqds with different streams). --rate is
// paced by the wall clock.
func run(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	return runOnClock(clock.Real())(ctx, args, stdin, stdout, stderr)
}

// runOnClock is run with --rate paced by clk: tests pass a clock.Fake and
// advance it instead of waiting out the pauses between publishes.
func runOnClock(clk clock.Clock) func(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	return func(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) int {
		return publishStdin(ctx, clk, args, stdin, stdout, stderr)
	}
}

func publishStdin(ctx context.Context, clk clock.Clock, args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	opts, status, ok := parseOptions(args, stdout, stderr)
	if !ok {
		return status
	}
	producers, err := newProducers(opts)
	if err != nil {
		return opts.logs.Fatalf("%s", err)
	}
	defer func() {
		for _, p := range producers {
			p.Stop()
		}
	}()
	limiter := newTokenBucket(opts.rate, clk)
	if limiter != nil {
		opts.logs.Printf("Throttling messages rate to max:%d/second", opts.rate)
	}

	pieces, stop := readPieces(stdin, opts.delimiter)
	defer close(stop)
	for {
		var r readResult
		select {
		case <-ctx.Done():
			return toolflags.ExitOK
		case r = <-pieces:
		}
		if r.err != nil {
			if errors.Is(r.err, io.EOF) {
				return toolflags.ExitOK
			}
			return opts.logs.Fatalf("reading stdin: %s", r.err)
		}
		if !limiter.wait(ctx) {
			return toolflags.ExitOK
		}
		if err := publishToAll(producers, opts.topic, r.piece); err != nil {
			return opts.logs.Fatalf("%s", err)
		}
	}
}

// publishToAll publishes body to every nsqd in turn, waiting for each to
// acknowledge.
func publishToAll(producers []*nsqclient.Producer, topic string, body []byte) error {
	for _, p := range producers {
		if err := p.Publish(topic, body); err != nil {
			return fmt.Errorf("publish to nsqd %s: %w", p, err)
		}
	}
	return nil
}

// readResult is one piece of stdin, or the error that ended it.
type readResult struct {
	piece []byte
	err   error
}

// readPieces reads stdin in its own goroutine, so that a signal is acted
// on while a read blocks. The goroutine ends after the input ends or
// once stop is closed; a read in progress cannot be interrupted, so after
// a signal it ends with its read (in the binary, with the process).
func readPieces(stdin io.Reader, delim byte) (<-chan readResult, chan<- struct{}) {
	out := make(chan readResult)
	stop := make(chan struct{})
	go func() {
		s := newSplitter(stdin, delim)
		for {
			piece, err := s.next()
			select {
			case out <- readResult{piece: piece, err: err}:
			case <-stop:
				return
			}
			if err != nil {
				return
			}
		}
	}()
	return out, stop
}
