package main

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func TestDefaultsAreUpstreams(t *testing.T) {
	opts, showVersion, err := parseOptions(nil, &bytes.Buffer{})
	require.NoError(t, err)
	require.False(t, showVersion)
	require.Equal(t, "nsq_to_file", opts.Channel)
	require.Equal(t, 200, opts.MaxInFlight)
	require.Equal(t, "/tmp", opts.OutputDir)
	require.Empty(t, opts.WorkDir)
	require.Equal(t, "%Y-%m-%d_%H", opts.DatetimeFormat)
	require.Equal(t, "<TOPIC>.<HOST><REV>.<DATETIME>.log", opts.FilenameFormat)
	require.Equal(t, 6, opts.GZIPLevel)
	require.Equal(t, time.Minute, opts.TopicRefresh)
	require.Equal(t, 30*time.Second, opts.SyncInterval)
	require.Equal(t, 2*time.Second, opts.HTTPClientConnectTimeout)
	require.Equal(t, 5*time.Second, opts.HTTPClientRequestTimeout)
	require.Equal(t, "[nsq_to_file] ", opts.LogPrefix)
	require.Equal(t, "info", opts.LogLevel)
	require.Zero(t, opts.RotateSize)
	require.Zero(t, opts.RotateInterval)
}

func TestEveryFlagIsParsed(t *testing.T) {
	opts, showVersion, err := parseOptions([]string{
		"--topic=a", "--topic", "b", "--topic-pattern=^x", "--topic-refresh=5s", "--channel=c",
		"--nsqd-tcp-address=127.0.0.1:1", "--lookupd-http-address=127.0.0.1:2",
		"--consumer-opt=max_attempts,3", "--consumer-opt=snappy", "--max-in-flight=7",
		"--http-client-connect-timeout=1s", "--http-client-request-timeout=3s",
		"--log-prefix=[x] ", "--log-level=debug", "--output-dir=/o", "--work-dir=/w",
		"--datetime-format=%Y", "--filename-format=<TOPIC><REV>", "--host-identifier=h",
		"--gzip-level=9", "--gzip", "--skip-empty-files", "--rotate-size=100",
		"--rotate-interval=1m", "--sync-interval=2s", "--version",
	}, &bytes.Buffer{})
	require.NoError(t, err)
	require.True(t, showVersion)
	require.Equal(t, &Options{
		Topics: []string{"a", "b"}, TopicPattern: "^x", TopicRefresh: 5 * time.Second, Channel: "c",
		NSQDTCPAddrs: []string{"127.0.0.1:1"}, LookupdHTTPAddrs: []string{"127.0.0.1:2"},
		ConsumerOpts: []string{"max_attempts,3", "snappy"}, MaxInFlight: 7,
		HTTPClientConnectTimeout: time.Second, HTTPClientRequestTimeout: 3 * time.Second,
		LogPrefix: "[x] ", LogLevel: "debug", OutputDir: "/o", WorkDir: "/w",
		DatetimeFormat: "%Y", FilenameFormat: "<TOPIC><REV>", HostIdentifier: "h",
		GZIPLevel: 9, GZIP: true, SkipEmptyFiles: true, RotateSize: 100,
		RotateInterval: time.Minute, SyncInterval: 2 * time.Second,
	}, opts)
}

