package httpserver_test

import (
	"net/http"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestHTTPUnknownPathIs404NotFound(t *testing.T) {
	n := startDaemon(t, nil)
	status, body, header := httpDo(t, http.MethodGet, httpURL(n, "/nope"), nil)
	requireAPIError(t, http.StatusNotFound, "NOT_FOUND", status, body)
	requireV1Header(t, header)
}

// Upstream 1.3 has no deprecated aliases: the pre-1.0 names were removed
// in 1.0 and answer 404 whatever the method.
func TestHTTPPreV1AliasesAreNotRouted(t *testing.T) {
	n := startDaemon(t, nil)
	for _, path := range []string{
		"/put", "/mput", "/create_topic", "/delete_topic", "/empty_topic",
		"/pause_topic", "/unpause_topic", "/create_channel", "/delete_channel",
		"/empty_channel", "/pause_channel", "/unpause_channel",
	} {
		for _, method := range []string{http.MethodGet, http.MethodPost} {
			status, body, _ := httpDo(t, method, httpURL(n, path+"?topic=t&channel=c"), strings.NewReader("x"))
			requireAPIError(t, http.StatusNotFound, "NOT_FOUND", status, body)
		}
	}
	requireNoTopic(t, n, "t") // an alias must not have created the topic
}

func TestHTTPWrongMethodIs405WithAllow(t *testing.T) {
	n := startDaemon(t, nil)
	status, body, header := httpDo(t, http.MethodGet, httpURL(n, "/pub?topic=t"), nil)
	requireAPIError(t, http.StatusMethodNotAllowed, "METHOD_NOT_ALLOWED", status, body)
	require.Equal(t, "OPTIONS, POST", header.Get("Allow"))
	requireV1Header(t, header)
}

func TestHTTPMutatingEndpointsRefuseGET(t *testing.T) {
	n := startDaemon(t, nil)
	for _, path := range []string{
		"/pub", "/mpub", "/topic/create", "/topic/delete", "/topic/empty", "/topic/pause",
		"/topic/unpause", "/channel/create", "/channel/delete", "/channel/empty",
		"/channel/pause", "/channel/unpause", "/debug/freememory",
	} {
		status, body := httpGet(t, n, path+"?topic=t&channel=c")
		requireAPIError(t, http.StatusMethodNotAllowed, "METHOD_NOT_ALLOWED", status, body)
	}
	requireNoTopic(t, n, "t")
}

func TestHTTPOptionsListsAllowedMethods(t *testing.T) {
	n := startDaemon(t, nil)
	status, body, header := httpDo(t, http.MethodOptions, httpURL(n, "/config/log_level"), nil)
	require.Equal(t, http.StatusOK, status)
	require.Empty(t, body)
	require.Equal(t, "GET, OPTIONS, PUT", header.Get("Allow"))
}

func TestHTTPHeadIsNotAllowed(t *testing.T) {
	n := startDaemon(t, nil)
	resp := httpNoRedirect(t, http.MethodHead, httpURL(n, "/ping"))
	require.Equal(t, http.StatusMethodNotAllowed, resp.StatusCode)
}

func TestHTTPTrailingSlashRedirects(t *testing.T) {
	n := startDaemon(t, nil)
	resp := httpNoRedirect(t, http.MethodGet, httpURL(n, "/stats/"))
	require.Equal(t, http.StatusMovedPermanently, resp.StatusCode)
	require.Equal(t, "/stats", resp.Header.Get("Location"))

	resp = httpNoRedirect(t, http.MethodPost, httpURL(n, "/topic/create/"))
	require.Equal(t, http.StatusTemporaryRedirect, resp.StatusCode)
	require.Equal(t, "/topic/create", resp.Header.Get("Location"))
}
