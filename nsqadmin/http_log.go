package nsqadmin

import (
	"net/http"

	"github.com/nsqgo/nsq/internal/logging"
)

// statusRecorder remembers the status a handler wrote, for the request log.
type statusRecorder struct {
	http.ResponseWriter
	status int
}

func (s *statusRecorder) WriteHeader(status int) {
	if s.status == 0 {
		s.status = status
	}
	s.ResponseWriter.WriteHeader(status)
}

func (s *statusRecorder) Write(p []byte) (int, error) {
	if s.status == 0 {
		s.status = http.StatusOK
	}
	return s.ResponseWriter.Write(p)
}

// Unwrap lets http.ResponseController reach the connection's writer
// (flushing for the Graphite proxy).
func (s *statusRecorder) Unwrap() http.ResponseWriter { return s.ResponseWriter }

// logRequests logs each request at info level as upstream does: "<status>
// <method> <uri> (<remote>) <duration>".
func (n *NSQAdmin) logRequests(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := n.now()
		rec := &statusRecorder{ResponseWriter: w}
		next.ServeHTTP(rec, r)
		if rec.status == 0 {
			rec.status = http.StatusOK
		}
		n.metrics.countRequest(n.getOpts().BasePath, r, rec.status)
		n.logf(logging.Info, "%d %s %s (%s) %s", rec.status, r.Method, r.URL.RequestURI(), r.RemoteAddr, n.now().Sub(start))
	})
}
