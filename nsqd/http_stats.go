package nsqd

import (
	"net/http"
	"time"

	"github.com/julienschmidt/httprouter"
	"github.com/nsqgo/nsq/internal/httpapi"
)

// statsResponse is the JSON /stats document in upstream's key order.
type statsResponse struct {
	Version   string        `json:"version"`
	Health    string        `json:"health"`
	StartTime int64         `json:"start_time"`
	Topics    []TopicStats  `json:"topics"`
	Memory    *MemStats     `json:"memory,omitempty"`
	Producers []ClientStats `json:"producers"`
}

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
func (s *httpServer) stats(w http.ResponseWriter, r *http.Request, _ httprouter.Params) (any, error) {
	q, err := httpapi.Query(r)
	if err != nil {
		return nil, err
	}
	format, _ := queryParam(q, "format")
	topic, _ := queryParam(q, "topic")
	channel, _ := queryParam(q, "channel")
	clientsParam, _ := queryParam(q, "include_clients")
	memParam, _ := queryParam(q, "include_mem")

	n := s.nsqd
	health := n.healthString()
	stats := n.GetStats(topic, channel, boolParam(clientsParam))
	var mem *MemStats
	if boolParam(memParam) {
		m := readMemStats()
		mem = &m
	}
	if format != "json" {
		return statsText(stats, mem, health, n.startTime, time.Now()), nil
	}
	return statsResponse{
		Version:   Version,
		Health:    health,
		StartTime: n.startTime.Unix(),
		Topics:    stats.Topics,
		Memory:    mem,
		Producers: stats.Producers,
	}, nil
}
