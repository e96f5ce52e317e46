package httpserver

import (
	"encoding/json"
	"io"
	"net/http"

	"github.com/julienschmidt/httprouter"
	"github.com/nsqgo/nsq/internal/httpapi"
	"github.com/nsqgo/nsq/internal/logging"
)

// configGet answers GET /config/<opt> with the option's current value,
// rendered by the V1 rules: strings raw, durations as integer nanoseconds,
// numbers, booleans and lists as JSON.
func (s *Server) configGet(w http.ResponseWriter, r *http.Request, ps httprouter.Params) (any, error) {
	value, ok := s.daemon.ConfigValue(ps.ByName("opt"))
	if !ok {
		return nil, httpapi.Errorf(http.StatusBadRequest, "INVALID_OPTION")
	}
	return value, nil
}

// configPut changes one of the two options upstream lets change at run
// time and answers its new value. The body is checked before the name, so
// an empty body is 413 INVALID_VALUE whatever the option, as upstream.
func (s *Server) configPut(w http.ResponseWriter, r *http.Request, ps httprouter.Params) (any, error) {
	opt := ps.ByName("opt")
	readMax := s.cfg.MaxMsgSize + 1
	body, err := io.ReadAll(io.LimitReader(r.Body, readMax))
	if err != nil {
		return nil, s.internalError("HTTP PUT /config/%s: reading body: %s", opt, err)
	}
	if int64(len(body)) == readMax || len(body) == 0 {
		return nil, httpapi.Errorf(http.StatusRequestEntityTooLarge, "INVALID_VALUE")
	}

	switch opt {
	case "nsqlookupd_tcp_addresses":
		var addrs []string
		if err := json.Unmarshal(body, &addrs); err != nil {
			return nil, httpapi.Errorf(http.StatusBadRequest, "INVALID_VALUE")
		}
		// Applied live: removed lookupds are disconnected, new ones
		// connected and sent every registration.
		s.daemon.SetLookupdAddresses(addrs)
		s.daemon.Logf(logging.Info, "nsqlookupd TCP addresses set to %q", addrs)
	case "log_level":
		level, err := logging.ParseLevel(string(body))
		if err != nil {
			return nil, httpapi.Errorf(http.StatusBadRequest, "INVALID_VALUE")
		}
		s.daemon.SetLogLevel(level)
		s.daemon.Logf(logging.Info, "log level set to %s", level)
	default:
		return nil, httpapi.Errorf(http.StatusBadRequest, "INVALID_OPTION")
	}
	return s.configGet(w, r, ps)
}
