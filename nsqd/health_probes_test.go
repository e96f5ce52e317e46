package nsqd

import (
	"encoding/json"
	"errors"
	"net/http"
	"os"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/nsqgo/nsq/nsqd/httpserver"
)

func getProbe(t testing.TB, n *NSQD, path string) (int, httpserver.ProbeAnswer) {
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
	n := startDaemon(t, nil)
	status, resp := getProbe(t, n, "/readyz")
	require.Equal(t, http.StatusOK, status)
	require.Equal(t, "ready", resp.Status)
	require.Empty(t, resp.Failed)
	require.Equal(t, map[string]string{"listeners": "ok", "metadata": "ok", "disk": "ok", "lookupd": "ok"}, resp.Checks)
	entries, err := os.ReadDir(n.dataPath())
	require.NoError(t, err)
	for _, e := range entries {
		require.NotContains(t, e.Name(), ".readyz-", "the probe file is removed")
	}
}

// A data path that disappeared, and a failed write, each make the node not
// ready, with the reason; /healthz still answers and /ping keeps its own
// meaning.
func TestReadyzNamesTheFailedDiskCheck(t *testing.T) {
	n := startDaemon(t, nil)
	dir := n.dataPath()
	moved := dir + ".moved"
	require.NoError(t, os.Rename(dir, moved))
	status, resp := getProbe(t, n, "/readyz")
	require.Equal(t, http.StatusServiceUnavailable, status)
	require.Equal(t, "not ready", resp.Status)
	require.Equal(t, []string{"disk"}, resp.Failed)
	require.Contains(t, resp.Checks["disk"], "data path not writable")
	require.Equal(t, "ok", resp.Checks["listeners"])
	status, _ = getProbe(t, n, "/healthz")
	require.Equal(t, http.StatusOK, status)
	require.NoError(t, os.Rename(moved, dir))

	n.recordWrite(errors.New("no space left on device"))
	status, resp = getProbe(t, n, "/readyz")
	require.Equal(t, http.StatusServiceUnavailable, status)
	require.Equal(t, []string{"disk"}, resp.Failed)
	require.Equal(t, "last write failed: no space left on device", resp.Checks["disk"])
	n.recordWrite(nil)
	status, _ = getProbe(t, n, "/readyz")
	require.Equal(t, http.StatusOK, status)
}

// With lookupds configured, the node is ready once registered with one and
// not ready when it has lost them all.
func TestReadyzFollowsLookupdRegistration(t *testing.T) {
	c := startCluster(t, 1, 1, nil)
	n := c.nsqds[0]
	waitFor(t, "ready", func() bool {
		status, _ := getProbe(t, n, "/readyz")
		return status == http.StatusOK
	})
	c.lookupds[0].stop()
	waitFor(t, "not ready", func() bool {
		status, _ := getProbe(t, n, "/readyz")
		return status == http.StatusServiceUnavailable
	})
	_, resp := getProbe(t, n, "/readyz")
	require.Equal(t, []string{"lookupd"}, resp.Failed)
	require.Equal(t, "registered with none of 1 nsqlookupd", resp.Checks["lookupd"])
}
