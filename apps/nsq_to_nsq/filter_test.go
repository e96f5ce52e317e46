package main

import (
	"flag"
	"io"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/nsqgo/nsq/internal/toolflags"
)

func testFilter(requireField, requireValue string, whitelist ...string) *jsonFilter {
	return newJSONFilter(&options{requireField: requireField, requireValue: requireValue, whitelist: whitelist},
		toolflags.NewLogs(flag.NewFlagSet("test", flag.ContinueOnError), io.Discard))
}

func TestFilterPassesEverythingUntouchedWhenNotConfigured(t *testing.T) {
	out, pass, err := testFilter("", "").apply([]byte("not json"))
	require.NoError(t, err)
	require.True(t, pass)
	require.Equal(t, "not json", string(out))
}

func TestFilterDropsNonJSONWhenConfigured(t *testing.T) {
	_, pass, err := testFilter("a", "").apply([]byte("not json"))
	require.NoError(t, err)
	require.False(t, pass)
}

func TestFilterRequireField(t *testing.T) {
	f := testFilter("c", "")
	for body, want := range map[string]bool{
		`{"c":null}`:  true,
		`{"c":false}`: true,
		`{"d":1}`:     false,
		`[1,2]`:       false,
		`"c"`:         false,
	} {
		out, pass, err := f.apply([]byte(body))
		require.NoError(t, err, body)
		require.Equal(t, want, pass, body)
		if pass {
			require.Equal(t, body, string(out), "forwarded unchanged without a whitelist")
		}
	}
}

func TestFilterRequireValueComparesStringsAndNumbers(t *testing.T) {
	for _, tc := range []struct {
		value string
		body  string
		pass  bool
	}{
		{"x", `{"k":"x"}`, true},
		{"x", `{"k":"y"}`, false},
		{"7", `{"k":7}`, true},
		{"7", `{"k":7.0}`, true},
		{"7", `{"k":"7"}`, true},
		{"7", `{"k":8}`, false},
		{"x", `{"k":7}`, false},
		{"true", `{"k":true}`, false},
		{"x", `{"k":{"x":1}}`, false},
	} {
		_, pass, err := testFilter("k", tc.value).apply([]byte(tc.body))
		require.NoError(t, err, tc.body)
		require.Equal(t, tc.pass, pass, "%s against %s", tc.body, tc.value)
	}
}

func TestFilterMissingFieldWithRequiredValueFailsWithBackoff(t *testing.T) {
	_, pass, err := testFilter("k", "x").apply([]byte(`{"other":1}`))
	require.False(t, pass)
	require.ErrorIs(t, err, errBackoff)
}

func TestFilterWhitelistKeepsOnlyTheListedKeysAndNumbersVerbatim(t *testing.T) {
	out, pass, err := testFilter("", "", "a", "b", "missing").apply(
		[]byte(`{"a":12345678901234567890,"b":1.50,"c":3}`))
	require.NoError(t, err)
	require.True(t, pass)
	require.Equal(t, `{"a":12345678901234567890,"b":1.50}`, string(out))
}

func TestFilterWhitelistOfANonObjectFails(t *testing.T) {
	_, pass, err := testFilter("", "", "a").apply([]byte(`[1]`))
	require.False(t, pass)
	require.Error(t, err)
}
