// Command nsq_to_nsq copies topics from one set of nsqds (found directly
// or through lookupds) to another: every message read on --channel is
// published to a destination nsqd chosen by --mode, optionally filtered as
// JSON, and finished only once the destination has acknowledged it. This
// file wires os.Args, signals and the exit status to run.
package main

import (
	"context"
	"os"
	"os/signal"
	"syscall"
)

func main() {
	// Signals stay caught until the process exits: restoring their default
	// action after run would let a repeated signal (timeout(1) sends two)
	// kill the process after a clean shutdown and change its exit status.
	ctx, _ := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	os.Exit(run(ctx, os.Args[1:], os.Stdin, os.Stdout, os.Stderr))
}
