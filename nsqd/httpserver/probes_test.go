package httpserver_test

import (
	"encoding/json"
	"net/http"
	"os"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/nsqgo/nsq/internal/tooltest"
	"github.com/nsqgo/nsq/internal/tooltest/daemons"
	"github.com/nsqgo/nsq/nsqd"
	"github.com/nsqgo/nsq/nsqd/httpserver"
)

func getProbe(t testing.TB, n *daemon, path string) (int, httpserver.ProbeAnswer) {
	t.Helper()
	status, body, header := httpDo(t, http.MethodGet, httpURL(n, path), nil)
	require.Equal(t, "application/json; charset=utf-8", header.Get("Content-Type"))
	var resp httpserver.ProbeAnswer
	require.NoError(t, json.Unmarshal(body, &resp), "%s", body)
	return status, resp
}

func TestHealthzAnswersOK(t *testing.T) {
	n := startDaemon(t, nil)
	status, resp := getProbe(t, n, "/healthz")
	require.Equal(t, http.StatusOK, status)
	require.Equal(t, "ok", resp.Status)
}

// A serving node without lookupds is ready, and every check says so.
func TestReadyzReadyWhenEveryCheckPasses(t *testing.T) {
	dataPath := t.TempDir()
	n := startDaemon(t, func(o *nsqd.Options) { o.DataPath = dataPath })
	status, resp := getProbe(t, n, "/readyz")
	require.Equal(t, http.StatusOK, status)
	require.Equal(t, "ready", resp.Status)
	require.Empty(t, resp.Failed)
	require.Equal(t, map[string]string{"listeners": "ok", "metadata": "ok", "disk": "ok", "lookupd": "ok"}, resp.Checks)
	entries, err := os.ReadDir(dataPath)
	require.NoError(t, err)
	for _, e := range entries {
		require.NotContains(t, e.Name(), ".readyz-", "the probe file is removed")
	}
}

// With lookupds configured, the node is ready once registered with one and
// not ready when it has lost them all.
func TestReadyzFollowsLookupdRegistration(t *testing.T) {
	lookupd := daemons.StartLookupd(t, nil)
	n := daemons.StartNSQD(t, []string{lookupd.TCPAddr()}, nil)
	tooltest.Eventually(t, "ready", func() bool {
		status, _ := getProbe(t, n, "/readyz")
		return status == http.StatusOK
	})
	lookupd.Stop()
	tooltest.Eventually(t, "not ready", func() bool {
		status, _ := getProbe(t, n, "/readyz")
		return status == http.StatusServiceUnavailable
	})
	_, resp := getProbe(t, n, "/readyz")
	require.Equal(t, []string{"lookupd"}, resp.Failed)
	require.Equal(t, "registered with none of 1 nsqlookupd", resp.Checks["lookupd"])
}
