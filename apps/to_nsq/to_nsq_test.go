package main

import (
	"io"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/nsqgo/nsq/internal/clock"
	"github.com/nsqgo/nsq/internal/tooltest"
)

func TestPublishesEveryLineToEveryNSQD(t *testing.T) {
	n1, n2 := tooltest.StartNSQD(t), tooltest.StartNSQD(t)
	code, _, stderr := tooltest.Run(t, run, strings.NewReader("one\ntwo\n\nthree"),
		"--topic=lines", "--nsqd-tcp-address="+n1.TCPAddr(), "--nsqd-tcp-address", n2.TCPAddr())
	require.Equal(t, 0, code, stderr)
	for _, n := range []tooltest.NSQD{n1, n2} {
		got := tooltest.Consume(t, n.TCPAddr(), "lines", "check").WaitFor(t, 3)
		require.Equal(t, []string{"one", "two", "three"}, got)
		topic := n.GetStats("lines", "", false).Topics[0]
		require.EqualValues(t, 3, topic.MessageCount)
	}
}

func TestSplitsOnTheDelimiterFlag(t *testing.T) {
	n := tooltest.StartNSQD(t)
	code, _, stderr := tooltest.Run(t, run, strings.NewReader("a,b,c"),
		"--topic=csv", "--delimiter=,", "--nsqd-tcp-address="+n.TCPAddr())
	require.Equal(t, 0, code, stderr)
	require.Equal(t, []string{"a", "b", "c"}, tooltest.Consume(t, n.TCPAddr(), "csv", "check").WaitFor(t, 3))
}

// --rate=20 paces the publishes 50 ms apart on to_nsq's clock, the first
// at once: each waits for the clock to reach its time, and goes then.
func TestRateSpacesThePublishes(t *testing.T) {
	n := tooltest.StartNSQD(t)
	clk := clock.NewFake(time.Unix(1_700_000_000, 0))
	start := clk.Now()
	published := func() int64 {
		s := n.GetStats("paced", "", false)
		if len(s.Topics) == 0 {
			return 0
		}
		return int64(s.Topics[0].MessageCount)
	}
	// awaitArmed waits until to_nsq has set its pause for the next message
	// (armed was taken before the clock moved past the previous one).
	awaitArmed := func(armed <-chan struct{}, p *tooltest.Process) {
		t.Helper()
		select {
		case <-armed:
		case <-time.After(tooltest.WaitTimeout):
			t.Fatalf("to_nsq set no pause; stderr:\n%s", p.Stderr)
		}
	}

	armed := clk.Armed()
	p := tooltest.Start(t, runOnClock(clk), strings.NewReader("1\n2\n3\n4\n5\n"),
		"--topic=paced", "--rate=20", "--nsqd-tcp-address="+n.TCPAddr())
	awaitArmed(armed, p)
	require.Contains(t, p.Stderr.String(), "Throttling messages rate to max:20/second")
	for k := 2; k <= 5; k++ {
		// Message k-1 is published before to_nsq pauses for message k.
		require.EqualValues(t, k-1, published(), "before message %d's time", k)
		due, ok := clk.NextDeadline()
		require.True(t, ok)
		require.Equal(t, start.Add(time.Duration(k-1)*50*time.Millisecond), due, "message %d's time", k)
		clk.AdvanceTo(due.Add(-time.Millisecond))
		require.EqualValues(t, k-1, published(), "1 ms before message %d's time", k)
		armed = clk.Armed()
		clk.AdvanceTo(due)
		if k < 5 {
			awaitArmed(armed, p)
		}
	}
	require.Equal(t, 0, p.Wait(t), p.Stderr.String())
	require.EqualValues(t, 5, published())
	require.Zero(t, clk.Pending(), "no pause after the last message")
}

func TestSignalStopsWhileStdinIsIdle(t *testing.T) {
	n := tooltest.StartNSQD(t)
	stdin, feed := io.Pipe()
	t.Cleanup(func() { feed.Close() })
	p := tooltest.Start(t, run, stdin, "--topic=idle", "--nsqd-tcp-address="+n.TCPAddr())
	_, err := feed.Write([]byte("first\n"))
	require.NoError(t, err)
	tooltest.Eventually(t, "first message published", func() bool {
		s := n.GetStats("idle", "", false)
		return len(s.Topics) == 1 && s.Topics[0].MessageCount == 1
	})
	p.Stop()
	require.Equal(t, 0, p.Wait(t))
}

func TestUnreachableNSQDIsFatal(t *testing.T) {
	code, _, stderr := tooltest.Run(t, run, strings.NewReader("x\n"),
		"--topic=t", "--nsqd-tcp-address="+tooltest.ClosedPort(t))
	require.Equal(t, 1, code)
	require.Contains(t, stderr, "connection refused")
}

func TestBadCommandLines(t *testing.T) {
	for _, tc := range []struct {
		name string
		args []string
		code int
		msg  string
	}{
		{"no topic", []string{"--nsqd-tcp-address=127.0.0.1:4150"}, 1, "--topic required"},
		{"long delimiter", []string{"--topic=t", "--delimiter=ab", "--nsqd-tcp-address=127.0.0.1:4150"}, 1, "--delimiter must be a single byte"},
		{"empty delimiter", []string{"--topic=t", "--delimiter=", "--nsqd-tcp-address=127.0.0.1:4150"}, 1, "--delimiter must be a single byte"},
		{"no nsqd", []string{"--topic=t"}, 1, "--nsqd-tcp-address required"},
		{"bad nsqd address", []string{"--topic=t", "--nsqd-tcp-address=nowhere"}, 1, "failed to create nsq.Producer"},
		{"unknown flag", []string{"--topic=t", "--nope"}, 2, "flag provided but not defined: -nope"},
		{"bad rate", []string{"--rate=fast"}, 2, `invalid value "fast" for flag -rate`},
		{"unknown producer option", []string{"--producer-opt=nope,1"}, 2, "option nope: unknown option"},
		{"bad producer option value", []string{"--producer-opt=dial_timeout,soon"}, 2, "invalid value"},
		{"positional argument", []string{"--topic=t", "extra"}, 2, "unexpected arguments"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			code, _, stderr := tooltest.Run(t, run, nil, tc.args...)
			require.Equal(t, tc.code, code, stderr)
			require.Contains(t, stderr, tc.msg)
		})
	}
}

func TestVersionNamesThisProject(t *testing.T) {
	code, stdout, _ := tooltest.Run(t, run, nil, "--version")
	require.Equal(t, 0, code)
	require.Regexp(t, `^to_nsq v1\.3\.0 \(built w/go\S+\) nsqgo \S+\n$`, stdout)
}
