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

func TestFatalfWritesInTheProjectsLogFormat(t *testing.T) {
	var stderr bytes.Buffer
	require.Equal(t, ExitFatal, Fatalf(&stderr, "--%s required", "topic"))
	require.Regexp(t, `^\d{4}/\d\d/\d\d \d\d:\d\d:\d\d\.\d{6} FATAL: --topic required\n$`, stderr.String())
}

func TestLogsTakeTheFormatOfTheCommandLine(t *testing.T) {
	for _, tc := range []struct {
		args []string
		line string
	}{
		{nil, `^\d{4}/\d\d/\d\d \d\d:\d\d:\d\d\.\d{6} INFO: hello 1\n` +
			`\d{4}/\d\d/\d\d \d\d:\d\d:\d\d\.\d{6} ERROR: oops\n` +
			`\d{4}/\d\d/\d\d \d\d:\d\d:\d\d\.\d{6} FATAL: gone\n$`},
		{[]string{"--log-format=json"}, `^\{"time":"[^"]+","level":"INFO","msg":"hello 1"\}\n` +
			`\{"time":"[^"]+","level":"ERROR","msg":"oops"\}\n` +
			`\{"time":"[^"]+","level":"FATAL","msg":"gone"\}\n$`},
	} {
		var stderr bytes.Buffer
		fs := NewFlagSet("t", &stderr)
		logs := NewLogs(fs, &stderr)
		_, ok := Parse(fs, tc.args)
		require.True(t, ok)
		logs.Printf("hello %d", 1)
		logs.Errorf("oops")
		require.Equal(t, ExitFatal, logs.Fatalf("gone"))
		require.Regexp(t, tc.line, stderr.String(), "%v", tc.args)
	}
	var stderr bytes.Buffer
	fs := NewFlagSet("t", &stderr)
	NewLogs(fs, &stderr)
	status, ok := Parse(fs, []string{"--log-format=xml"})
	require.False(t, ok)
	require.Equal(t, ExitUsage, status)
	require.Contains(t, stderr.String(), `invalid log format "xml"`)
}

func TestPrintVersion(t *testing.T) {
	var out bytes.Buffer
	PrintVersion(&out, "nsq_tail")
	require.Regexp(t, `^nsq_tail v1\.3\.0 \(built w/go\S+\) nsqgo \S+\n$`, out.String())
}
