package nsqd

import (
	"context"
	"errors"
	"log"
	"net"
	"net/http"
	"strings"
	"time"

	"github.com/nsqgo/nsq/internal/httpapi"
)

// httpServer serves the HTTP API on one listener (HTTP or HTTPS).
type httpServer struct {
	nsqd   *NSQD
	server *http.Server
}

// newHTTPServer builds the API; with requireTLS (the plain listener under
// --tls-required=true) every request is refused with 403 TLS_REQUIRED.
func newHTTPServer(n *NSQD, requireTLS bool) *httpServer {
	s := &httpServer{nsqd: n}
	router := httpapi.NewRouter(func(format string, args ...any) { n.logf(errorLevel, format, args...) })
	s.routes(router)
	var handler http.Handler = router
	if n.httpAuth != nil {
		handler = n.httpAuth.Wrap(router)
	}
	if requireTLS {
		handler = tlsRequiredHandler{n}
	}
	s.server = &http.Server{
		Handler: handler,
		// A peer that opens a connection and sends half a request, or
		// keeps an idle one, must not hold it for good (upstream sets no
		// bound): headers get --client-timeout, as a TCP client gets for
		// its magic, and a kept-alive connection twice that, longer than
		// the idle timeout of Go's and most HTTP clients, so they close
		// first. Publish bodies are bounded by bodyDeadline (http_pub.go).
		ReadHeaderTimeout: n.opts.ClientTimeout,
		IdleTimeout:       2 * n.opts.ClientTimeout,
		// net/http's own complaints (bad TLS handshakes, header errors)
		// belong in the daemon's log, not on a bare stderr.
		ErrorLog: log.New(httpErrorLog{n}, "", 0),
	}
	return s
}

func (s *httpServer) serve(listener net.Listener) error {
	err := s.server.Serve(listener)
	if errors.Is(err, http.ErrServerClosed) {
		return nil
	}
	return err
}

// shutdownGrace bounds how long close waits for requests under way; only a
// CPU profile or a stuck lookupd query takes longer.
const shutdownGrace = 3 * time.Second

// close stops the listener and lets requests under way finish, so that no
// handler publishes to a topic or logs after Exit has returned. Requests
// still running after shutdownGrace are cut off.
func (s *httpServer) close() {
	ctx, cancel := context.WithTimeout(context.Background(), shutdownGrace)
	defer cancel()
	if err := s.server.Shutdown(ctx); err != nil {
		s.server.Close()
	}
}

// httpErrorLog forwards net/http's log lines to the daemon's logger.
type httpErrorLog struct{ n *NSQD }

func (l httpErrorLog) Write(p []byte) (int, error) {
	l.n.logf(errorLevel, "HTTP: %s", strings.TrimRight(string(p), "\n"))
	return len(p), nil
}
