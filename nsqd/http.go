package nsqd

import (
	"net"
	"net/http"

	"github.com/nsqgo/nsq/internal/httpapi"
)

// httpServer serves the HTTP API.
type httpServer struct {
	nsqd   *NSQD
	server *http.Server
}

func newHTTPServer(n *NSQD) *httpServer {
	s := &httpServer{nsqd: n}
	router := httpapi.NewRouter(func(format string, args ...any) { n.logf(errorLevel, format, args...) })
	s.routes(router)
	s.server = &http.Server{Handler: router}
	return s
}

func (s *httpServer) serve(listener net.Listener) error {
	err := s.server.Serve(listener)
	if err == http.ErrServerClosed {
		return nil
	}
	return err
}

func (s *httpServer) close() { s.server.Close() }
