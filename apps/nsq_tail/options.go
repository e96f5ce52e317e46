package main

import (
	"fmt"
	"io"
	"math/rand/v2"

	"github.com/nsqgo/nsq/internal/nsqclient"
	"github.com/nsqgo/nsq/internal/toolflags"
)

const toolName = "nsq_tail"

// options is nsq_tail's validated command line.
type options struct {
	logs        *toolflags.Logs // --log-format; every line the tool writes to stderr
	topics      []string
	channel     string
	total       int // messages to print before exiting; 0 = no limit
	printTopic  bool
	nsqdAddrs   []string
	lookupAddrs []string
	consumer    *nsqclient.Options
}

// parseOptions reads the command line; when ok is false the caller exits
// with status (0 after --version or --help, 2 for a flag error, 1 for a
// failed check, with upstream's messages in upstream's order).
func parseOptions(args []string, stdout, stderr io.Writer) (opts *options, status int, ok bool) {
	consumer := nsqclient.NewOptions()
	fs := toolflags.NewFlagSet(toolName, stderr)
	logs := toolflags.NewLogs(fs, stderr)
	showVersion := fs.Bool("version", false, "print version string")
	channel := fs.String("channel", "", "NSQ channel")
	maxInFlight := fs.Int("max-in-flight", 200, "max number of messages to allow in flight")
	total := fs.Int("n", 0, "total messages to show (will wait if starved)")
	printTopic := fs.Bool("print-topic", false, "print topic name where message was received")
	var nsqdAddrs, lookupAddrs, topics toolflags.StringList
	fs.Var(&nsqdAddrs, "nsqd-tcp-address", "nsqd TCP address (may be given multiple times)")
	fs.Var(&lookupAddrs, "lookupd-http-address", "lookupd HTTP address (may be given multiple times)")
	fs.Var(&topics, "topic", "NSQ topic (may be given multiple times)")
	fs.Var(toolflags.ClientOptions{Opts: consumer}, "consumer-opt",
		"option to passthrough to nsq.Consumer (may be given multiple times, http://godoc.org/github.com/nsqio/go-nsq#Config)")
	if status, ok := toolflags.Parse(fs, args); !ok {
		return nil, status, false
	}
	if *showVersion {
		toolflags.PrintVersion(stdout, toolName)
		return nil, toolflags.ExitOK, false
	}

	if *channel == "" {
		*channel = fmt.Sprintf("tail%06d#ephemeral", rand.IntN(999999))
	}
	if err := toolflags.CheckSource(nsqdAddrs, lookupAddrs); err != nil {
		return nil, logs.Fatalf("%s", err), false
	}
	if len(topics) == 0 {
		return nil, logs.Fatalf("--topic required"), false
	}
	// Don't ask for more messages than will be printed.
	if *total > 0 && *total < *maxInFlight {
		*maxInFlight = *total
	}
	// Set after parsing, so --consumer-opt cannot change them (upstream).
	consumer.MaxInFlight = *maxInFlight
	consumer.UserAgent = nsqclient.ToolUserAgent(toolName)
	consumer.Logger = logs.Logger()
	return &options{
		logs:        logs,
		topics:      topics,
		channel:     *channel,
		total:       *total,
		printTopic:  *printTopic,
		nsqdAddrs:   nsqdAddrs,
		lookupAddrs: lookupAddrs,
		consumer:    consumer,
	}, 0, true
}
