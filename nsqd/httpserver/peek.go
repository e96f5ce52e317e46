package httpserver

import (
	"net/http"
	"net/url"
	"strconv"

	"github.com/julienschmidt/httprouter"
	"github.com/nsqgo/nsq/internal/httpapi"
	"github.com/nsqgo/nsq/internal/protocol"
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
func (s *Server) peekRoutes(router *httprouter.Router) {
	router.GET("/channel/peek", httpapi.V1(s.channelPeek))
	router.GET("/topic/peek", httpapi.V1(s.topicPeek))
	router.POST("/channel/dead/redrive", httpapi.V1(s.channelDeadRedrive))
	router.POST("/channel/dead/empty", httpapi.V1(s.channelDeadEmpty))
}

// PeekState names a part of a channel for peek.
type PeekState uint8

const (
	PeekReady PeekState = iota
	PeekDeferred
	PeekInFlight
	PeekDead
)

var peekStateNames = [...]string{"ready", "deferred", "in_flight", "dead"}

func (s PeekState) String() string { return peekStateNames[s] }

// peekParams are a peek's query parameters beyond topic and channel.
type peekParams struct {
	state PeekState
	n     int
	after uint64 // dead: page after this seq
}

// parsePeekParams reads state (channel peeks only; default ready), n
// (default 100, at most 1000: larger values are capped) and after (dead
// only: the last seq of the previous page). Errors are V1 400s.
func parsePeekParams(q url.Values, channel bool) (peekParams, error) {
	p := peekParams{state: PeekReady, n: peekDefaultN}
	if raw, ok := queryParam(q, "state"); ok && channel {
		found := false
		for i, name := range peekStateNames {
			if raw == name {
				p.state, found = PeekState(i), true
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
		if err != nil || p.state != PeekDead {
			return p, httpapi.Errorf(http.StatusBadRequest, "INVALID_AFTER")
		}
		p.after = after
	}
	return p, nil
}

// PeekedMessage is one message in a peek's answer. Times are ns since the
// epoch, as the message's timestamp is on the wire; body is base64.
type PeekedMessage struct {
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

// PeekAnswer is the answer of /channel/peek and /topic/peek.
type PeekAnswer struct {
	Topic    string          `json:"topic"`
	Channel  string          `json:"channel,omitempty"`
	State    string          `json:"state"`
	Messages []PeekedMessage `json:"messages"`
}

func (s *Server) channelPeek(w http.ResponseWriter, r *http.Request, _ httprouter.Params) (any, error) {
	q, err := httpapi.Query(r)
	if err != nil {
		return nil, err
	}
	p, err := parsePeekParams(q, true)
	if err != nil {
		return nil, err
	}
	topic, channel, err := s.topicChannelFromQuery(r)
	if err != nil {
		return nil, err
	}
	msgs, err := s.daemon.PeekChannel(topic, channel, p.state, p.n, p.after)
	if err != nil {
		if answer, ok := notFound(err); ok {
			return nil, answer
		}
		return nil, s.internalError("HTTP /channel/peek %s/%s: %s", topic, channel, err)
	}
	if msgs == nil {
		msgs = []PeekedMessage{}
	}
	return PeekAnswer{Topic: topic, Channel: channel, State: p.state.String(), Messages: msgs}, nil
}

func (s *Server) topicPeek(w http.ResponseWriter, r *http.Request, _ httprouter.Params) (any, error) {
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
	if !protocol.ValidName(name) {
		return nil, httpapi.Errorf(http.StatusBadRequest, "INVALID_TOPIC")
	}
	msgs, err := s.daemon.PeekTopic(name, p.n)
	if err != nil {
		if answer, ok := notFound(err); ok {
			return nil, answer
		}
		return nil, s.internalError("HTTP /topic/peek %s: %s", name, err)
	}
	if msgs == nil {
		msgs = []PeekedMessage{}
	}
	return PeekAnswer{Topic: name, State: PeekReady.String(), Messages: msgs}, nil
}
