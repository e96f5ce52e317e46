package main

import (
	"context"
	"io"

	"github.com/nsqgo/nsq/internal/nsqclient"
	"github.com/nsqgo/nsq/internal/toolflags"
)

// run delivers until a signal (ctx), then stops the consumer gracefully:
// requests in progress finish (bounded by --http-client-request-timeout)
// and their messages are answered before the connections close.
func run(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	opts, status, ok := parseOptions(args, stdout, stderr)
	if !ok {
		return status
	}
	s := newSender(opts)
	defer s.close()
	h, err := newHandler(opts, s.send, opts.logs)
	if err != nil {
		return opts.logs.Fatalf("%s", err)
	}
	c, err := nsqclient.NewConsumer(opts.topic, opts.channel, opts.consumer)
	if err != nil {
		return opts.logs.Fatalf("%s", err)
	}
	defer toolflags.StopConsumers([]*nsqclient.Consumer{c})
	c.AddConcurrentHandlers(h, opts.handlers)
	if err := toolflags.Connect(c, opts.nsqdAddrs, opts.lookupAddrs); err != nil {
		return opts.logs.Fatalf("%s", err)
	}
	<-ctx.Done()
	return toolflags.ExitOK
}
