package main

import (
	"context"
	"regexp"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/nsqgo/nsq/internal/lookupdhttp"
	"github.com/nsqgo/nsq/internal/tooltest"
)

func TestPrintsNMessagesThenExits(t *testing.T) {
	n := tooltest.StartNSQD(t)
	tooltest.Publish(t, n.TCPAddr(), "events", "m1", "m2", "m3", "m4", "m5")
	code, stdout, stderr := tooltest.Run(t, run, nil,
		"--topic=events", "--nsqd-tcp-address="+n.TCPAddr(), "-n", "3")
	require.Equal(t, 0, code, stderr)
	require.Equal(t, "m1\nm2\nm3\n", stdout)
	require.Contains(t, stderr, "Adding consumer for topic: events")
}

func TestMessagesPastNGoBackToTheChannel(t *testing.T) {
	n := tooltest.StartNSQD(t)
	tooltest.Publish(t, n.TCPAddr(), "kept", "m1", "m2", "m3", "m4", "m5")
	code, stdout, stderr := tooltest.Run(t, run, nil,
		"--topic=kept", "--channel=durable", "--nsqd-tcp-address="+n.TCPAddr(), "-n=2")
	require.Equal(t, 0, code, stderr)
	require.Len(t, strings.Split(strings.TrimSpace(stdout), "\n"), 2)
	// The two printed are finished; the rest wait on the channel.
	tooltest.Eventually(t, "three messages back in the durable channel", func() bool {
		ch, ok := n.Channel("kept", "durable")
		return ok && ch.Depth == 3 && ch.InFlightCount == 0
	})
}

func TestPrintTopicPrefixesEachLineOfEachTopic(t *testing.T) {
	n := tooltest.StartNSQD(t)
	tooltest.Publish(t, n.TCPAddr(), "alpha", "one")
	tooltest.Publish(t, n.TCPAddr(), "beta", "two")
	code, stdout, stderr := tooltest.Run(t, run, nil,
		"--topic=alpha", "--topic=beta", "--print-topic", "--nsqd-tcp-address="+n.TCPAddr(), "-n=2")
	require.Equal(t, 0, code, stderr)
	require.ElementsMatch(t, []string{"alpha | one", "beta | two"}, strings.Split(strings.TrimSpace(stdout), "\n"))
}

func TestFindsNSQDsThroughLookupd(t *testing.T) {
	l := tooltest.StartLookupd(t)
	n := tooltest.StartNSQD(t, l.TCPAddr())
	tooltest.Publish(t, n.TCPAddr(), "found", "hello")
	lookup := lookupdhttp.New(lookupdhttp.Options{ConnectTimeout: tooltest.WaitTimeout, RequestTimeout: tooltest.WaitTimeout})
	defer lookup.Close()
	tooltest.Eventually(t, "topic registered with lookupd", func() bool {
		producers, err := lookup.Producers(context.Background(), l.HTTPAddr(), "found")
		return err == nil && len(producers) == 1
	})
	code, stdout, stderr := tooltest.Run(t, run, nil,
		"--topic=found", "--lookupd-http-address="+l.HTTPAddr(), "-n=1")
	require.Equal(t, 0, code, stderr)
	require.Equal(t, "hello\n", stdout)
}

func TestDefaultChannelIsEphemeralAndSignalStopsIt(t *testing.T) {
	n := tooltest.StartNSQD(t)
	p := tooltest.Start(t, run, nil, "--topic=live", "--nsqd-tcp-address="+n.TCPAddr())
	tooltest.Publish(t, n.TCPAddr(), "live", "first")
	require.Equal(t, []string{"first"}, p.Stdout.WaitForLines(t, 1))

	channels := n.GetStats("live", "", false).Topics[0].Channels
	require.Len(t, channels, 1)
	require.Regexp(t, regexp.MustCompile(`^tail\d{6}#ephemeral$`), channels[0].ChannelName)

	p.Stop()
	require.Equal(t, 0, p.Wait(t))
}

func TestVersion(t *testing.T) {
	code, stdout, _ := tooltest.Run(t, run, nil, "--version")
	require.Equal(t, 0, code)
	require.Regexp(t, `^nsq_tail v1\.3\.0 \(built w/go\S+\) nsqgo \S+\n$`, stdout)
}

func TestBadCommandLines(t *testing.T) {
	for _, tc := range []struct {
		name string
		args []string
		code int
		msg  string
	}{
		{"no source", []string{"--topic=t"}, 1, "--nsqd-tcp-address or --lookupd-http-address required"},
		{"both sources", []string{"--topic=t", "--nsqd-tcp-address=127.0.0.1:4150", "--lookupd-http-address=127.0.0.1:4161"}, 1,
			"use --nsqd-tcp-address or --lookupd-http-address not both"},
		{"no topic", []string{"--nsqd-tcp-address=127.0.0.1:4150"}, 1, "--topic required"},
		{"invalid topic", []string{"--topic=no spaces", "--nsqd-tcp-address=127.0.0.1:4150"}, 1, `invalid topic name "no spaces"`},
		{"bad nsqd address", []string{"--topic=t", "--nsqd-tcp-address=nowhere"}, 1, `nsqd address "nowhere"`},
		{"unknown flag", []string{"--nope"}, 2, "flag provided but not defined: -nope"},
		{"bad count", []string{"-n=many"}, 2, `invalid value "many" for flag -n`},
		{"bad consumer option", []string{"--consumer-opt=max_attempts,lots"}, 2, "invalid value"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			code, _, stderr := tooltest.Run(t, run, nil, tc.args...)
			require.Equal(t, tc.code, code, stderr)
			require.Contains(t, stderr, tc.msg)
		})
	}
}
