package nsqd

import (
	"errors"
	"net/http"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestHTTPPingReportsFailedDiskWriteUntilNextSuccess(t *testing.T) {
	n := startDaemon(t, nil)
	n.recordWrite(errors.New("disk full"))
	status, body := httpGet(t, n, "/ping")
	require.Equal(t, http.StatusInternalServerError, status)
	require.Equal(t, "NOK - disk full", string(body))

	n.recordWrite(nil)
	status, body = httpGet(t, n, "/ping")
	requireOK(t, "OK", status, body)
}
