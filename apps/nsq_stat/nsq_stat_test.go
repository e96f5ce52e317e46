package main

import (
	"bytes"
	"context"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/nsqgo/nsq/internal/lookupdhttp"
	"github.com/nsqgo/nsq/internal/tooltest"
)

const (
	header1 = "------rate------+----------------depth----------------+--------------metadata---------------"
	header2 = "ingress  egress |   total     mem    disk inflt   def |     req     t-o         msgs clients"
)

// fill creates topic/channel on n and publishes count messages to it.
func fill(t *testing.T, n tooltest.NSQD, topic, channel string, count int) {
	t.Helper()
	q := url.Values{"topic": {topic}, "channel": {channel}}
	for _, path := range []string{"/topic/create?", "/channel/create?"} {
		resp, err := http.Post("http://"+n.HTTPAddr()+path+q.Encode(), "", nil)
		require.NoError(t, err)
		resp.Body.Close()
		require.Equal(t, http.StatusOK, resp.StatusCode, path)
	}
	bodies := make([]string, count)
	for i := range bodies {
		bodies[i] = "m"
	}
	tooltest.Publish(t, n.TCPAddr(), topic, bodies...)
}

func TestPrintsTheHeaderAndALinePerInterval(t *testing.T) {
	n := tooltest.StartNSQD(t)
	fill(t, n, "stat", "ch", 3)
	code, stdout, stderr := tooltest.Run(t, run, nil, "--nsqd-http-address="+n.HTTPAddr(),
		"--topic=stat", "--channel=ch", "--interval=20ms", "--count=2")
	require.Equal(t, 0, code, stderr)
	row := "      0       0 |       3       3       0     0     0 |       0       0            3       0"
	require.Equal(t, strings.Join([]string{header1, header2, row, row}, "\n")+"\n", stdout)
}

func TestSumsTheChannelAcrossNSQDsFoundThroughLookupd(t *testing.T) {
	l := tooltest.StartLookupd(t)
	n1, n2 := tooltest.StartNSQD(t, l.TCPAddr()), tooltest.StartNSQD(t, l.TCPAddr())
	fill(t, n1, "sum", "ch", 2)
	fill(t, n2, "sum", "ch", 5)
	lookup := lookupdhttp.New(lookupdhttp.Options{ConnectTimeout: tooltest.WaitTimeout, RequestTimeout: tooltest.WaitTimeout})
	defer lookup.Close()
	tooltest.Eventually(t, "both nsqds registered", func() bool {
		producers, err := lookup.Producers(context.Background(), l.HTTPAddr(), "sum")
		return err == nil && len(producers) == 2
	})
	code, stdout, stderr := tooltest.Run(t, run, nil, "--lookupd-http-address="+l.HTTPAddr(),
		"--topic=sum", "--channel=ch", "--interval=10ms", "--count=1")
	require.Equal(t, 0, code, stderr)
	lines := strings.Split(strings.TrimSuffix(stdout, "\n"), "\n")
	require.Len(t, lines, 3)
	require.Equal(t, "      0       0 |       7       7       0     0     0 |       0       0            7       0", lines[2])
}

func TestHeaderRepeatsEvery25Polls(t *testing.T) {
	n := tooltest.StartNSQD(t)
	fill(t, n, "many", "ch", 1)
	code, stdout, stderr := tooltest.Run(t, run, nil, "--nsqd-http-address="+n.HTTPAddr(),
		"--topic=many", "--channel=ch", "--interval=1ms", "--count=30")
	require.Equal(t, 0, code, stderr)
	lines := strings.Split(strings.TrimSuffix(stdout, "\n"), "\n")
	// Polls 0..30: the header before poll 0 and poll 25, a row for each
	// poll after the first.
	require.Len(t, lines, 2+24+2+6)
	require.Equal(t, header1, lines[0])
	require.Equal(t, header1, lines[26])
	require.Equal(t, header2, lines[27])
}

func TestRatesComeFromTheChangeOverTheInterval(t *testing.T) {
	var out bytes.Buffer
	prev := channelTotals{MessageCount: 10, Depth: 5}
	cur := channelTotals{MessageCount: 30, Depth: 10, MemoryDepth: 4, BackendDepth: 6, InFlightCount: 2,
		DeferredCount: 1, RequeueCount: 3, TimeoutCount: 4, ClientCount: 2}
	writeRow(&out, prev, cur, 2*time.Second)
	// ingress 20/2s; egress (20 arrived - 5 more waiting)/2s.
	require.Equal(t, "     10       7 |      10       4       6     2     1 |       3       4           30       2\n", out.String())
}

