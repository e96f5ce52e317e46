package nsqd

import (
	"net/http"
	"strings"
	"testing"

	"github.com/nsqgo/nsq/internal/logging"
	"github.com/stretchr/testify/require"
)

func configURL(n *NSQD, opt string) string { return httpURL(n, "/config/"+opt) }

func TestHTTPConfigPutLogLevelChangesTheLogger(t *testing.T) {
	n := startDaemon(t, nil)
	status, body, _ := httpDo(t, http.MethodPut, configURL(n, "log_level"), strings.NewReader("DEBUG"))
	requireOK(t, "1", status, body)
	require.Equal(t, logging.Debug, n.logger.Level())

	status, body, _ = httpDo(t, http.MethodPut, configURL(n, "log_level"), strings.NewReader("warn"))
	requireOK(t, "3", status, body)
	status, body = httpGet(t, n, "/config/log_level")
	requireOK(t, "3", status, body)
	require.Equal(t, logging.Warn, n.logger.Level())
}

func TestHTTPConfigPutErrors(t *testing.T) {
	n := startDaemon(t, func(o *Options) { o.MaxMsgSize = 32 })
	for _, tc := range []struct {
		opt, body string
		status    int
		message   string
	}{
		{"nsqlookupd_tcp_addresses", "notjson", 400, "INVALID_VALUE"},
		{"nsqlookupd_tcp_addresses", `{"a":1}`, 400, "INVALID_VALUE"},
		{"log_level", "loud", 400, "INVALID_VALUE"},
		{"log_level", "", 413, "INVALID_VALUE"},
		{"log_level", strings.Repeat("d", 33), 413, "INVALID_VALUE"},
		{"msg_timeout", "5s", 400, "INVALID_OPTION"},
		{"nope", "x", 400, "INVALID_OPTION"},
		// The body is checked first, whatever the option.
		{"nope", "", 413, "INVALID_VALUE"},
	} {
		status, body, _ := httpDo(t, http.MethodPut, configURL(n, tc.opt), strings.NewReader(tc.body))
		requireAPIError(t, tc.status, tc.message, status, body)
	}
	require.Equal(t, logging.Info, n.logger.Level(), "a refused PUT changes nothing")
	require.Empty(t, n.LookupdAddresses())
}
