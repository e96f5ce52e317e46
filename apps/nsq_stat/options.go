package main

import (
	"errors"
	"io"
	"strconv"
	"strings"
	"time"

	"github.com/nsqgo/nsq/internal/toolflags"
)

const toolName = "nsq_stat"

// options is nsq_stat's validated command line.
type options struct {
	logs           *toolflags.Logs // --log-format; every line the tool writes to stderr
	topic          string
	channel        string
	interval       time.Duration
	connectTimeout time.Duration
	requestTimeout time.Duration
	count          int // report lines to print; 0 = until a signal
	nsqdAddrs      []string
	lookupAddrs    []string
}

// countFlag is --count: unset means unlimited, so 0 given explicitly can
// be rejected.
type countFlag struct {
	set   bool
	value int
}

func (c *countFlag) String() string { return "N" }

func (c *countFlag) Set(s string) error {
	n, err := strconv.ParseInt(s, 10, 32)
	if err != nil {
		return err
	}
	c.value, c.set = int(n), true
	return nil
}

// parseOptions reads the command line; when ok is false the caller exits
// with status (0 after --version or --help, 2 for a flag error, 1 for a
// failed check, with upstream's messages in upstream's order).
func parseOptions(args []string, stdout, stderr io.Writer) (opts *options, status int, ok bool) {
	fs := toolflags.NewFlagSet(toolName, stderr)
	logs := toolflags.NewLogs(fs, stderr)
	showVersion := fs.Bool("version", false, "print version")
	topic := fs.String("topic", "", "NSQ topic")
	channel := fs.String("channel", "", "NSQ channel")
	interval := fs.Duration("interval", 2*time.Second, "duration of time between polling/printing output")
	connectTimeout := fs.Duration("http-client-connect-timeout", 2*time.Second, "timeout for HTTP connect")
	requestTimeout := fs.Duration("http-client-request-timeout", 5*time.Second, "timeout for HTTP request")
	var count countFlag
	var nsqdAddrs, lookupAddrs toolflags.StringList
	fs.Var(&nsqdAddrs, "nsqd-http-address", "nsqd HTTP address (may be given multiple times)")
	fs.Var(&lookupAddrs, "lookupd-http-address", "lookupd HTTP address (may be given multiple times)")
	fs.Var(&count, "count", "number of reports")
	if status, ok := toolflags.Parse(fs, args); !ok {
		return nil, status, false
	}
	if *showVersion {
		toolflags.PrintVersion(stdout, toolName)
		return nil, toolflags.ExitOK, false
	}
	if msg := check(*topic, *channel, *interval, *connectTimeout, *requestTimeout, count, nsqdAddrs, lookupAddrs); msg != "" {
		return nil, logs.Fatalf("%s", msg), false
	}
	return &options{
		logs:           logs,
		topic:          *topic,
		channel:        *channel,
		interval:       *interval,
		connectTimeout: *connectTimeout,
		requestTimeout: *requestTimeout,
		count:          count.value,
		nsqdAddrs:      nsqdAddrs,
		lookupAddrs:    lookupAddrs,
	}, 0, true
}

// check returns upstream's message for the first problem, or "".
func check(topic, channel string, interval, connectTimeout, requestTimeout time.Duration,
	count countFlag, nsqdAddrs, lookupAddrs []string) string {
	switch {
	case topic == "" || channel == "":
		return "--topic and --channel are required"
	case interval <= 0:
		return "--interval should be positive"
	case connectTimeout <= 0:
		return "--http-client-connect-timeout should be positive"
	case requestTimeout <= 0:
		return "--http-client-request-timeout should be positive"
	case count.set && count.value <= 0:
		return "--count should be positive"
	case len(nsqdAddrs) == 0 && len(lookupAddrs) == 0:
		return "--nsqd-http-address or --lookupd-http-address required"
	case len(nsqdAddrs) > 0 && len(lookupAddrs) > 0:
		return "use --nsqd-http-address or --lookupd-http-address not both"
	}
	if err := checkNoScheme(nsqdAddrs); err != nil {
		return "--nsqd-http-address error - " + err.Error()
	}
	if err := checkNoScheme(lookupAddrs); err != nil {
		return "--lookupd-http-address error - " + err.Error()
	}
	return ""
}

// checkNoScheme rejects "http://host:port": the addresses are host:port.
func checkNoScheme(addrs []string) error {
	for _, a := range addrs {
		if strings.HasPrefix(a, "http") {
			return errors.New("address should not contain scheme")
		}
	}
	return nil
}
