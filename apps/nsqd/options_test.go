package main

import (
	"io"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/nsqgo/nsq/internal/logging"
	"github.com/stretchr/testify/require"
)

func TestDefaultsMatchUpstream(t *testing.T) {
	p, err := parseOptions(nil, io.Discard)
	require.NoError(t, err)
	opts := p.opts
	require.Equal(t, "0.0.0.0:4150", opts.TCPAddress)
	require.Equal(t, "0.0.0.0:4151", opts.HTTPAddress)
	require.Equal(t, int64(10000), opts.MemQueueSize)
	require.Equal(t, int64(1048576), opts.MaxMsgSize)
	require.Equal(t, int64(5242880), opts.MaxBodySize)
	require.Equal(t, int64(2500), opts.MaxRdyCount)
	require.Equal(t, time.Minute, opts.MsgTimeout)
	require.Equal(t, 15*time.Minute, opts.MaxMsgTimeout)
	require.Equal(t, time.Hour, opts.MaxReqTimeout)
	require.Equal(t, int64(104857600), opts.MaxBytesPerFile)
	require.Equal(t, logging.Info, opts.LogLevel)
}

func TestFlagsAcceptUpstreamSpellings(t *testing.T) {
	p, err := parseOptions([]string{
		"-mem-queue-size", "5", "--msg-timeout=2s", "--lookupd-tcp-address=a:4160",
		"--lookupd-tcp-address=b:4160", "--log-level=WARN", "--node-id=7",
	}, io.Discard)
	require.NoError(t, err)
	require.Equal(t, int64(5), p.opts.MemQueueSize)
	require.Equal(t, 2*time.Second, p.opts.MsgTimeout)
	require.Equal(t, []string{"a:4160", "b:4160"}, p.opts.NSQLookupdTCPAddresses)
	require.Equal(t, logging.Warn, p.opts.LogLevel)
	require.Equal(t, int64(7), p.opts.ID)
}

func TestBadFlagsAreRejected(t *testing.T) {
	for _, args := range [][]string{
		{"--no-such-flag"},
		{"--mem-queue-size=lots"},
		{"--log-level=loud"},
		{"stray-argument"},
	} {
		_, err := parseOptions(args, io.Discard)
		require.Error(t, err, "%v", args)
	}
}

func TestConfigFileKeysAndPrecedence(t *testing.T) {
	path := filepath.Join(t.TempDir(), "nsqd.toml")
	require.NoError(t, os.WriteFile(path, []byte(`
id = 42
log_level = "warn"
msg_timeout = 30000
max_req_timeout = "2h"
mem_queue_size = 500
nsqlookupd_tcp_addresses = ["10.0.0.1:4160"]
`), 0o600))
	p, err := parseOptions([]string{"--config=" + path, "--mem-queue-size=700"}, io.Discard)
	require.NoError(t, err)
	require.Equal(t, int64(42), p.opts.ID)
	require.Equal(t, logging.Warn, p.opts.LogLevel)
	require.Equal(t, 30*time.Second, p.opts.MsgTimeout)
	require.Equal(t, 2*time.Hour, p.opts.MaxReqTimeout)
	require.Equal(t, int64(700), p.opts.MemQueueSize)
	require.Equal(t, []string{"10.0.0.1:4160"}, p.opts.NSQLookupdTCPAddresses)
}

func TestConfigFileErrorsAreReported(t *testing.T) {
	path := filepath.Join(t.TempDir(), "nsqd.toml")
	require.NoError(t, os.WriteFile(path, []byte(`log_level = "loud"`), 0o600))
	_, err := parseOptions([]string{"--config=" + path}, io.Discard)
	require.ErrorContains(t, err, "failed parsing log_level")
}

func TestInvalidNodeIDFailsStartup(t *testing.T) {
	code := run([]string{"--node-id=5000", "--tcp-address=127.0.0.1:0", "--http-address=127.0.0.1:0"})
	require.Equal(t, 1, code)
}
