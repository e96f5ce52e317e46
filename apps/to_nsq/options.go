package main

import (
	"fmt"
	"io"

	"github.com/nsqgo/nsq/internal/nsqclient"
	"github.com/nsqgo/nsq/internal/toolflags"
)

const toolName = "to_nsq"

// options is to_nsq's validated command line.
type options struct {
	logs      *toolflags.Logs // --log-format; every line the tool writes to stderr
	topic     string
	delimiter byte
	nsqdAddrs []string
	rate      int64 // messages a second; < 1 means unlimited
	producer  *nsqclient.Options
}

// parseOptions reads the command line; when ok is false the caller exits
// with status. Flag errors exit 2; failed checks exit 1 with upstream's
// messages, in upstream's order. --version is ours: upstream's to_nsq has
// none, and every binary of a release should say what it is.
func parseOptions(args []string, stdout, stderr io.Writer) (opts *options, status int, ok bool) {
	producer := nsqclient.NewOptions()
	fs := toolflags.NewFlagSet(toolName, stderr)
	logs := toolflags.NewLogs(fs, stderr)
	topic := fs.String("topic", "", "NSQ topic to publish to")
	delimiter := fs.String("delimiter", "\n", "character to split input from stdin")
	var nsqdAddrs toolflags.StringList
	fs.Var(&nsqdAddrs, "nsqd-tcp-address", "destination nsqd TCP address (may be given multiple times)")
	fs.Var(toolflags.ClientOptions{Opts: producer}, "producer-opt",
		"option to passthrough to nsq.Producer (may be given multiple times, http://godoc.org/github.com/nsqio/go-nsq#Config)")
	rate := fs.Int64("rate", 0, "Throttle messages to n/second. 0 to disable")
	showVersion := fs.Bool("version", false, "print version string")
	if status, ok := toolflags.Parse(fs, args); !ok {
		return nil, status, false
	}
	if *showVersion {
		toolflags.PrintVersion(stdout, toolName)
		return nil, toolflags.ExitOK, false
	}

	switch {
	case *topic == "":
		return nil, logs.Fatalf("--topic required"), false
	case len(*delimiter) != 1:
		return nil, logs.Fatalf("--delimiter must be a single byte"), false
	case len(nsqdAddrs) == 0:
		return nil, logs.Fatalf("--nsqd-tcp-address required"), false
	}
	// Set after parsing so that --producer-opt cannot change it, as
	// upstream.
	producer.UserAgent = nsqclient.ToolUserAgent(toolName)
	producer.Logger = logs.Logger()
	return &options{
		logs:      logs,
		topic:     *topic,
		delimiter: (*delimiter)[0],
		nsqdAddrs: dedupe(nsqdAddrs),
		rate:      *rate,
		producer:  producer,
	}, 0, true
}

// dedupe drops repeated addresses, keeping the first: upstream keys its
// producers by address, so a repeated one is published to once.
func dedupe(addrs []string) []string {
	seen := map[string]bool{}
	var out []string
	for _, a := range addrs {
		if !seen[a] {
			seen[a] = true
			out = append(out, a)
		}
	}
	return out
}

// newProducers makes one producer per address; they dial on first use.
func newProducers(opts *options) ([]*nsqclient.Producer, error) {
	var producers []*nsqclient.Producer
	for _, addr := range opts.nsqdAddrs {
		p, err := nsqclient.NewProducer(addr, opts.producer)
		if err != nil {
			for _, made := range producers {
				made.Stop()
			}
			return nil, fmt.Errorf("failed to create nsq.Producer - %w", err)
		}
		producers = append(producers, p)
	}
	return producers, nil
}