func TestBadCommandLinesExitWithUpstreamsMessages(t *testing.T) {
	dir := t.TempDir()
	ok := []string{"--topic=t", "--nsqd-tcp-address=127.0.0.1:1", "--output-dir=" + dir}
	for _, tc := range []struct {
		args []string
		code int
		msg  string
	}{
		{[]string{"--no-such-flag"}, 2, "flag provided but not defined: -no-such-flag"},
		{[]string{"--rotate-size=big"}, 2, "invalid value"},
		{append(ok, "stray", "args"), 1, "unknown arguments: [stray args]"},
		{append(ok, "--log-level=loud"), 1, "--log-level is invalid"},
		{append(ok, "--channel="), 1, "--channel is required"},
		{append(ok, "--http-client-connect-timeout=0"), 1, "--http-client-connect-timeout should be positive"},
		{append(ok, "--http-client-request-timeout=-1s"), 1, "--http-client-request-timeout should be positive"},
		{[]string{"--topic=t"}, 1, "--nsqd-tcp-address or --lookupd-http-address required."},
		{append(ok, "--lookupd-http-address=127.0.0.1:2"), 1, "use --nsqd-tcp-address or --lookupd-http-address not both"},
		{append(ok, "--gzip-level=10"), 1, "invalid --gzip-level value (10), should be 1-9"},
		{append(ok, "--gzip-level=0"), 1, "invalid --gzip-level value (0), should be 1-9"},
		{[]string{"--nsqd-tcp-address=127.0.0.1:1"}, 1, "--topic or --topic-pattern required"},
		{[]string{"--nsqd-tcp-address=127.0.0.1:1", "--topic-pattern=x"}, 1, "--lookupd-http-address must be specified when no --topic specified"},
		{append(ok, "--topic-pattern=("), 1, "invalid --topic-pattern"},
		{append(ok, "--consumer-opt=no_such,1"), 1, `invalid --consumer-opt "no_such,1"`},
		{append(ok, "--consumer-opt=max_attempts,-1"), 1, `invalid --consumer-opt "max_attempts,-1"`},
		{append(ok, "--gzip", "--filename-format=<TOPIC>.log"), 1,
			"missing <REV> in --filename-format when gzip, rotation, or work dir enabled"},
		{append(ok, "--work-dir="+t.TempDir(), "--filename-format=<TOPIC>.log"), 1, "missing <REV>"},
		{append(ok, "--max-in-flight=0"), 1, "--max-in-flight should be positive"},
		{append(ok, "--sync-interval=0"), 1, "--sync-interval should be positive"},
	} {
		code, stdout, stderr := runOnce(tc.args...)
		require.Equal(t, tc.code, code, "%v: %s", tc.args, stderr)
		require.Contains(t, stderr, tc.msg, "%v", tc.args)
		require.Empty(t, stdout)
	}
}

func TestHelpAndVersion(t *testing.T) {
	code, stdout, stderr := runOnce("--help")
	require.Zero(t, code)
	require.Contains(t, stderr, "-filename-format")
	require.Empty(t, stdout)

	code, stdout, _ = runOnce("--version")
	require.Zero(t, code)
	require.Regexp(t, `^nsq_to_file v1\.3\.0 \(built w/go\S+\) nsqgo \S+\n$`, stdout)
}

func TestUnusableDirectoriesAreReportedAtStartUp(t *testing.T) {
	file := filepath.Join(t.TempDir(), "a-file")
	require.NoError(t, os.WriteFile(file, nil, 0o644))

	code, _, stderr := runOnce("--topic=t", "--nsqd-tcp-address=127.0.0.1:1", "--output-dir="+filepath.Join(file, "sub"))
	require.Equal(t, 1, code)
	require.Contains(t, stderr, "--output-dir "+filepath.Join(file, "sub")+" is not usable")

	code, _, stderr = runOnce("--topic=t", "--nsqd-tcp-address=127.0.0.1:1", "--output-dir="+t.TempDir(),
		"--work-dir="+file, "--rotate-size=10")
	require.Equal(t, 1, code)
	require.Contains(t, stderr, "--work-dir "+file+" is not usable")

	// A directory that exists but cannot be written (root ignores modes,
	// so only check when not root).
	if os.Geteuid() != 0 {
		locked := filepath.Join(t.TempDir(), "locked")
		require.NoError(t, os.Mkdir(locked, 0o500))
		code, _, stderr = runOnce("--topic=t", "--nsqd-tcp-address=127.0.0.1:1", "--output-dir="+locked)
		require.Equal(t, 1, code)
		require.Contains(t, stderr, "is not writable")
	}
}

func TestStartUpCreatesMissingDirectoriesAndLeavesThemClean(t *testing.T) {
	base := t.TempDir()
	out, work := filepath.Join(base, "out", "deep"), filepath.Join(base, "work")
	code, _, stderr := runOnce("--topic=t", "--nsqd-tcp-address=127.0.0.1:1", "--output-dir="+out,
		"--work-dir="+work, "--rotate-size=10")
	require.Zero(t, code, stderr)
	require.DirExists(t, out)
	require.Empty(t, listFiles(t, base), "the writability probe is removed")
	require.False(t, strings.Contains(stderr, "FATAL"), stderr)
}

