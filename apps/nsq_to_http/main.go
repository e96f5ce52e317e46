// Command nsq_to_http delivers the messages of a topic/channel to HTTP
// endpoints: each message is POSTed as the request body (--post) or
// substituted, query-escaped, into a URL template (--get). A message is
// finished when the endpoint accepts it and requeued when it does not.
// This file wires os.Args, signals and the exit status to run.
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