func TestMissingChannelIsFatal(t *testing.T) {
	n := tooltest.StartNSQD(t)
	fill(t, n, "stat", "ch", 1)
	code, _, stderr := tooltest.Run(t, run, nil, "--nsqd-http-address="+n.HTTPAddr(),
		"--topic=stat", "--channel=other", "--interval=10ms")
	require.Equal(t, 1, code)
	require.Contains(t, stderr, "ERROR: failed to find channel(other) in stats metadata for topic(stat)")
}

func TestUnreachableNSQDIsFatal(t *testing.T) {
	code, _, stderr := tooltest.Run(t, run, nil, "--nsqd-http-address="+tooltest.ClosedPort(t),
		"--topic=stat", "--channel=ch", "--interval=10ms")
	require.Equal(t, 1, code)
	require.Contains(t, stderr, "ERROR: failed to get topic producers - ")
	require.Contains(t, stderr, "connection refused")
}

func TestUnreachableLookupdIsFatal(t *testing.T) {
	code, _, stderr := tooltest.Run(t, run, nil, "--lookupd-http-address="+tooltest.ClosedPort(t),
		"--topic=stat", "--channel=ch", "--interval=10ms")
	require.Equal(t, 1, code)
	require.Contains(t, stderr, "ERROR: failed to get topic producers - ")
}

func TestSignalStopsPolling(t *testing.T) {
	n := tooltest.StartNSQD(t)
	fill(t, n, "stat", "ch", 1)
	p := tooltest.Start(t, run, nil, "--nsqd-http-address="+n.HTTPAddr(), "--topic=stat", "--channel=ch", "--interval=10ms")
	p.Stdout.WaitForLines(t, 3)
	p.Stop()
	require.Equal(t, 0, p.Wait(t))
}

func TestVersion(t *testing.T) {
	code, stdout, _ := tooltest.Run(t, run, nil, "--version")
	require.Equal(t, 0, code)
	require.Regexp(t, `^nsq_stat v1\.3\.0 \(built w/go\S+\) nsqgo \S+\n$`, stdout)
}

func TestBadCommandLines(t *testing.T) {
	names := []string{"--topic=t", "--channel=c"}
	nsqd := "--nsqd-http-address=127.0.0.1:4151"
	for _, tc := range []struct {
		name string
		args []string
		code int
		msg  string
	}{
		{"no channel", []string{"--topic=t", nsqd}, 1, "--topic and --channel are required"},
		{"zero interval", append(names, nsqd, "--interval=0s"), 1, "--interval should be positive"},
		{"zero connect timeout", append(names, nsqd, "--http-client-connect-timeout=0s"), 1, "--http-client-connect-timeout should be positive"},
		{"negative request timeout", append(names, nsqd, "--http-client-request-timeout=-1s"), 1, "--http-client-request-timeout should be positive"},
		{"zero count", append(names, nsqd, "--count=0"), 1, "--count should be positive"},
		{"no source", names, 1, "--nsqd-http-address or --lookupd-http-address required"},
		{"both sources", append(names, nsqd, "--lookupd-http-address=127.0.0.1:4161"), 1, "use --nsqd-http-address or --lookupd-http-address not both"},
		{"nsqd scheme", append(names, "--nsqd-http-address=http://127.0.0.1:4151"), 1, "--nsqd-http-address error - address should not contain scheme"},
		{"lookupd scheme", append(names, "--lookupd-http-address=http://127.0.0.1:4161"), 1, "--lookupd-http-address error - address should not contain scheme"},
		{"bad count", []string{"--count=x"}, 2, `invalid value "x" for flag -count`},
		{"bad interval", []string{"--interval=5"}, 2, `invalid value "5" for flag -interval`},
		{"unknown flag", []string{"--nope"}, 2, "flag provided but not defined: -nope"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			code, _, stderr := tooltest.Run(t, run, nil, tc.args...)
			require.Equal(t, tc.code, code, stderr)
			require.Contains(t, stderr, tc.msg)
		})
	}
}
