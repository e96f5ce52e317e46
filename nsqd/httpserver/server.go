package httpserver

import (
	"context"
	"errors"
	"log"
	"net"
	"net/http"
	"strings"
	"time"

	"github.com/nsqgo/nsq/internal/httpapi"
	"github.com/nsqgo/nsq/internal/logging"
)

// Config is what a Server takes of nsqd's options, fixed for its life.
type Config struct {
	// RequireTLS makes the server refuse every request with 403
	// TLS_REQUIRED: the plain listener under --tls-required=true.
	RequireTLS bool
	// HTTPSPort is the port TLS_REQUIRED names, asked at each refusal (the
	// HTTPS listener is bound after this server is built).
	HTTPSPort func() int
	// Guard wraps the routes in the --http-auth check (nsqd/auth's
	// HTTPGuard); nil when --http-auth is off.
	Guard func(http.Handler) http.Handler

	ClientTimeout time.Duration // --client-timeout: headers, publish bodies, idle connections
	MaxMsgSize    int64         // --max-msg-size
	MaxBodySize   int64         // --max-body-size
	MaxReqTimeout time.Duration // --max-req-timeout: the longest /pub?defer=
}

// Server serves the HTTP API on one listener (HTTP or HTTPS).
type Server struct {
	daemon Daemon
	cfg    Config
	server *http.Server
}

// New builds the API over d.
func New(d Daemon, cfg Config) *Server {
	s := &Server{daemon: d, cfg: cfg}
	router := httpapi.NewRouter(func(format string, args ...any) { d.Logf(logging.Error, format, args...) })
	s.routes(router)
	var handler http.Handler = router
	if cfg.Guard != nil {
		handler = cfg.Guard(router)
	}
	if cfg.RequireTLS {
		handler = tlsRequiredHandler{cfg.HTTPSPort}
	}
	s.server = &http.Server{
		Handler: handler,
		// A peer that opens a connection and sends half a request, or
		// keeps an idle one, must not hold it for good (upstream sets no
		// bound): headers get --client-timeout, as a TCP client gets for
		// its magic, and a kept-alive connection twice that, longer than
		// the idle timeout of Go's and most HTTP clients, so they close
		// first. Publish bodies are bounded by bodyDeadline (pub.go).
		ReadHeaderTimeout: cfg.ClientTimeout,
		IdleTimeout:       2 * cfg.ClientTimeout,
		// net/http's own complaints (bad TLS handshakes, header errors)
		// belong in the daemon's log, not on a bare stderr.
		ErrorLog: log.New(errorLog{d}, "", 0),
	}
	return s
}

// Handler is the server's whole handler (guard and TLS refusal included),
// for a test that serves requests without a listener.
func (s *Server) Handler() http.Handler { return s.server.Handler }

// Serve serves listener until Close; it returns nil once closed.
func (s *Server) Serve(listener net.Listener) error {
	err := s.server.Serve(listener)
	if errors.Is(err, http.ErrServerClosed) {
		return nil
	}
	return err
}

// shutdownGrace bounds how long Close waits for requests under way; only a
// CPU profile or a stuck lookupd query takes longer.
const shutdownGrace = 3 * time.Second

// Close stops the listener and lets requests under way finish, so that no
// handler publishes to a topic or logs after the daemon has stopped.
// Requests still running after shutdownGrace are cut off.
func (s *Server) Close() {
	ctx, cancel := context.WithTimeout(context.Background(), shutdownGrace)
	defer cancel()
	if err := s.server.Shutdown(ctx); err != nil {
		s.server.Close()
	}
}

// errorLog forwards net/http's log lines to the daemon's logger.
type errorLog struct{ d Daemon }

func (l errorLog) Write(p []byte) (int, error) {
	l.d.Logf(logging.Error, "HTTP: %s", strings.TrimRight(string(p), "\n"))
	return len(p), nil
}
