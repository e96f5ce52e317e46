package main

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/nsqgo/nsq/internal/tooltest"
)

// With --log-format=json every line nsqadmin writes, from the start-up line
// to the last, is one JSON object, as on the other binaries.
func TestJSONLogFormatWritesOneParseableObjectPerLine(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	stdout, stderr := tooltest.NewBuffer(), tooltest.NewBuffer()
	done := make(chan int, 1)
	go func() {
		done <- run(ctx, []string{"--log-format=json", "--http-address=127.0.0.1:0",
			"--nsqd-http-address=127.0.0.1:1"}, stdout, stderr)
	}()
	stderr.WaitFor(t, "the listening line", func(s string) bool { return strings.Contains(s, `"msg":"HTTP: listening on `) })
	cancel()
	select {
	case code := <-done:
		require.Zero(t, code)
	case <-time.After(10 * time.Second):
		t.Fatal("nsqadmin did not stop")
	}
	lines := strings.Split(strings.TrimSuffix(stderr.String(), "\n"), "\n")
	require.NotEmpty(t, lines)
	var msgs []string
	for _, line := range lines {
		var rec struct{ Time, Level, Msg, App string }
		require.NoError(t, json.Unmarshal([]byte(line), &rec), line)
		require.NotEmpty(t, rec.Time, line)
		require.NotEmpty(t, rec.Level, line)
		require.Equal(t, "nsqadmin", rec.App, line)
		msgs = append(msgs, rec.Msg)
	}
	require.Regexp(t, `^nsqadmin v1\.3\.0 \(built w/go\S+\) nsqgo \S+$`, msgs[0])
}

// A start-up failure is reported as a JSON object too, the last line.
func TestJSONLogFormatReportsStartUpFailureAsOneObject(t *testing.T) {
	stdout, stderr := tooltest.NewBuffer(), tooltest.NewBuffer()
	code := run(context.Background(), []string{"--log-format=json", "--http-address=127.0.0.1:-1",
		"--nsqd-http-address=127.0.0.1:1"}, stdout, stderr)
	require.Equal(t, 1, code)
	lines := strings.Split(strings.TrimSpace(stderr.String()), "\n")
	var rec struct{ Level, Msg, App string }
	for _, line := range lines {
		require.NoError(t, json.Unmarshal([]byte(line), &rec), line)
	}
	require.Equal(t, "FATAL", rec.Level)
	require.Contains(t, rec.Msg, "failed to instantiate nsqadmin")
}
