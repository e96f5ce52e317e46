package main

import (
	"io"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"
)

// Our flags beyond upstream's: defaults, command line and config file.
func TestPrometheusFlags(t *testing.T) {
	p, err := parseOptions(nil, io.Discard)
	require.NoError(t, err)
	require.False(t, p.opts.MetricsExcludeEphemeral)
	require.True(t, p.opts.MetricsE2EHistogram)

	p, err = parseOptions([]string{"--metrics-exclude-ephemeral", "--metrics-e2e-histogram=false"}, io.Discard)
	require.NoError(t, err)
	require.True(t, p.opts.MetricsExcludeEphemeral)
	require.False(t, p.opts.MetricsE2EHistogram)

	path := filepath.Join(t.TempDir(), "nsqd.toml")
	require.NoError(t, os.WriteFile(path, []byte("metrics_exclude_ephemeral = true\nmetrics_e2e_histogram = false\n"), 0o600))
	p, err = parseOptions([]string{"--config=" + path}, io.Discard)
	require.NoError(t, err)
	require.True(t, p.opts.MetricsExcludeEphemeral)
	require.False(t, p.opts.MetricsE2EHistogram)
}

func TestHTTPAuthFlag(t *testing.T) {
	p, err := parseOptions(nil, io.Discard)
	require.NoError(t, err)
	require.Equal(t, "off", p.opts.HTTPAuth)
	p, err = parseOptions([]string{"--http-auth=all", "--auth-http-address=127.0.0.1:4181"}, io.Discard)
	require.NoError(t, err)
	require.Equal(t, "all", p.opts.HTTPAuth)

	path := filepath.Join(t.TempDir(), "nsqd.toml")
	require.NoError(t, os.WriteFile(path, []byte("http_auth = \"publish\"\n"), 0o600))
	p, err = parseOptions([]string{"--config=" + path}, io.Discard)
	require.NoError(t, err)
	require.Equal(t, "publish", p.opts.HTTPAuth)
}

// Upstream master's flags and TOML keys for topology-aware consumption; an
// unknown experiment name is accepted, as upstream.
func TestTopologyFlags(t *testing.T) {
	p, err := parseOptions([]string{"--enable-experiment=topology-aware-consumption", "--enable-experiment=future-thing",
		"--topology-region=eu", "--topology-zone=eu-1a"}, io.Discard)
	require.NoError(t, err)
	require.Equal(t, []string{"topology-aware-consumption", "future-thing"}, p.opts.EnableExperiments)
	require.Equal(t, "eu", p.opts.TopologyRegion)
	require.Equal(t, "eu-1a", p.opts.TopologyZone)

	path := filepath.Join(t.TempDir(), "nsqd.toml")
	require.NoError(t, os.WriteFile(path, []byte("enable_experiment = [\"topology-aware-consumption\"]\ntopology_region = \"us\"\ntopology_zone = \"us-2b\"\n"), 0o600))
	p, err = parseOptions([]string{"--config=" + path}, io.Discard)
	require.NoError(t, err)
	require.Equal(t, []string{"topology-aware-consumption"}, p.opts.EnableExperiments)
	require.Equal(t, "us", p.opts.TopologyRegion)
	require.Equal(t, "us-2b", p.opts.TopologyZone)
}
