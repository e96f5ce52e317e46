package main

import (
	"bytes"
	"os"
	"path/filepath"
	"regexp"
	"testing"

	"github.com/stretchr/testify/require"
)

// fatalLine matches upstream's fatal startup line: the fixed "[nsqd] "
// prefix, then the log package's date and time with microseconds.
func fatalLine(message string) *regexp.Regexp {
	return regexp.MustCompile(`(?m)^\[nsqd\] \d{4}/\d{2}/\d{2} \d{2}:\d{2}:\d{2}\.\d{6} FATAL: ` +
		regexp.QuoteMeta(message) + `$`)
}

// runCaptured runs nsqd on loopback listeners and returns its exit status
// and what it wrote on stdout and stderr.
func runCaptured(t *testing.T, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	var out, errOut bytes.Buffer
	full := append([]string{"--tcp-address=127.0.0.1:0", "--http-address=127.0.0.1:0",
		"--data-path=" + t.TempDir()}, args...)
	code = runWith(full, &out, &errOut)
	return code, out.String(), errOut.String()
}

func writeConfigFile(t *testing.T, text string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "nsqd.toml")
	require.NoError(t, os.WriteFile(path, []byte(text), 0o600))
	return path
}

func TestInstantiateFailureIsLoggedWithDateAndExitsOne(t *testing.T) {
	code, _, stderr := runCaptured(t, "--node-id=5000", "--log-prefix=[other] ")
	require.Equal(t, 1, code)
	require.Regexp(t, fatalLine("failed to instantiate nsqd - --node-id must be [0,1024)"), stderr)
}

func TestConfigSyntaxErrorIsFatalWithStatusOne(t *testing.T) {
	path := writeConfigFile(t, "mem_queue_size = = 1\n")
	code, _, stderr := runCaptured(t, "--config="+path)
	require.Equal(t, 1, code)
	require.Regexp(t, regexp.MustCompile(`^\[nsqd\] \d{4}/\d{2}/\d{2} \d{2}:\d{2}:\d{2}\.\d{6} FATAL: `+
		`failed to load config file `+regexp.QuoteMeta(path)+` - toml: .+\n$`), stderr)
}

func TestMissingConfigFileIsFatalWithStatusOne(t *testing.T) {
	path := filepath.Join(t.TempDir(), "missing.toml")
	code, _, stderr := runCaptured(t, "--config="+path)
	require.Equal(t, 1, code)
	require.Regexp(t, fatalLine("failed to load config file "+path+" - open "+path+": no such file or directory"), stderr)
}

func TestConfigBadValuesAreFatalWithStatusOne(t *testing.T) {
	for text, message := range map[string]string{
		`log_level = "loud"`:      "failed parsing log_level loud",
		`tls_required = "maybe"`:  "failed parsing tls_required maybe",
		`tls_min_version = "v9"`:  "failed parsing tls_min_version v9",
		`msg_timeout = "shortly"`: "failed parsing msg_timeout shortly",
	} {
		code, _, stderr := runCaptured(t, "--config="+writeConfigFile(t, text))
		require.Equal(t, 1, code, text)
		require.Regexp(t, fatalLine(message), stderr, text)
		require.Equal(t, 1, bytes.Count([]byte(stderr), []byte("\n")), "only the fatal line: %q", stderr)
	}
}

func TestBadCommandLineExitsTwoWithUsage(t *testing.T) {
	for _, args := range [][]string{{"--no-such-flag"}, {"--mem-queue-size=lots"}, {"stray"}} {
		code, _, stderr := runCaptured(t, args...)
		require.Equal(t, 2, code, "%v", args)
		require.Contains(t, stderr, "Usage of nsqd", "%v", args)
		require.NotContains(t, stderr, "FATAL", "%v", args)
	}
}

func TestVersionDoesNotReadTheConfigFile(t *testing.T) {
	code, stdout, stderr := runCaptured(t, "--version", "--config="+writeConfigFile(t, "= broken"))
	require.Equal(t, 0, code)
	require.Regexp(t, `^nsqd v1\.3\.0 \(built w/go\S+\) nsqgo \S+\n$`, stdout)
	require.Empty(t, stderr)
}
