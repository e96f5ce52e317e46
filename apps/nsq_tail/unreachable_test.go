package main

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/nsqgo/nsq/internal/tooltest"
)

func TestUnreachableNSQDIsLoggedAndRetried(t *testing.T) {
	addr := tooltest.ClosedPort(t)
	p := tooltest.Start(t, run, nil, "--topic=t", "--nsqd-tcp-address="+addr)
	p.Stderr.WaitFor(t, "two failed connection attempts", func(s string) bool {
		return strings.Count(s, "("+addr+") error connecting to nsqd") >= 2
	})
	p.Stop()
	require.Equal(t, 0, p.Wait(t))
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
