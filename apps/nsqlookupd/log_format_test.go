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

func TestJSONLogFormatWritesOneParseableObjectPerLine(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	stdout, stderr := tooltest.NewBuffer(), tooltest.NewBuffer()
	done := make(chan int, 1)
	go func() {
		done <- run(ctx, []string{"--log-format=json", "--tcp-address=127.0.0.1:0", "--http-address=127.0.0.1:0"},
			stdout, stderr)
	}()
	stderr.WaitFor(t, "the listening line", func(s string) bool { return strings.Contains(s, `"msg":"HTTP: listening on `) })
	cancel()
	select {
	case code := <-done:
		require.Zero(t, code)
	case <-time.After(10 * time.Second):
		t.Fatal("nsqlookupd did not stop")
	}
	var msgs []string
	for _, line := range strings.Split(strings.TrimSuffix(stderr.String(), "\n"), "\n") {
		var rec struct{ Time, Level, Msg, App string }
		require.NoError(t, json.Unmarshal([]byte(line), &rec), line)
		require.NotEmpty(t, rec.Time, line)
		require.Equal(t, "INFO", rec.Level, line)
		require.Equal(t, "nsqlookupd", rec.App, line)
		msgs = append(msgs, rec.Msg)
	}
	require.Regexp(t, `^nsqlookupd v1\.3\.0 \(built w/go\S+\) nsqgo \S+$`, msgs[0])
}
