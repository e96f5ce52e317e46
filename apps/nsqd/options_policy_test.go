package main

import (
	"io"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// The queue policy flags (issue 12) are off by default, and a bad value
// stops nsqd at start with exit status 1 rather than being ignored.
func TestPolicyFlagsDefaultOff(t *testing.T) {
	p, err := parseOptions(nil, io.Discard)
	require.NoError(t, err)
	require.Zero(t, p.opts.MaxAttempts)
	require.Zero(t, p.opts.MsgTTL)
	require.Zero(t, p.opts.MaxChannelDepth)
	require.Zero(t, p.opts.MaxChannelBytes)
	require.Equal(t, "reject-new", p.opts.Overflow)
	require.Equal(t, int64(100000), p.opts.MaxDeadDepth)

	p, err = parseOptions([]string{"--max-attempts=10", "--msg-ttl=1h", "--overflow=drop-oldest"}, io.Discard)
	require.NoError(t, err)
	require.Equal(t, 10, p.opts.MaxAttempts)
	require.Equal(t, time.Hour, p.opts.MsgTTL)
	require.Equal(t, "drop-oldest", p.opts.Overflow)
}

func TestBadPolicyFlagsFailStartup(t *testing.T) {
	for _, bad := range []string{"--max-attempts=65536", "--max-attempts=-1", "--overflow=drop-newest",
		"--msg-ttl=-1s", "--msg-ttl=1500us", "--max-channel-depth=-1", "--max-channel-bytes=-5", "--max-dead-depth=-1"} {
		code := run([]string{bad, "--tcp-address=127.0.0.1:0", "--http-address=127.0.0.1:0", "--data-path=" + t.TempDir()})
		require.Equal(t, 1, code, bad)
	}
}
