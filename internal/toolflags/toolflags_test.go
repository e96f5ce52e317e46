package toolflags

import (
	"bytes"
	"io"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/nsqgo/nsq/internal/nsqclient"
)

func TestStringListKeepsEveryOccurrenceInOrder(t *testing.T) {
	fs := NewFlagSet("t", io.Discard)
	var l StringList
	fs.Var(&l, "x", "")
	require.NoError(t, fs.Parse([]string{"--x=b", "-x", "a", "--x=b"}))
	require.Equal(t, StringList{"b", "a", "b"}, l)
}

func TestClientOptionsSetsNamedOptions(t *testing.T) {
	opts := nsqclient.NewOptions()
	fs := NewFlagSet("t", io.Discard)
	fs.Var(ClientOptions{Opts: opts}, "consumer-opt", "")
	require.NoError(t, fs.Parse([]string{"--consumer-opt=max_attempts,7", "--consumer-opt=snappy", "--consumer-opt=read-timeout,2s"}))
	require.EqualValues(t, 7, opts.MaxAttempts)
	require.True(t, opts.Snappy, "a bare name sets a boolean")
	require.Equal(t, 2*time.Second, opts.ReadTimeout)
}

func TestParseExitStatuses(t *testing.T) {
	for _, tc := range []struct {
		args   []string
		status int
		ok     bool
	}{
		{[]string{"--v=1"}, ExitOK, true},
		{[]string{"--help"}, ExitOK, false},
		{[]string{"--nope"}, ExitUsage, false},
		{[]string{"--v=x"}, ExitUsage, false},
		{[]string{"--v=1", "extra"}, ExitUsage, false},
	} {
		var stderr bytes.Buffer
		fs := NewFlagSet("t", &stderr)
		fs.Int("v", 0, "")
		status, ok := Parse(fs, tc.args)
		require.Equal(t, tc.status, status, "%q", tc.args)
		require.Equal(t, tc.ok, ok, "%q", tc.args)
		if !tc.ok {
			require.Contains(t, stderr.String(), "Usage of t", "%q prints usage", tc.args)
		}
	}
}

func TestCheckSourceWantsExactlyOneKind(t *testing.T) {
	require.EqualError(t, CheckSource(nil, nil), "--nsqd-tcp-address or --lookupd-http-address required")
	require.EqualError(t, CheckSource([]string{"a"}, []string{"b"}), "use --nsqd-tcp-address or --lookupd-http-address not both")
	require.NoError(t, CheckSource([]string{"a"}, nil))
	require.NoError(t, CheckSource(nil, []string{"b"}))
}

func TestFatalfWritesLikeLogFatal(t *testing.T) {
	var stderr bytes.Buffer
	require.Equal(t, ExitFatal, Fatalf(&stderr, "--%s required", "topic"))
	require.Regexp(t, `^\d{4}/\d\d/\d\d \d\d:\d\d:\d\d --topic required\n$`, stderr.String())
}

func TestPrintVersion(t *testing.T) {
	var out bytes.Buffer
	PrintVersion(&out, "nsq_tail")
	require.Equal(t, "nsq_tail v1.3.0\n", out.String())
}
