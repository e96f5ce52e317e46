package httpserver

import (
	"fmt"
	"net/http"
	"os"

	"github.com/julienschmidt/httprouter"
	"github.com/nsqgo/nsq/internal/httpapi"
	"github.com/nsqgo/nsq/internal/logging"
)

// ping is the load balancers' health check: "OK", or a 500 with
// "NOK - <error>" while the last disk write failed. Plain text, without
// the V1 header, as upstream.
func (s *Server) ping(w http.ResponseWriter, r *http.Request, _ httprouter.Params) {
	// One read, so the status and the text always agree.
	health := s.daemon.Health()
	status := http.StatusOK
	if health != "OK" {
		status = http.StatusInternalServerError
	}
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.WriteHeader(status)
	w.Write([]byte(health))
}

func (s *Server) info(w http.ResponseWriter, r *http.Request, _ httprouter.Params) (any, error) {
	hostname, err := os.Hostname()
	if err != nil {
		s.daemon.Logf(logging.Error, "HTTP /info: %s", fmt.Errorf("reading hostname: %w", err))
		return nil, httpapi.Errorf(http.StatusInternalServerError, err.Error())
	}
	info := s.daemon.Info()
	info.Hostname = hostname
	return info, nil
}
