package main

import (
	"io"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func TestMetricsFlagDefaultsMatchUpstream(t *testing.T) {
	p, err := parseOptions(nil, io.Discard)
	require.NoError(t, err)
	opts := p.opts
	require.Equal(t, "", opts.StatsdAddress)
	require.Equal(t, "nsq.%s", opts.StatsdPrefix)
	require.Equal(t, time.Minute, opts.StatsdInterval)
	require.True(t, opts.StatsdMemStats)
	require.Equal(t, 508, opts.StatsdUDPPacketSize)
	require.False(t, opts.StatsdExcludeEphemeral)
	require.Empty(t, opts.E2EProcessingLatencyPercentiles)
	require.Equal(t, 10*time.Minute, opts.E2EProcessingLatencyWindowTime)
}

func TestMetricsFlagsParse(t *testing.T) {
	p, err := parseOptions([]string{
		"--statsd-address=127.0.0.1:8125", "--statsd-prefix=x.%s", "--statsd-interval=5s",
		"--statsd-mem-stats=false", "--statsd-udp-packet-size=1400", "--statsd-exclude-ephemeral",
		"--e2e-processing-latency-window-time=30s",
	}, io.Discard)
	require.NoError(t, err)
	opts := p.opts
	require.Equal(t, "127.0.0.1:8125", opts.StatsdAddress)
	require.Equal(t, "x.%s", opts.StatsdPrefix)
	require.Equal(t, 5*time.Second, opts.StatsdInterval)
	require.False(t, opts.StatsdMemStats)
	require.Equal(t, 1400, opts.StatsdUDPPacketSize)
	require.True(t, opts.StatsdExcludeEphemeral)
	require.Equal(t, 30*time.Second, opts.E2EProcessingLatencyWindowTime)
}

// Repeated and comma-separated values accumulate and end up sorted
// descending, as upstream keeps them.
func TestE2EPercentileFlagIsRepeatableCommaSeparatedAndSortedDescending(t *testing.T) {
	p, err := parseOptions([]string{
		"--e2e-processing-latency-percentile=0.5",
		"--e2e-processing-latency-percentile=0.99,1.0",
	}, io.Discard)
	require.NoError(t, err)
	require.Equal(t, []float64{1, 0.99, 0.5}, p.opts.E2EProcessingLatencyPercentiles)
}

func TestE2EPercentileFlagRejectsNonNumbers(t *testing.T) {
	_, err := parseOptions([]string{"--e2e-processing-latency-percentile=high"}, io.Discard)
	require.Error(t, err)
}

func TestMetricsConfigFileKeys(t *testing.T) {
	path := filepath.Join(t.TempDir(), "nsqd.toml")
	require.NoError(t, os.WriteFile(path, []byte(`
statsd_address = "127.0.0.1:8125"
statsd_prefix = "p"
statsd_interval = "30s"
statsd_mem_stats = false
statsd_udp_packet_size = 1000
statsd_exclude_ephemeral = true
e2e_processing_latency_percentiles = [0.95, 1.0, 0.99]
e2e_processing_latency_window_time = 60000
`), 0o600))
	p, err := parseOptions([]string{"--config=" + path}, io.Discard)
	require.NoError(t, err)
	opts := p.opts
	require.Equal(t, "127.0.0.1:8125", opts.StatsdAddress)
	require.Equal(t, "p", opts.StatsdPrefix)
	require.Equal(t, 30*time.Second, opts.StatsdInterval)
	require.False(t, opts.StatsdMemStats)
	require.Equal(t, 1000, opts.StatsdUDPPacketSize)
	require.True(t, opts.StatsdExcludeEphemeral)
	require.Equal(t, []float64{1, 0.99, 0.95}, opts.E2EProcessingLatencyPercentiles)
	require.Equal(t, time.Minute, opts.E2EProcessingLatencyWindowTime, "an integer duration is milliseconds")
}
