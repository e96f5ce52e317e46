// Command nsq_stat polls the /stats of every nsqd holding a topic (found
// through lookupds or given directly) and prints one line of the
// channel's totals across them per --interval: rates, depths and
// counters. This file wires os.Args, signals and the exit status to run.
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
