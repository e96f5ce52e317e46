package httpserver

import (
	"net/http"

	"github.com/julienschmidt/httprouter"
	"github.com/nsqgo/nsq/internal/httpapi"
)

// boolParam reads include_clients / include_mem as upstream: true, 1,
// false and 0 are understood; absent or anything else means true.
func boolParam(value string) bool {
	switch value {
	case "false", "0":
		return false
	}
	return true
}

// stats serves the snapshot as text (default) or JSON (format=json). An
// empty topic or channel parameter means no filter, as upstream.
func (s *Server) stats(w http.ResponseWriter, r *http.Request, _ httprouter.Params) (any, error) {
	q, err := httpapi.Query(r)
	if err != nil {
		return nil, err
	}
	format, _ := queryParam(q, "format")
	topic, _ := queryParam(q, "topic")
	channel, _ := queryParam(q, "channel")
	clientsParam, _ := queryParam(q, "include_clients")
	memParam, _ := queryParam(q, "include_mem")

	query := StatsQuery{Topic: topic, Channel: channel, Clients: boolParam(clientsParam), Memory: boolParam(memParam)}
	if format != "json" {
		return s.daemon.StatsText(query), nil
	}
	return s.daemon.Stats(query), nil
}
