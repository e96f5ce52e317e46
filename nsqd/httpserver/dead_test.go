package httpserver_test

import (
	"net/http"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestDeadAdminErrors(t *testing.T) {
	n := startDaemon(t, nil)
	adminPost(t, n, "/topic/create?topic=orders")
	adminPost(t, n, "/channel/create?topic=orders&channel=work")
	for path, want := range map[string]string{
		"/channel/dead/redrive?topic=orders&channel=work&n=0":    "INVALID_N",
		"/channel/dead/redrive?topic=orders&channel=work&rate=x": "INVALID_RATE",
		"/channel/dead/redrive?topic=orders":                     "MISSING_ARG_CHANNEL",
		"/channel/dead/empty?channel=work":                       "MISSING_ARG_TOPIC",
	} {
		status, body := httpPost(t, n, path, "")
		requireAPIError(t, http.StatusBadRequest, want, status, body)
	}
	status, body := httpPost(t, n, "/channel/dead/empty?topic=orders&channel=nope", "")
	requireAPIError(t, http.StatusNotFound, "CHANNEL_NOT_FOUND", status, body)
	status, body = httpGet(t, n, "/channel/dead/empty?topic=orders&channel=work")
	require.Equal(t, http.StatusMethodNotAllowed, status, "%s", body)
}
