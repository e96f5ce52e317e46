package main

import (
	"encoding/json"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// startupLines are upstream's first two lines, with this project's name and
// the commit appended to the version: the binary built by the process
// tests carries a VCS stamp when built from a git checkout.
var startupLines = regexp.MustCompile(`(?m)^\[nsqd\] \d{4}/\d\d/\d\d \d\d:\d\d:\d\d\.\d{6} INFO: ` +
	`nsqd v1\.3\.0 \(built w/go\S+\) nsqgo (unknown|[0-9a-f]{12}(\+dirty)?)\n` +
	`\[nsqd\] \d{4}/\d\d/\d\d \d\d:\d\d:\d\d\.\d{6} INFO: ID: 77\n`)

func TestStartUpLinesNameVersionCommitAndNodeID(t *testing.T) {
	p := startNSQD(t, t.TempDir(), "--node-id=77")
	p.stop()
	require.Regexp(t, startupLines, p.log())
	require.True(t, strings.HasPrefix(p.log(), "[nsqd] "), "the version comes first:\n%s", p.log())
}

func TestJSONLogFormatWritesOneParseableObjectPerLine(t *testing.T) {
	p := launchNSQD(t, t.TempDir(), "--log-format=json", "--node-id=77")
	// The listening lines are the last of the start-up; polled, as the
	// process offers no other event.
	require.Eventually(t, func() bool { return strings.Contains(p.log(), `"msg":"HTTP: listening on `) },
		startTimeout, 10*time.Millisecond, "nsqd announced its listeners")
	p.stop()

	var msgs []string
	for _, line := range strings.Split(strings.TrimSuffix(p.log(), "\n"), "\n") {
		var rec struct {
			Time  time.Time `json:"time"`
			Level string    `json:"level"`
			Msg   string    `json:"msg"`
			App   string    `json:"app"`
		}
		require.NoError(t, json.Unmarshal([]byte(line), &rec), "line %q", line)
		require.False(t, rec.Time.IsZero(), line)
		require.NotEmpty(t, rec.Level, line)
		require.Equal(t, "nsqd", rec.App, line)
		msgs = append(msgs, rec.Msg)
	}
	require.GreaterOrEqual(t, len(msgs), 4)
	require.Regexp(t, `^nsqd v1\.3\.0 \(built w/go\S+\) nsqgo \S+$`, msgs[0])
	require.Equal(t, "ID: 77", msgs[1])
	require.Contains(t, msgs, "exited")
}

func TestBadLogFormatIsAUsageError(t *testing.T) {
	code, _, stderr := runCaptured(t, "--log-format=xml")
	require.Equal(t, 2, code)
	require.Contains(t, stderr, `invalid log format "xml" (want text or json)`)
}
