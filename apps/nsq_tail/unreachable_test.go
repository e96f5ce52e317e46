package main

import (
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/nsqgo/nsq/internal/tooltest"
)

// Upstream exits 1 at once when a --nsqd-tcp-address cannot be reached
// (go-nsq dials before ConnectToNSQD returns); so does ours, rather than
// retry for ever.
func TestUnreachableNSQDIsFatalAtOnce(t *testing.T) {
	addr := tooltest.ClosedPort(t)
	code, stdout, stderr := tooltest.Run(t, run, nil, "--topic=t", "--nsqd-tcp-address="+addr)
	require.Equal(t, 1, code, stderr)
	require.Empty(t, stdout)
	require.Regexp(t, `FATAL: dial tcp `+regexp.QuoteMeta(addr)+`: connect: connection refused\n$`, stderr)
}

func TestUnreachableLookupdIsLoggedAndRetried(t *testing.T) {
	addr := tooltest.ClosedPort(t)
	p := tooltest.Start(t, run, nil, "--topic=t", "--lookupd-http-address="+addr,
		"--consumer-opt=lookupd_poll_interval,20ms")
	p.Stderr.WaitFor(t, "two failed lookups", func(s string) bool {
		return strings.Count(s, "error querying nsqlookupd ("+addr+")") >= 2
	})
}

func TestGarbageFromLookupdIsLoggedAndRetried(t *testing.T) {
	garbage := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Write([]byte("<html>not a lookupd</html>"))
	}))
	t.Cleanup(garbage.Close)
	p := tooltest.Start(t, run, nil, "--topic=t", "--lookupd-http-address="+garbage.URL,
		"--consumer-opt=lookupd_poll_interval,20ms")
	p.Stderr.WaitFor(t, "two undecodable answers", func(s string) bool {
		return strings.Count(s, "decode response") >= 2
	})
}
