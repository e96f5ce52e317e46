package main

import (
	"bytes"
	"context"
	"path/filepath"
	"regexp"
	"testing"

	"github.com/stretchr/testify/require"
)

// fatalLine matches upstream's fatal startup line: the fixed
// "[nsqlookupd] " prefix, then the log package's date and time with
// microseconds.
func fatalLine(message string) *regexp.Regexp {
	return regexp.MustCompile(`^\[nsqlookupd\] \d{4}/\d{2}/\d{2} \d{2}:\d{2}:\d{2}\.\d{6} FATAL: ` +
		regexp.QuoteMeta(message) + `\n$`)
}

// runCaptured runs nsqlookupd to completion and returns its exit status and
// what it wrote on stderr.
func runCaptured(t *testing.T, args ...string) (code int, stderr string) {
	t.Helper()
	var stdout, errOut bytes.Buffer
	code = run(context.Background(), args, &stdout, &errOut)
	return code, errOut.String()
}

func TestInstantiateFailureIsLoggedWithDateAndExitsOne(t *testing.T) {
	code, stderr := runCaptured(t, "--tcp-address=256.0.0.1:0", "--http-address=127.0.0.1:0", "--log-prefix=[other] ")
	require.Equal(t, 1, code)
	require.Regexp(t, `^\[nsqlookupd\] \d{4}/\d{2}/\d{2} \d{2}:\d{2}:\d{2}\.\d{6} FATAL: `+
		regexp.QuoteMeta("failed to instantiate nsqlookupd - listen (256.0.0.1:0) failed - ")+`.+\n$`, stderr)
}

func TestConfigSyntaxErrorIsFatalWithStatusOne(t *testing.T) {
	path := writeConfig(t, "tcp_address = = 1\n")
	code, stderr := runCaptured(t, "--config="+path)
	require.Equal(t, 1, code)
	require.Regexp(t, `^\[nsqlookupd\] \d{4}/\d{2}/\d{2} \d{2}:\d{2}:\d{2}\.\d{6} FATAL: `+
		`failed to load config file `+regexp.QuoteMeta(path)+` - toml: .+\n$`, stderr)
}

func TestMissingConfigFileIsFatalWithStatusOne(t *testing.T) {
	path := filepath.Join(t.TempDir(), "missing.cfg")
	code, stderr := runCaptured(t, "--config="+path)
	require.Equal(t, 1, code)
	require.Regexp(t, fatalLine("failed to load config file "+path+" - open "+path+": no such file or directory"), stderr)
}

func TestConfigBadValuesAreFatalWithStatusOne(t *testing.T) {
	for text, message := range map[string]string{
		`log_level = "loud"`:           "failed parsing log_level loud",
		`tombstone_lifetime = "later"`: "failed parsing tombstone_lifetime later",
	} {
		code, stderr := runCaptured(t, "--config="+writeConfig(t, text))
		require.Equal(t, 1, code, text)
		require.Regexp(t, fatalLine(message), stderr, text)
	}
}

func TestBadCommandLineExitsTwoWithoutFatalLine(t *testing.T) {
	for _, args := range [][]string{{"--no-such-flag"}, {"--tombstone-lifetime=soon"}, {"stray"}} {
		code, stderr := runCaptured(t, args...)
		require.Equal(t, 2, code, "%v", args)
		require.Contains(t, stderr, "Usage of nsqlookupd", "%v", args)
		require.NotContains(t, stderr, "FATAL", "%v", args)
	}
}
