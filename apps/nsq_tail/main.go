// Command nsq_tail prints the messages of one or more topics to stdout,
// one per line, reading through an ephemeral channel by default. This
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
