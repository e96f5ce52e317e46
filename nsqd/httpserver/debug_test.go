package httpserver_test

import (
	"net/http"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestHTTPPprofRoutesAsUpstream(t *testing.T) {
	n := startDaemon(t, nil)
	status, body := httpGet(t, n, "/debug/pprof/")
	require.Equal(t, http.StatusOK, status)
	require.Contains(t, string(body), "Types of profiles available")

	for _, path := range []string{
		"/debug/pprof/cmdline", "/debug/pprof/symbol", "/debug/pprof/heap?debug=1",
		"/debug/pprof/goroutine?debug=1", "/debug/pprof/block?debug=1", "/debug/pprof/threadcreate?debug=1",
	} {
		status, body := httpGet(t, n, path)
		require.Equal(t, http.StatusOK, status, "%s: %s", path, body)
	}
	status, body = httpPost(t, n, "/debug/pprof/symbol", "")
	require.Equal(t, http.StatusOK, status, "symbol takes POST too: %s", body)

	// Linked from the index page but not routed upstream.
	for _, path := range []string{"/debug/pprof/allocs", "/debug/pprof/mutex", "/debug/pprof/trace"} {
		status, body := httpGet(t, n, path)
		requireAPIError(t, http.StatusNotFound, "NOT_FOUND", status, body)
	}
}

func TestHTTPPprofWithoutSlashRedirects(t *testing.T) {
	n := startDaemon(t, nil)
	resp := httpNoRedirect(t, http.MethodGet, httpURL(n, "/debug/pprof"))
	require.Equal(t, http.StatusMovedPermanently, resp.StatusCode)
	require.Equal(t, "/debug/pprof/", resp.Header.Get("Location"))
}

func TestHTTPSetBlockRate(t *testing.T) {
	n := startDaemon(t, nil)
	status, body, _ := httpDo(t, http.MethodPut, httpURL(n, "/debug/setblockrate?rate=fast"), nil)
	require.Equal(t, http.StatusBadRequest, status)
	require.Equal(t, `invalid block rate : strconv.Atoi: parsing "fast": invalid syntax`, string(body))

	t.Cleanup(func() { httpDo(t, http.MethodPut, httpURL(n, "/debug/setblockrate?rate=0"), nil) })
	status, body, _ = httpDo(t, http.MethodPut, httpURL(n, "/debug/setblockrate?rate=1"), nil)
	require.Equal(t, http.StatusOK, status, "body %s", body)
	require.Empty(t, body)
}

func TestHTTPFreeMemory(t *testing.T) {
	n := startDaemon(t, nil)
	status, body := httpPost(t, n, "/debug/freememory", "")
	require.Equal(t, http.StatusOK, status)
	require.Empty(t, strings.TrimSpace(string(body)))
}
