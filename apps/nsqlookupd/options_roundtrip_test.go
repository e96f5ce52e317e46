package main

import (
	"fmt"
	"io"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/nsqgo/nsq/nsqlookupd"
)

// Every declared option set by flag and the same set by the config file
// give the same Options, and each differs from the default, so an option
// the flag parser or the loader drops fails. nsqlookupd has no /config.
func TestEveryOptionRoundTripsThroughFlagAndFile(t *testing.T) {
	values := map[string]struct{ flag, toml string }{
		"log_level":                 {"warn", `"warn"`},
		"log_prefix":                {"[t] ", `"[t] "`},
		"log_format":                {"json", `"json"`},
		"tcp_address":               {"127.0.0.1:0", `"127.0.0.1:0"`},
		"http_address":              {"127.0.0.1:0", `"127.0.0.1:0"`},
		"broadcast_address":         {"lookupd.example", `"lookupd.example"`},
		"inactive_producer_timeout": {"30s", "30000"},
		"tombstone_lifetime":        {"10s", `"10s"`},
	}
	declared := nsqlookupd.NewOptions().Declarations()
	require.Len(t, declared, len(values), "every declared option has a round-trip value")
	var args []string
	var file strings.Builder
	for _, option := range declared {
		v, ok := values[option.ConfigKey()]
		require.True(t, ok, "--%s (%s) has no round-trip value", option.Flag, option.ConfigKey())
		args = append(args, "--"+option.Flag+"="+v.flag)
		fmt.Fprintf(&file, "%s = %s\n", option.ConfigKey(), v.toml)
	}
	byFlag, _, err := parseOptions(args, io.Discard)
	require.NoError(t, err)
	path := filepath.Join(t.TempDir(), "nsqlookupd.toml")
	require.NoError(t, os.WriteFile(path, []byte(file.String()), 0o600))
	byFile, _, err := parseOptions([]string{"--config=" + path}, io.Discard)
	require.NoError(t, err)
	require.Equal(t, byFlag, byFile, "the flags and the file set the same options")

	set := byFlag.Declarations()
	for i, option := range declared {
		require.NotEqual(t, reflect.ValueOf(option.Field).Elem().Interface(),
			reflect.ValueOf(set[i].Field).Elem().Interface(), "%s: the value is the default", option.ConfigKey())
	}
}
