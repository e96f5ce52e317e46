package main

import (
	"bytes"
	"context"
	"flag"
	"os"
	"path/filepath"
	"regexp"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/nsqgo/nsq/internal/logging"
	"github.com/nsqgo/nsq/internal/tooltest"
)

func TestDefaultsAreUpstreams(t *testing.T) {
	opts, showVersion, err := parseOptions(nil, &bytes.Buffer{})
	require.NoError(t, err)
	require.False(t, showVersion)
	hostname, _ := os.Hostname()
	require.Equal(t, "0.0.0.0:4160", opts.TCPAddress)
	require.Equal(t, "0.0.0.0:4161", opts.HTTPAddress)
	require.Equal(t, hostname, opts.BroadcastAddress)
	require.Equal(t, 5*time.Minute, opts.InactiveProducerTimeout)
	require.Equal(t, 45*time.Second, opts.TombstoneLifetime)
	require.Equal(t, logging.Info, opts.LogLevel)
	require.Equal(t, "[nsqlookupd] ", opts.LogPrefix)
}

func TestFlagsAreParsed(t *testing.T) {
	opts, _, err := parseOptions([]string{
		"--tcp-address=127.0.0.1:1", "--http-address", "127.0.0.1:2", "--broadcast-address=lk1",
		"--inactive-producer-timeout=3s", "--tombstone-lifetime=1m", "--log-level=debug",
		"--log-prefix=[x] ", "--verbose",
	}, &bytes.Buffer{})
	require.NoError(t, err)
	require.Equal(t, "127.0.0.1:1", opts.TCPAddress)
	require.Equal(t, "127.0.0.1:2", opts.HTTPAddress)
	require.Equal(t, "lk1", opts.BroadcastAddress)
	require.Equal(t, 3*time.Second, opts.InactiveProducerTimeout)
	require.Equal(t, time.Minute, opts.TombstoneLifetime)
	require.Equal(t, logging.Debug, opts.LogLevel)
	require.Equal(t, "[x] ", opts.LogPrefix)
}

func TestBadFlagsAreUsageErrors(t *testing.T) {
	for _, args := range [][]string{
		{"--no-such-flag"},
		{"--log-level=loud"},
		{"--tombstone-lifetime=soon"},
		{"--inactive-producer-timeout"},
		{"stray"},
	} {
		var usage bytes.Buffer
		_, _, err := parseOptions(args, &usage)
		var ue usageError
		require.ErrorAs(t, err, &ue, "%v", args)
		require.Contains(t, usage.String(), "-tcp-address", "usage is printed for %v", args)
	}
	_, _, err := parseOptions([]string{"-h"}, &bytes.Buffer{})
	require.ErrorIs(t, err, flag.ErrHelp)
}

func writeConfig(t *testing.T, text string) string {
	path := filepath.Join(t.TempDir(), "nsqlookupd.cfg")
	require.NoError(t, os.WriteFile(path, []byte(text), 0o644))
	return path
}

func TestConfigFileFillsWhatFlagsDoNotSet(t *testing.T) {
	path := writeConfig(t, `
log_level = "warn"
tcp_address = "127.0.0.1:14160"
http_address = "127.0.0.1:14161"
broadcast_address = "lookupd1.example"
inactive_producer_timeout = "300s"
tombstone_lifetime = 30000
verbose = true
version = true
`)
	opts, showVersion, err := parseOptions([]string{"--config", path, "--http-address=127.0.0.1:9"}, &bytes.Buffer{})
	require.NoError(t, err)
	require.False(t, showVersion, "version cannot be set from the file")
	require.Equal(t, logging.Warn, opts.LogLevel)
	require.Equal(t, "127.0.0.1:14160", opts.TCPAddress)
	require.Equal(t, "127.0.0.1:9", opts.HTTPAddress, "the command line wins")
	require.Equal(t, "lookupd1.example", opts.BroadcastAddress)
	require.Equal(t, 300*time.Second, opts.InactiveProducerTimeout)
	require.Equal(t, 30*time.Second, opts.TombstoneLifetime, "integers are milliseconds")
}

func TestBadConfigFileIsAnError(t *testing.T) {
	for text, want := range map[string]string{
		`log_level = "loud"`:           "failed parsing log_level",
		`tombstone_lifetime = "later"`: "failed parsing tombstone_lifetime",
		`tcp_address = = 1`:            "failed to load config file",
	} {
		_, _, err := parseOptions([]string{"--config=" + writeConfig(t, text)}, &bytes.Buffer{})
		require.ErrorContains(t, err, want)
		var ue usageError
		require.NotErrorAs(t, err, &ue)
	}
	_, _, err := parseOptions([]string{"--config=" + filepath.Join(t.TempDir(), "missing.cfg")}, &bytes.Buffer{})
	require.ErrorContains(t, err, "failed to load config file")
}

func TestRunVersion(t *testing.T) {
	var stdout, stderr bytes.Buffer
	require.Equal(t, 0, run(context.Background(), []string{"--version"}, &stdout, &stderr))
	require.Regexp(t, `^nsqlookupd v1\.3\.0 \(built w/`+regexp.QuoteMeta(runtime.Version())+`\) nsqgo \S+\n$`, stdout.String())
}

func TestRunExitStatuses(t *testing.T) {
	var out bytes.Buffer
	require.Equal(t, 2, run(context.Background(), []string{"--bogus"}, &out, &out))
	require.Equal(t, 0, run(context.Background(), []string{"--help"}, &out, &out))
	require.Equal(t, 1, run(context.Background(), []string{"--config=" + writeConfig(t, `log_level = "x"`)}, &out, &out))

	out.Reset()
	require.Equal(t, 1, run(context.Background(), []string{"--tcp-address=256.0.0.1:0", "--http-address=127.0.0.1:0"}, &out, &out))
	require.Contains(t, out.String(), "FATAL: failed to instantiate nsqlookupd - listen (256.0.0.1:0) failed")
}

// Cancelling the context is what SIGINT/SIGTERM do in main.
func TestRunStopsOnSignalContext(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	logs := tooltest.NewBuffer()
	code := make(chan int, 1)
	go func() {
		code <- run(ctx, []string{"--tcp-address=127.0.0.1:0", "--http-address=127.0.0.1:0"}, logs, logs)
	}()
	logs.WaitFor(t, "the daemon to start", func(s string) bool { return strings.Contains(s, "HTTP: listening on") })
	cancel()
	select {
	case c := <-code:
		require.Equal(t, 0, c)
	case <-time.After(tooltest.WaitTimeout):
		t.Fatal("run did not return after the signal")
	}
	require.Contains(t, logs.String(), "exited")
}
