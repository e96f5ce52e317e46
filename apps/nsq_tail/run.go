package main

import (
	"context"
	"io"

	"github.com/nsqgo/nsq/internal/nsqclient"
	"github.com/nsqgo/nsq/internal/toolflags"
)

// run prints messages until a signal (ctx), -n messages or a failed write
// to stdout, then stops every consumer gracefully.
func run(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	opts, status, ok := parseOptions(args, stdout, stderr)
	if !ok {
		return status
	}
	logger := opts.logs
	p := newPrinter(stdout, opts.printTopic, opts.total)

	var consumers []*nsqclient.Consumer
	defer func() { toolflags.StopConsumers(consumers) }()
	for _, topic := range opts.topics {
		logger.Printf("Adding consumer for topic: %s", topic)
		c, err := nsqclient.NewConsumer(topic, opts.channel, opts.consumer)
		if err != nil {
			return opts.logs.Fatalf("%s", err)
		}
		consumers = append(consumers, c)
		p.add(c)
		c.AddHandler(p.handler(topic))
		if err := toolflags.Connect(c, opts.nsqdAddrs, opts.lookupAddrs); err != nil {
			return opts.logs.Fatalf("%s", err)
		}
	}

	select {
	case <-ctx.Done():
	case <-p.Done():
	}
	if err := p.Err(); err != nil {
		return opts.logs.Fatalf("ERROR: failed to write to os.Stdout - %s", err)
	}
	return toolflags.ExitOK
}