// A topic that can never be consumed is refused at start-up, naming the
// value, before any directory is created or any nsqd dialled; upstream
// logs "couldn't create logger for new topic" and idles for ever.
func TestTopicsThatCanNeverStartAreRefusedAtStartUp(t *testing.T) {
	for _, tc := range []struct {
		args []string
		msg  string
	}{
		{[]string{"--topic=bad topic!"}, `invalid topic name "bad topic!"`},
		{[]string{"--topic=ok", "--topic=" + strings.Repeat("x", 65)}, `invalid topic name "` + strings.Repeat("x", 65) + `"`},
		{[]string{"--topic=t", "--channel=bad!"}, `invalid channel name "bad!"`},
		{[]string{"--topic=a", "--topic=b", "--topic-pattern=^a"}, `--topic "b" does not match --topic-pattern "^a"`},
		{[]string{"--topic=t", "--nsqd-tcp-address=nocolon"},
			`connect to nsqd: nsqd address "nocolon": address nocolon: missing port in address`},
		{[]string{"--topic=t", "--nsqd-tcp-address=127.0.0.1:1", "--nsqd-tcp-address=127.0.0.1:2:3"},
			`connect to nsqd: nsqd address "127.0.0.1:2:3": address 127.0.0.1:2:3: too many colons in address`},
		{[]string{"--topic=t", "--nsqd-tcp-address=127.0.0.1:1", "--nsqd-tcp-address=127.0.0.1:1"},
			"connect to nsqd: nsqd 127.0.0.1:1: already connected"},
	} {
		out := filepath.Join(t.TempDir(), "out")
		args := append([]string{"--output-dir=" + out}, tc.args...)
		if !strings.Contains(strings.Join(tc.args, " "), "--nsqd-tcp-address") {
			args = append(args, "--nsqd-tcp-address=127.0.0.1:1")
		}
		code, stdout, stderr := runOnce(args...)
		require.Equal(t, 1, code, "%v: %s", tc.args, stderr)
		require.Regexp(t, `^\d{4}/\d\d/\d\d \d\d:\d\d:\d\d\.\d{6} FATAL: `+regexp.QuoteMeta(tc.msg)+"\n$", stderr, "%v", tc.args)
		require.Empty(t, stdout)
		require.NoDirExists(t, out, "%v: refused before start-up does anything", tc.args)
	}
}

// Valid names and addresses still start; topics from the lookupds are not
// checked at start-up (they come and go).
func TestValidTopicsAndAddressesStart(t *testing.T) {
	for _, args := range [][]string{
		{"--topic=a.B_c-9#ephemeral", "--channel=ch#ephemeral", "--nsqd-tcp-address=:4150", "--nsqd-tcp-address=[::1]:4150"},
		{"--topic=" + strings.Repeat("x", 64), "--topic-pattern=^x", "--nsqd-tcp-address=localhost:4150"},
		{"--topic=t", "--lookupd-http-address=http://127.0.0.1:1"},
		{"--topic-pattern=^a", "--lookupd-http-address=127.0.0.1:1"},
	} {
		code, _, stderr := runOnce(append(args, "--output-dir="+t.TempDir())...)
		require.Zero(t, code, "%v: %s", args, stderr)
		require.NotContains(t, stderr, "couldn't create logger", "%v", args)
	}
}

// The process itself exits 1 instead of idling with no consumer.
func TestProcessWithAnUnusableTopicExits(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), waitTimeout)
	defer cancel()
	for _, args := range [][]string{
		{"--topic=bad topic!", "--nsqd-tcp-address=127.0.0.1:1"},
		{"--topic=t", "--nsqd-tcp-address=nocolon"},
	} {
		cmd := exec.CommandContext(ctx, os.Args[0], append(args, "--output-dir="+t.TempDir())...)
		cmd.Env = asMainProcessEnv()
		output, err := cmd.CombinedOutput()
		require.NoError(t, ctx.Err(), "%v: nsq_to_file did not exit; output:\n%s", args, output)
		var exit *exec.ExitError
		require.ErrorAs(t, err, &exit, "%v: %s", args, output)
		require.Equal(t, 1, exit.ExitCode(), "%v: %s", args, output)
		require.NotContains(t, string(output), "couldn't create logger", "%v", args)
	}
}

func TestJSONLogFormatAppliesToStartUpFailures(t *testing.T) {
	code, _, stderr := runOnce("--log-format=json", "--topic=bad topic!", "--nsqd-tcp-address=127.0.0.1:1",
		"--output-dir="+t.TempDir())
	require.Equal(t, 1, code)
	var rec struct{ Time, Level, Msg string }
	require.NoError(t, json.Unmarshal([]byte(stderr), &rec), stderr)
	require.Equal(t, "FATAL", rec.Level)
	require.Contains(t, rec.Msg, `invalid topic name "bad topic!"`)
}
