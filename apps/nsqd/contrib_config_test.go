package main

import (
	"bytes"
	"os"
	"path/filepath"
	"regexp"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/nsqgo/nsq/internal/config"
)

const sampleConfig = "../../contrib/nsqd.toml"

// configurableKeys are the config keys of every flag --help lists.
func configurableKeys(t *testing.T) map[string]bool {
	var help bytes.Buffer
	_, err := parseOptions([]string{"--help"}, &help)
	require.Error(t, err)
	keys := map[string]bool{}
	for _, m := range regexp.MustCompile(`(?m)^  -([a-z0-9-]+)`).FindAllStringSubmatch(help.String(), -1) {
		if key := configKey(m[1]); key != "" {
			keys[key] = true
		}
	}
	require.Contains(t, keys, "mem_queue_size", "--help was parsed")
	return keys
}

func TestSampleConfigListsEveryKeyAndOnlyKnownOnes(t *testing.T) {
	set, commented, _, err := config.SampleKeys(sampleConfig)
	require.NoError(t, err)
	known := configurableKeys(t)
	listed := map[string]bool{}
	for _, key := range append(set, commented...) {
		require.True(t, known[key], "%s sets %q, which nsqd does not read", sampleConfig, key)
		require.False(t, listed[key], "%q listed twice", key)
		listed[key] = true
	}
	for key := range known {
		require.True(t, listed[key], "%s does not document %q", sampleConfig, key)
	}
}

func TestSampleConfigIsAcceptedAndHoldsTheDefaults(t *testing.T) {
	fromFile, err := parseOptions([]string{"--config=" + sampleConfig}, os.Stderr)
	require.NoError(t, err)
	defaults, err := parseOptions(nil, os.Stderr)
	require.NoError(t, err)
	require.Equal(t, defaults.opts, fromFile.opts, "every value in %s is the default", sampleConfig)

	// The commented-out, host-dependent keys are valid as shown.
	_, _, uncommented, err := config.SampleKeys(sampleConfig)
	require.NoError(t, err)
	path := filepath.Join(t.TempDir(), "nsqd.toml")
	require.NoError(t, os.WriteFile(path, []byte(uncommented), 0o644))
	p, err := parseOptions([]string{"--config=" + path}, os.Stderr)
	require.NoError(t, err)
	require.Equal(t, "nsqd1.example.com", p.opts.BroadcastAddress)
	require.Zero(t, p.opts.ID)
}
