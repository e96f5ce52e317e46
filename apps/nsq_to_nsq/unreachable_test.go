package main

import (
	"regexp"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/nsqgo/nsq/internal/tooltest"
)

// Upstream exits 1 at once when a --nsqd-tcp-address cannot be reached
// (go-nsq dials before ConnectToNSQD returns); so does ours, rather than
// retry for ever and exit 0 on SIGINT.
func TestUnreachableSourceNSQDIsFatalAtOnce(t *testing.T) {
	addr := tooltest.ClosedPort(t)
	code, _, stderr := tooltest.Run(t, run, nil, "--topic=t", "--nsqd-tcp-address="+addr, "--destination-nsqd-tcp-address=127.0.0.1:4150")
	require.Equal(t, 1, code, stderr)
	require.Regexp(t, `FATAL: dial tcp `+regexp.QuoteMeta(addr)+`: connect: connection refused\n$`, stderr)
}

func TestJSONLogFormatReportsTheFailureAsOneObject(t *testing.T) {
	addr := tooltest.ClosedPort(t)
	code, _, stderr := tooltest.Run(t, run, nil, "--log-format=json", "--topic=t", "--nsqd-tcp-address="+addr, "--destination-nsqd-tcp-address=127.0.0.1:4150")
	require.Equal(t, 1, code, stderr)
	require.Regexp(t, `(?m)^\{"time":"[^"]+","level":"FATAL","msg":"dial tcp `+regexp.QuoteMeta(addr)+`: connect: connection refused"\}\n$`, stderr)
}
