package httpserver

import (
	"net/http"
	"net/url"
	"strconv"

	"github.com/julienschmidt/httprouter"
	"github.com/nsqgo/nsq/internal/httpapi"
)

// POST /channel/dead/redrive and /channel/dead/empty (ours, issue 12;
// README, "Redrive and empty"): the dead set's admin.

// redriveParams are n (how many; absent: all) and rate (messages per
// second; absent: as fast as the disk allows).
type redriveParams struct {
	n, rate int
}

// redriveMaxRate caps rate; past it pacing is meaningless anyway.
const redriveMaxRate = 1 << 20

func parseRedriveParams(q url.Values) (redriveParams, error) {
	var p redriveParams
	var err error
	if p.n, err = positiveParam(q, "n", "INVALID_N", 1<<40); err != nil {
		return p, err
	}
	p.rate, err = positiveParam(q, "rate", "INVALID_RATE", redriveMaxRate)
	return p, err
}

// positiveParam reads an optional integer >= 1 (0 when absent), capped at
// limit.
func positiveParam(q url.Values, name, token string, limit int64) (int, error) {
	raw, ok := queryParam(q, name)
	if !ok {
		return 0, nil
	}
	v, err := strconv.ParseInt(raw, 10, 64)
	if err != nil || v < 1 {
		return 0, httpapi.Errorf(http.StatusBadRequest, token)
	}
	return int(min(v, limit)), nil
}

// RedriveAnswer is the answer of /channel/dead/redrive.
type RedriveAnswer struct {
	Redriven  int   `json:"redriven"`
	DeadCount int64 `json:"dead_count"`
}

func (s *Server) channelDeadRedrive(w http.ResponseWriter, r *http.Request, _ httprouter.Params) (any, error) {
	q, err := httpapi.Query(r)
	if err != nil {
		return nil, err
	}
	p, err := parseRedriveParams(q)
	if err != nil {
		return nil, err
	}
	topic, channel, err := s.topicChannelFromQuery(r)
	if err != nil {
		return nil, err
	}
	moved, deadCount, err := s.daemon.RedriveDead(r.Context(), topic, channel, p.n, p.rate)
	if err != nil {
		if answer, ok := notFound(err); ok {
			return nil, answer
		}
		return nil, s.internalError("HTTP /channel/dead/redrive %s/%s: moved %d, then: %s", topic, channel, moved, err)
	}
	return RedriveAnswer{Redriven: moved, DeadCount: deadCount}, nil
}

func (s *Server) channelDeadEmpty(w http.ResponseWriter, r *http.Request, _ httprouter.Params) (any, error) {
	topic, channel, err := s.topicChannelFromQuery(r)
	if err != nil {
		return nil, err
	}
	if err := s.daemon.EmptyDead(topic, channel); err != nil {
		if answer, ok := notFound(err); ok {
			return nil, answer
		}
		return nil, s.internalError("HTTP /channel/dead/empty %s/%s: %s", topic, channel, err)
	}
	return nil, nil
}
