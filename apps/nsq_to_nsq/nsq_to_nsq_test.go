package main

import (
	"fmt"
	"regexp"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/nsqgo/nsq/internal/tooltest"
)

// drained reports whether every message of the channel was finished: FINs
// are counted, since a message on its way from the channel to a connection
// is, for a moment, neither queued nor in flight (nsqd/pump.go).
func drained(n tooltest.NSQD, topic, channel string, total uint64) func() bool {
	return func() bool {
		ch, ok := n.Channel(topic, channel)
		var fin uint64
		for _, c := range ch.Clients {
			fin += c.FinishCount
		}
		return ok && ch.MessageCount == total && fin == total && ch.Depth == 0 && ch.InFlightCount == 0 && ch.DeferredCount == 0
	}
}

func bodies(n int) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = fmt.Sprintf("msg-%02d", i)
	}
	return out
}

func TestCopiesATopicToTheDestination(t *testing.T) {
	src, dst := tooltest.StartNSQD(t), tooltest.StartNSQD(t)
	want := bodies(20)
	tooltest.Publish(t, src.TCPAddr(), "orders", want...)
	p := tooltest.Start(t, run, nil, "--topic=orders", "--nsqd-tcp-address="+src.TCPAddr(),
		"--destination-nsqd-tcp-address="+dst.TCPAddr())

	got := tooltest.Consume(t, dst.TCPAddr(), "orders", "check").WaitFor(t, len(want))
	require.ElementsMatch(t, want, got)
	tooltest.Eventually(t, "source channel drained", drained(src, "orders", "nsq_to_nsq", 20))
	p.Stop()
	require.Equal(t, 0, p.Wait(t))
}

func TestDestinationTopicRenamesTheCopy(t *testing.T) {
	src, dst := tooltest.StartNSQD(t), tooltest.StartNSQD(t)
	tooltest.Publish(t, src.TCPAddr(), "a", "from-a")
	tooltest.Publish(t, src.TCPAddr(), "b", "from-b")
	tooltest.Start(t, run, nil, "--topic=a", "--topic=b", "--nsqd-tcp-address="+src.TCPAddr(),
		"--destination-topic=merged", "--destination-nsqd-tcp-address="+dst.TCPAddr())
	got := tooltest.Consume(t, dst.TCPAddr(), "merged", "check").WaitFor(t, 2)
	require.ElementsMatch(t, []string{"from-a", "from-b"}, got)
}

func TestMessageIsNotFinishedUntilTheDestinationAcknowledges(t *testing.T) {
	src := tooltest.StartNSQD(t)
	tooltest.Publish(t, src.TCPAddr(), "held", "precious")
	tooltest.Start(t, run, nil, "--topic=held", "--nsqd-tcp-address="+src.TCPAddr(),
		"--destination-nsqd-tcp-address="+tooltest.ClosedPort(t))
	tooltest.Eventually(t, "failed PUB requeues the message", func() bool {
		ch, ok := src.Channel("held", "nsq_to_nsq")
		return ok && ch.RequeueCount >= 1
	})
	ch, _ := src.Channel("held", "nsq_to_nsq")
	require.EqualValues(t, 1, ch.Depth+ch.InFlightCount+ch.DeferredCount, "the message is still on the source")
}

func TestJSONFiltersForwardOnlyMatchingMessagesWithWhitelistedFields(t *testing.T) {
	src, dst := tooltest.StartNSQD(t), tooltest.StartNSQD(t)
	tooltest.Publish(t, src.TCPAddr(), "json",
		`{"a":1,"b":"two","c":3}`, `{"a":2,"b":"no c"}`, `not json`)
	tooltest.Start(t, run, nil, "--topic=json", "--nsqd-tcp-address="+src.TCPAddr(),
		"--destination-nsqd-tcp-address="+dst.TCPAddr(),
		"--whitelist-json-field=a", "--whitelist-json-field=b", "--require-json-field=c")
	tooltest.Eventually(t, "every source message finished", drained(src, "json", "nsq_to_nsq", 3))
	require.Equal(t, []string{`{"a":1,"b":"two"}`}, tooltest.Consume(t, dst.TCPAddr(), "json", "check").WaitFor(t, 1))
	require.EqualValues(t, 1, dst.GetStats("json", "", false).Topics[0].MessageCount, "the others were dropped")
}

func TestRequireJSONValueForwardsOnlyThatValue(t *testing.T) {
	src, dst := tooltest.StartNSQD(t), tooltest.StartNSQD(t)
	tooltest.Publish(t, src.TCPAddr(), "kinds", `{"kind":"x","n":1}`, `{"kind":"y","n":2}`, `{"kind":7,"n":3}`)
	tooltest.Start(t, run, nil, "--topic=kinds", "--nsqd-tcp-address="+src.TCPAddr(),
		"--destination-nsqd-tcp-address="+dst.TCPAddr(), "--require-json-field=kind", "--require-json-value=x")
	tooltest.Eventually(t, "every source message finished", drained(src, "kinds", "nsq_to_nsq", 3))
	require.Equal(t, []string{`{"kind":"x","n":1}`}, tooltest.Consume(t, dst.TCPAddr(), "kinds", "check").WaitFor(t, 1))
	require.EqualValues(t, 1, dst.GetStats("kinds", "", false).Topics[0].MessageCount)
}

