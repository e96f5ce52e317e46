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
