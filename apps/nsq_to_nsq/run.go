package main

import (
	"context"
	"io"

	"github.com/nsqgo/nsq/internal/nsqclient"
	"github.com/nsqgo/nsq/internal/toolflags"
)

// run copies until a signal (ctx), then stops the consumers gracefully,
// which lets every message in flight be acknowledged by its destination
// (or requeued) before the producers stop.
func run(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	opts, status, ok := parseOptions(args, stdout, stderr)
	if !ok {
		return status
	}
	pub, err := newPublisher(opts, opts.logs)
	if err != nil {
		return opts.logs.Fatalf("%s", err)
	}
	var consumers []*nsqclient.Consumer
	// The consumers stop first: their in-flight messages need the
	// producers and responders to be answered.
	defer pub.stop()
	defer func() { toolflags.StopConsumers(consumers) }()

	for _, topic := range opts.topics {
		c, err := nsqclient.NewConsumer(topic, opts.channel, opts.consumer)
		if err != nil {
			return opts.logs.Fatalf("%s", err)
		}
		consumers = append(consumers, c)
		destTopic := opts.destTopic
		if destTopic == "" {
			destTopic = topic
		}
		c.AddConcurrentHandlers(pub.handler(destTopic), len(opts.destAddrs))
		if err := toolflags.Connect(c, opts.nsqdAddrs, opts.lookupAddrs); err != nil {
			return opts.logs.Fatalf("%s", err)
		}
	}
	<-ctx.Done()
	return toolflags.ExitOK
}