func TestRoundRobinSpreadsAcrossDestinations(t *testing.T) {
	src, d1, d2 := tooltest.StartNSQD(t), tooltest.StartNSQD(t), tooltest.StartNSQD(t)
	tooltest.Publish(t, src.TCPAddr(), "rr", bodies(10)...)
	tooltest.Start(t, run, nil, "--topic=rr", "--nsqd-tcp-address="+src.TCPAddr(), "--mode=round-robin",
		"--destination-nsqd-tcp-address="+d1.TCPAddr(), "--destination-nsqd-tcp-address="+d2.TCPAddr())
	// Both ends: the source's stats alone were seen to read drained while
	// a destination did not have the topic yet (under load; the messages
	// are finished only after their PUB is answered, so the source's
	// counts lag behind what is in flight).
	tooltest.Eventually(t, "source drained and every message at a destination", func() bool {
		return drained(src, "rr", "nsq_to_nsq", 10)() && topicMessages(d1, "rr")+topicMessages(d2, "rr") == 10
	})
	for _, d := range []tooltest.NSQD{d1, d2} {
		require.EqualValues(t, 5, topicMessages(d, "rr"))
	}
}

// topicMessages is how many messages n's topic has taken; 0 before it exists.
func topicMessages(n tooltest.NSQD, topic string) uint64 {
	stats := n.GetStats(topic, "", false)
	if len(stats.Topics) == 0 {
		return 0
	}
	return stats.Topics[0].MessageCount
}

func TestHostpoolRoutesAroundAFailedDestination(t *testing.T) {
	src, healthy := tooltest.StartNSQD(t), tooltest.StartNSQD(t)
	want := bodies(10)
	tooltest.Publish(t, src.TCPAddr(), "hp", want...)
	tooltest.Start(t, run, nil, "--topic=hp", "--nsqd-tcp-address="+src.TCPAddr(),
		"--destination-nsqd-tcp-address="+tooltest.ClosedPort(t), "--destination-nsqd-tcp-address="+healthy.TCPAddr(),
		// Redeliver failed messages at once, without pausing.
		"--consumer-opt=default_requeue_delay,0s", "--consumer-opt=max_backoff_duration,0s")
	got := tooltest.Consume(t, healthy.TCPAddr(), "hp", "check").WaitFor(t, len(want))
	require.ElementsMatch(t, want, got)
	tooltest.Eventually(t, "source drained", drained(src, "hp", "nsq_to_nsq", 10))
}

func TestStatusEveryLogsTimings(t *testing.T) {
	src, dst := tooltest.StartNSQD(t), tooltest.StartNSQD(t)
	tooltest.Publish(t, src.TCPAddr(), "timed", bodies(4)...)
	p := tooltest.Start(t, run, nil, "--topic=timed", "--nsqd-tcp-address="+src.TCPAddr(),
		"--destination-nsqd-tcp-address="+dst.TCPAddr(), "--status-every=2")
	p.Stderr.WaitFor(t, "two aggregate status lines", func(s string) bool {
		return len(regexpAll(`\[aggregate\]: finished 2 - 99th: [0-9.]+ms`, s)) == 2
	})
}

func TestVersion(t *testing.T) {
	code, stdout, _ := tooltest.Run(t, run, nil, "--version")
	require.Equal(t, 0, code)
	require.Regexp(t, `^nsq_to_nsq v1\.3\.0 \(built w/go\S+\) nsqgo \S+\n$`, stdout)
}

func TestBadCommandLines(t *testing.T) {
	src := "--nsqd-tcp-address=127.0.0.1:4150"
	dst := "--destination-nsqd-tcp-address=127.0.0.1:4150"
	for _, tc := range []struct {
		name string
		args []string
		code int
		msg  string
	}{
		{"no topic", []string{src, dst}, 1, "--topic and --channel are required"},
		{"empty channel", []string{"--topic=t", "--channel=", src, dst}, 1, "--topic and --channel are required"},
		{"invalid topic", []string{"--topic=a/b", src, dst}, 1, "--topic is invalid"},
		{"invalid destination topic", []string{"--topic=t", "--destination-topic=a b", src, dst}, 1, "--destination-topic is invalid"},
		{"invalid channel", []string{"--topic=t", "--channel=c!", src, dst}, 1, "--channel is invalid"},
		{"no source", []string{"--topic=t", dst}, 1, "--nsqd-tcp-address or --lookupd-http-address required"},
		{"both sources", []string{"--topic=t", src, "--lookupd-http-address=127.0.0.1:4161", dst}, 1, "not both"},
		{"no destination", []string{"--topic=t", src}, 1, "--destination-nsqd-tcp-address required"},
		{"bad destination", []string{"--topic=t", src, "--destination-nsqd-tcp-address=nowhere"}, 1, "failed creating producer"},
		{"unknown flag", []string{"--nope"}, 2, "flag provided but not defined: -nope"},
		{"bad status-every", []string{"--status-every=often"}, 2, `invalid value "often" for flag -status-every`},
		{"bad producer option", []string{"--producer-opt=nope"}, 2, "unknown option"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			code, _, stderr := tooltest.Run(t, run, nil, tc.args...)
			require.Equal(t, tc.code, code, stderr)
			require.Contains(t, stderr, tc.msg)
		})
	}
}

func regexpAll(pattern, s string) []string {
	return regexp.MustCompile(pattern).FindAllString(s, -1)
}
