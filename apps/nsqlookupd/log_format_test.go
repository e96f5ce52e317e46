package main

import (
	"bytes"
	"context"
	"encoding/json"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

type lockedBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *lockedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

func TestJSONLogFormatWritesOneParseableObjectPerLine(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var stdout, stderr lockedBuffer
	done := make(chan int, 1)
	go func() {
		done <- run(ctx, []string{"--log-format=json", "--tcp-address=127.0.0.1:0", "--http-address=127.0.0.1:0"},
			&stdout, &stderr)
	}()
	require.Eventually(t, func() bool { return strings.Contains(stderr.String(), `"msg":"HTTP: listening on `) },
		10*time.Second, 10*time.Millisecond)
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
