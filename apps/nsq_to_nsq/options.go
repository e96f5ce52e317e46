package main

import (
	"io"

	"github.com/nsqgo/nsq/internal/hostpool"
	"github.com/nsqgo/nsq/internal/nsqclient"
	"github.com/nsqgo/nsq/internal/protocol"
	"github.com/nsqgo/nsq/internal/toolflags"
)

const toolName = "nsq_to_nsq"

// options is nsq_to_nsq's validated command line.
type options struct {
	logs        *toolflags.Logs // --log-format; every line the tool writes to stderr
	topics      []string
	channel     string
	destTopic   string // "" publishes each message to the topic it came from
	destAddrs   []string
	nsqdAddrs   []string
	lookupAddrs []string
	mode        hostpool.Mode
	statusEvery int

	requireField string
	requireValue string
	whitelist    []string

	consumer *nsqclient.Options
	producer *nsqclient.Options
}

// parseOptions reads the command line; when ok is false the caller exits
// with status (0 after --version or --help, 2 for a flag error, 1 for a
// failed check, with upstream's messages in upstream's order).
func parseOptions(args []string, stdout, stderr io.Writer) (opts *options, status int, ok bool) {
	consumer, producer := nsqclient.NewOptions(), nsqclient.NewOptions()
	fs := toolflags.NewFlagSet(toolName, stderr)
	logs := toolflags.NewLogs(fs, stderr)
	showVersion := fs.Bool("version", false, "print version string")
	channel := fs.String("channel", "nsq_to_nsq", "nsq channel")
	destTopic := fs.String("destination-topic", "", "use this destination topic for all consumed topics (default is consumed topic name)")
	maxInFlight := fs.Int("max-in-flight", 200, "max number of messages to allow in flight")
	statusEvery := fs.Int("status-every", 250, "the # of requests between logging status (per destination), 0 disables")
	mode := fs.String("mode", "hostpool", "the upstream request mode options: round-robin, hostpool (default), epsilon-greedy")
	requireField := fs.String("require-json-field", "", "for JSON messages: only pass messages that contain this field")
	requireValue := fs.String("require-json-value", "", "for JSON messages: only pass messages in which the required field has this value")
	var topics, nsqdAddrs, lookupAddrs, destAddrs, whitelist toolflags.StringList
	fs.Var(&topics, "topic", "nsq topic (may be given multiple times)")
	fs.Var(&nsqdAddrs, "nsqd-tcp-address", "nsqd TCP address (may be given multiple times)")
	fs.Var(&destAddrs, "destination-nsqd-tcp-address", "destination nsqd TCP address (may be given multiple times)")
	fs.Var(&lookupAddrs, "lookupd-http-address", "lookupd HTTP address (may be given multiple times)")
	fs.Var(&whitelist, "whitelist-json-field", "for JSON messages: pass this field (may be given multiple times)")
	fs.Var(toolflags.ClientOptions{Opts: consumer}, "consumer-opt",
		"option to passthrough to nsq.Consumer (may be given multiple times, see http://godoc.org/github.com/nsqio/go-nsq#Config)")
	fs.Var(toolflags.ClientOptions{Opts: producer}, "producer-opt",
		"option to passthrough to nsq.Producer (may be given multiple times, see http://godoc.org/github.com/nsqio/go-nsq#Config)")
	if status, ok := toolflags.Parse(fs, args); !ok {
		return nil, status, false
	}
	if *showVersion {
		toolflags.PrintVersion(stdout, toolName)
		return nil, toolflags.ExitOK, false
	}

	if msg := check(topics, *channel, *destTopic); msg != "" {
		return nil, logs.Fatalf("%s", msg), false
	}
	if err := toolflags.CheckSource(nsqdAddrs, lookupAddrs); err != nil {
		return nil, logs.Fatalf("%s", err), false
	}
	if len(destAddrs) == 0 {
		return nil, logs.Fatalf("--destination-nsqd-tcp-address required"), false
	}
	// Any other mode is round-robin, as upstream.
	selected, _ := hostpool.ParseMode(*mode)

	ua := nsqclient.ToolUserAgent(toolName)
	logger := logs.Logger()
	consumer.MaxInFlight = *maxInFlight
	consumer.UserAgent, producer.UserAgent = ua, ua
	consumer.Logger, producer.Logger = logger, logger
	return &options{
		logs:         logs,
		topics:       topics,
		channel:      *channel,
		destTopic:    *destTopic,
		destAddrs:    destAddrs,
		nsqdAddrs:    nsqdAddrs,
		lookupAddrs:  lookupAddrs,
		mode:         selected,
		statusEvery:  *statusEvery,
		requireField: *requireField,
		requireValue: *requireValue,
		whitelist:    whitelist,
		consumer:     consumer,
		producer:     producer,
	}, 0, true
}

// check validates the names, returning upstream's message for the first
// problem, or "".
func check(topics []string, channel, destTopic string) string {
	if len(topics) == 0 || channel == "" {
		return "--topic and --channel are required"
	}
	for _, t := range topics {
		if !protocol.ValidName(t) {
			return "--topic is invalid"
		}
	}
	if destTopic != "" && !protocol.ValidName(destTopic) {
		return "--destination-topic is invalid"
	}
	if !protocol.ValidName(channel) {
		return "--channel is invalid"
	}
	return ""
}
