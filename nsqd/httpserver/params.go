package httpserver

import (
	"errors"
	"net/http"
	"net/url"

	"github.com/nsqgo/nsq/internal/httpapi"
	"github.com/nsqgo/nsq/internal/logging"
	"github.com/nsqgo/nsq/internal/protocol"
	"github.com/nsqgo/nsq/nsqd/queue"
)

// queryParam returns the first value of key and whether key is present at
// all. Presence, not emptiness, is what upstream tests: "?topic=" is an
// invalid topic, not a missing one.
func queryParam(q url.Values, key string) (string, bool) {
	values, ok := q[key]
	if !ok {
		return "", false
	}
	return values[0], true
}

// topicFromQuery is upstream's getTopicFromQuery for /pub, /mpub and
// /topic/create: it validates the name and gets (creating) the topic.
func (s *Server) topicFromQuery(r *http.Request) (url.Values, string, error) {
	q, err := httpapi.Query(r)
	if err != nil {
		return nil, "", err
	}
	name, ok := queryParam(q, "topic")
	if !ok {
		return nil, "", httpapi.Errorf(http.StatusBadRequest, "MISSING_ARG_TOPIC")
	}
	if !protocol.ValidName(name) {
		return nil, "", httpapi.Errorf(http.StatusBadRequest, "INVALID_TOPIC")
	}
	if err := s.daemon.CreateTopic(name); err != nil {
		return nil, "", s.publishError("GetTopic "+name, err)
	}
	return q, name, nil
}

// topicChannelFromQuery is upstream's getExistingTopicFromQuery for the
// /channel/* endpoints: both names validated (with the INVALID_ARG_*
// tokens of the shared parser), and the topic must exist.
func (s *Server) topicChannelFromQuery(r *http.Request) (topic, channel string, err error) {
	q, err := httpapi.Query(r)
	if err != nil {
		return "", "", err
	}
	topic, ok := queryParam(q, "topic")
	if !ok {
		return "", "", httpapi.Errorf(http.StatusBadRequest, "MISSING_ARG_TOPIC")
	}
	if !protocol.ValidName(topic) {
		return "", "", httpapi.Errorf(http.StatusBadRequest, "INVALID_ARG_TOPIC")
	}
	channel, ok = queryParam(q, "channel")
	if !ok {
		return "", "", httpapi.Errorf(http.StatusBadRequest, "MISSING_ARG_CHANNEL")
	}
	if !protocol.ValidName(channel) {
		return "", "", httpapi.Errorf(http.StatusBadRequest, "INVALID_ARG_CHANNEL")
	}
	if !s.daemon.TopicExists(topic) {
		return "", "", errTopicNotFound
	}
	return topic, channel, nil
}

// The V1 answers of a missing topic or channel.
var (
	errTopicNotFound   = httpapi.Errorf(http.StatusNotFound, "TOPIC_NOT_FOUND")
	errChannelNotFound = httpapi.Errorf(http.StatusNotFound, "CHANNEL_NOT_FOUND")
)

// notFound answers a Daemon's ErrTopicNotFound or ErrChannelNotFound as
// 404, and reports whether err was one.
func notFound(err error) (error, bool) {
	switch {
	case errors.Is(err, ErrTopicNotFound):
		return errTopicNotFound, true
	case errors.Is(err, ErrChannelNotFound):
		return errChannelNotFound, true
	}
	return nil, false
}

// internalError logs a failure (what it was doing, and the error) and
// answers upstream's 500.
func (s *Server) internalError(format string, args ...any) error {
	s.daemon.Logf(logging.Error, format, args...)
	return httpapi.Errorf(http.StatusInternalServerError, "INTERNAL_ERROR")
}

// publishError maps a refused publish or topic creation to upstream's
// answer: a topic (or daemon) shutting down is 503 EXITING; anything else,
// such as a full memory queue with no disk behind it, is 500.
func (s *Server) publishError(what string, err error) error {
	if errors.Is(err, ErrExiting) {
		return httpapi.Errorf(http.StatusServiceUnavailable, "EXITING")
	}
	if errors.Is(err, queue.ErrFull) {
		return httpapi.Errorf(http.StatusServiceUnavailable, "QUEUE_FULL") // nsqd/queue/bound.go; README, "Bounded queues"
	}
	return s.internalError("HTTP: %s failed - %s", what, err)
}
