package nsqd

import (
	"net/http"
	"net/url"
	"strconv"

	"github.com/julienschmidt/httprouter"
	"github.com/nsqgo/nsq/internal/httpapi"
	"github.com/nsqgo/nsq/nsqd/queue"
)

// GET /channel/peek and GET /topic/peek (ours, issue 12; README, "Looking
// at messages without consuming them"): copies of messages, bodies
// included, changing nothing. n is capped because the bodies are read into
// memory to answer.
const (
	peekDefaultN = 100
	peekMaxN     = 1000
)

// peekRoutes adds the peeks and the dead set's admin endpoints.
func (s *httpServer) peekRoutes(router *httprouter.Router) {
	router.GET("/channel/peek", httpapi.V1(s.channelPeek))
	router.GET("/topic/peek", httpapi.V1(s.topicPeek))
	router.POST("/channel/dead/redrive", httpapi.V1(s.channelDeadRedrive))
	router.POST("/channel/dead/empty", httpapi.V1(s.channelDeadEmpty))
}

// peekParams are a peek's query parameters beyond topic and channel.
type peekParams struct {
	state peekState
	n     int
	after uint64 // dead: page after this seq
}

// parsePeekParams reads state (channel peeks only; default ready), n
// (default 100, at most 1000: larger values are capped) and after (dead
// only: the last seq of the previous page). Errors are V1 400s.
func parsePeekParams(q url.Values, channel bool) (peekParams, error) {
	p := peekParams{state: peekReady, n: peekDefaultN}
	if raw, ok := queryParam(q, "state"); ok && channel {
		found := false
		for i, name := range peekStateNames {
			if raw == name {
				p.state, found = peekState(i), true
			}
		}
		if !found {
			return p, httpapi.Errorf(http.StatusBadRequest, "INVALID_STATE")
		}
	}
	if raw, ok := queryParam(q, "n"); ok {
		n, err := strconv.ParseInt(raw, 10, 64)
		if err != nil || n < 1 {
			return p, httpapi.Errorf(http.StatusBadRequest, "INVALID_N")
		}
		p.n = int(min(n, peekMaxN))
	}
	if raw, ok := queryParam(q, "after"); ok {
		after, err := strconv.ParseUint(raw, 10, 64)
		if err != nil || p.state != peekDead {
			return p, httpapi.Errorf(http.StatusBadRequest, "INVALID_AFTER")
		}
		p.after = after
	}
	return p, nil
}

// peekedJSON is one message in a peek's answer. Times are ns since the
// epoch, as the message's timestamp is on the wire; body is base64.
type peekedJSON struct {
	ID        string `json:"id"`
	Timestamp int64  `json:"timestamp"`
	Attempts  uint16 `json:"attempts"`
	DeliverAt int64  `json:"deliver_at,omitempty"` // deferred: when it becomes ready
	TimeoutAt int64  `json:"timeout_at,omitempty"` // in flight: when it times out
	ClientID  int64  `json:"client_id,omitempty"`  // in flight: the consumer holding it
	Seq       uint64 `json:"seq,omitempty"`        // dead: its place in the dead set (after=)
	Reason    string `json:"reason,omitempty"`     // dead: max_attempts, expired or overflow
	DiedAt    int64  `json:"died_at,omitempty"`    // dead
	Body      []byte `json:"body"`
}

type peekJSON struct {
	Topic    string       `json:"topic"`
	Channel  string       `json:"channel,omitempty"`
	State    string       `json:"state"`
	Messages []peekedJSON `json:"messages"`
}

func messageJSON(m *Message) peekedJSON {
	return peekedJSON{ID: string(m.ID[:]), Timestamp: m.Timestamp, Attempts: m.Attempts, DeliverAt: m.DeliverAt, Body: m.Body}
}

func (s *httpServer) channelPeek(w http.ResponseWriter, r *http.Request, _ httprouter.Params) (any, error) {
	q, err := httpapi.Query(r)
	if err != nil {
		return nil, err
	}
	p, err := parsePeekParams(q, true)
	if err != nil {
		return nil, err
	}
	channel, err := s.existingChannel(r)
	if err != nil {
		return nil, err
	}
	answer := peekJSON{Topic: channel.topicName, Channel: channel.name, State: p.state.String(), Messages: []peekedJSON{}}
	switch p.state {
	case peekReady, peekDeferred:
		var msgs []Message
		if p.state == peekReady {
			msgs, err = channel.peekReady(p.n)
		} else {
			msgs = channel.peekDeferred(p.n)
		}
		for i := range msgs {
			answer.Messages = append(answer.Messages, messageJSON(&msgs[i]))
		}
	case peekInFlight:
		for _, m := range channel.peekInFlight(p.n) {
			j := messageJSON(&m.Message)
			j.TimeoutAt, j.ClientID = m.TimeoutAt, m.ClientID
			answer.Messages = append(answer.Messages, j)
		}
	case peekDead:
		var dead []queue.DeadMessage
		dead, err = channel.peekDead(p.after, p.n)
		for _, d := range dead {
			answer.Messages = append(answer.Messages, peekedJSON{
				ID: string(d.ID[:]), Timestamp: d.Timestamp, Attempts: d.Attempts,
				Seq: d.Seq, Reason: d.Reason.String(), DiedAt: d.DiedAt, Body: d.Body,
			})
		}
	}
	if err != nil {
		s.nsqd.logf(errorLevel, "HTTP /channel/peek %s/%s: %s", channel.topicName, channel.name, err)
		return nil, httpapi.Errorf(http.StatusInternalServerError, "INTERNAL_ERROR")
	}
	return answer, nil
}

func (s *httpServer) topicPeek(w http.ResponseWriter, r *http.Request, _ httprouter.Params) (any, error) {
	q, err := httpapi.Query(r)
	if err != nil {
		return nil, err
	}
	p, err := parsePeekParams(q, false)
	if err != nil {
		return nil, err
	}
	name, ok := queryParam(q, "topic")
	if !ok {
		return nil, httpapi.Errorf(http.StatusBadRequest, "MISSING_ARG_TOPIC")
	}
	if !ValidName(name) {
		return nil, httpapi.Errorf(http.StatusBadRequest, "INVALID_TOPIC")
	}
	topic, err := s.nsqd.GetExistingTopic(name)
	if err != nil {
		return nil, httpapi.Errorf(http.StatusNotFound, "TOPIC_NOT_FOUND")
	}
	msgs, err := topic.peekHeld(p.n)
	if err != nil {
		s.nsqd.logf(errorLevel, "HTTP /topic/peek %s: %s", name, err)
		return nil, httpapi.Errorf(http.StatusInternalServerError, "INTERNAL_ERROR")
	}
	answer := peekJSON{Topic: name, State: peekReady.String(), Messages: make([]peekedJSON, 0, len(msgs))}
	for i := range msgs {
		answer.Messages = append(answer.Messages, messageJSON(&msgs[i]))
	}
	return answer, nil
}
