package ui

import (
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func get(t *testing.T, h http.Handler, method, path string) (*http.Response, string) {
	t.Helper()
	w := httptest.NewRecorder()
	h.ServeHTTP(w, httptest.NewRequest(method, path, nil))
	resp := w.Result()
	body, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	return resp, string(body)
}

func TestEveryAppPathGetsTheIndexWithTheBasePathWrittenIn(t *testing.T) {
	for _, tc := range []struct {
		base, path, prefix string
	}{
		{"/", "/", ""},
		{"", "/topics/orders", ""},
		{"/", "/topics/orders/archive", ""},
		{"/admin", "/admin", "/admin"},
		{"admin/", "/admin/nodes/127.0.0.1:4151", "/admin"},
		{"/a/b", "/a/b/counter", "/a/b"},
	} {
		resp, body := get(t, Handler(tc.base), http.MethodGet, tc.path)
		require.Equal(t, http.StatusOK, resp.StatusCode, "%+v", tc)
		assert.Equal(t, "text/html; charset=utf-8", resp.Header.Get("Content-Type"))
		assert.Contains(t, body, `data-base-path="`+tc.prefix+`"`, "%+v", tc)
		assert.Contains(t, body, `src="`+tc.prefix+`/static/app.js"`, "%+v", tc)
		assert.NotContains(t, body, "{{", "placeholder left in %+v", tc)
		// A URL starting "//" would name another host.
		assert.NotContains(t, body, `"//`, "%+v", tc)
	}
}

func TestAssetsAreServedWithTheirTypes(t *testing.T) {
	h := Handler("/admin")
	resp, body := get(t, h, http.MethodGet, "/admin/static/app.js")
	require.Equal(t, http.StatusOK, resp.StatusCode)
	assert.Contains(t, resp.Header.Get("Content-Type"), "javascript")
	assert.Contains(t, body, "/history?topic=")

	resp, body = get(t, h, http.MethodGet, "/admin/static/app.css")
	require.Equal(t, http.StatusOK, resp.StatusCode)
	assert.Contains(t, resp.Header.Get("Content-Type"), "text/css")
	assert.Contains(t, body, "@media")

	resp, _ = get(t, h, http.MethodHead, "/admin/static/app.css")
	assert.Equal(t, http.StatusOK, resp.StatusCode)
}

func TestMissingAssetsAndPathsOutsideTheBaseAre404(t *testing.T) {
	h := Handler("/admin")
	for _, p := range []string{"/admin/static/nope.js", "/admin/static/../../etc/passwd", "/other", "/administrator"} {
		resp, _ := get(t, h, http.MethodGet, p)
		assert.Equal(t, http.StatusNotFound, resp.StatusCode, p)
	}
}

func TestOnlyReadsAreServed(t *testing.T) {
	resp, _ := get(t, Handler("/"), http.MethodPost, "/topics/x")
	assert.Equal(t, http.StatusMethodNotAllowed, resp.StatusCode)
	assert.True(t, strings.Contains(resp.Header.Get("Allow"), "GET"))
}
