package httpserver

import (
	"fmt"
	"net/http"

	"github.com/nsqgo/nsq/internal/httpapi"
)

// tlsRequiredHandler is the plain HTTP listener under --tls-required=true:
// it refuses every request, /ping included, and names the HTTPS port, to
// which upstream's own HTTP clients retry. The body is hand-formatted
// upstream (spaces after the colons) and is kept byte for byte.
type tlsRequiredHandler struct{ httpsPort func() int }

func (h tlsRequiredHandler) ServeHTTP(w http.ResponseWriter, _ *http.Request) {
	// Upstream reports port 0 when HTTPS is not listening.
	port := 0
	if h.httpsPort != nil {
		port = h.httpsPort()
	}
	w.Header().Set(httpapi.ContentTypeHeader, httpapi.ContentTypeValue)
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(http.StatusForbidden)
	fmt.Fprintf(w, `{"message": "TLS_REQUIRED", "https_port": %d}`, port)
}
