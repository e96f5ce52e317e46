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

const sampleConfig = "../../contrib/nsqlookupd.toml"

// configurableKeys are the config keys of every flag --help lists.
func configurableKeys(t *testing.T) map[string]bool {
	var help bytes.Buffer
	_, _, err := parseOptions([]string{"--help"}, &help)
	require.Error(t, err)
	keys := map[string]bool{}
	for _, m := range regexp.MustCompile(`(?m)^  -([a-z0-9-]+)`).FindAllStringSubmatch(help.String(), -1) {
		if key := configKey(m[1]); key != "" {
			keys[key] = true
		}
	}
	require.Contains(t, keys, "tombstone_lifetime", "--help was parsed")
	return keys
}

func TestSampleConfigListsEveryKeyAndOnlyKnownOnes(t *testing.T) {
	set, commented, _, err := config.SampleKeys(sampleConfig)
	require.NoError(t, err)
	known := configurableKeys(t)
	listed := map[string]bool{}
	for _, key := range append(set, commented...) {
		require.True(t, known[key], "%s sets %q, which nsqlookupd does not read", sampleConfig, key)
		require.False(t, listed[key], "%q listed twice", key)
		listed[key] = true
	}
	for key := range known {
		require.True(t, listed[key], "%s does not document %q", sampleConfig, key)
	}
}

func TestSampleConfigIsAcceptedAndHoldsTheDefaults(t *testing.T) {
	fromFile, _, err := parseOptions([]string{"--config=" + sampleConfig}, os.Stderr)
	require.NoError(t, err)
	defaults, _, err := parseOptions(nil, os.Stderr)
	require.NoError(t, err)
	require.Equal(t, defaults, fromFile, "every value in %s is the default", sampleConfig)

	// The commented-out, host-dependent keys are valid as shown.
	_, _, uncommented, err := config.SampleKeys(sampleConfig)
	require.NoError(t, err)
	path := filepath.Join(t.TempDir(), "nsqlookupd.toml")
	require.NoError(t, os.WriteFile(path, []byte(uncommented), 0o644))
	opts, _, err := parseOptions([]string{"--config=" + path}, os.Stderr)
	require.NoError(t, err)
	require.Equal(t, "lookupd1.example.com", opts.BroadcastAddress)
}
