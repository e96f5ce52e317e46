package nsqd

import (
	"errors"
	"net/http"
	"net/url"

	"github.com/nsqgo/nsq/internal/httpapi"
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
func (s *httpServer) topicFromQuery(r *http.Request) (url.Values, *Topic, error) {
	q, err := httpapi.Query(r)
	if err != nil {
		return nil, nil, err
	}
	name, ok := queryParam(q, "topic")
	if !ok {
		return nil, nil, httpapi.Errorf(http.StatusBadRequest, "MISSING_ARG_TOPIC")
	}
	if !ValidName(name) {
		return nil, nil, httpapi.Errorf(http.StatusBadRequest, "INVALID_TOPIC")
	}
	topic, err := s.nsqd.GetTopic(name)
	if err != nil {
		return nil, nil, s.publishError("GetTopic "+name, err)
	}
	return q, topic, nil
}

// topicChannelFromQuery is upstream's getExistingTopicFromQuery for the
// /channel/* endpoints: both names validated (with the INVALID_ARG_*
// tokens of the shared parser), and the topic must exist.
func (s *httpServer) topicChannelFromQuery(r *http.Request) (*Topic, string, error) {
	q, err := httpapi.Query(r)
	if err != nil {
		return nil, "", err
	}
	topicName, ok := queryParam(q, "topic")
	if !ok {
		return nil, "", httpapi.Errorf(http.StatusBadRequest, "MISSING_ARG_TOPIC")
	}
	if !ValidName(topicName) {
		return nil, "", httpapi.Errorf(http.StatusBadRequest, "INVALID_ARG_TOPIC")
	}
	channelName, ok := queryParam(q, "channel")
	if !ok {
		return nil, "", httpapi.Errorf(http.StatusBadRequest, "MISSING_ARG_CHANNEL")
	}
	if !ValidName(channelName) {
		return nil, "", httpapi.Errorf(http.StatusBadRequest, "INVALID_ARG_CHANNEL")
	}
	topic, err := s.nsqd.GetExistingTopic(topicName)
	if err != nil {
		return nil, "", httpapi.Errorf(http.StatusNotFound, "TOPIC_NOT_FOUND")
	}
	return topic, channelName, nil
}

// publishError maps a refused publish or topic creation to upstream's
// answer: a topic (or daemon) shutting down is 503 EXITING; anything else,
// such as a full memory queue with no disk behind it, is 500.
func (s *httpServer) publishError(what string, err error) error {
	if errors.Is(err, errExiting) {
		return httpapi.Errorf(http.StatusServiceUnavailable, "EXITING")
	}
	if errors.Is(err, queue.ErrFull) {
		return httpapi.Errorf(http.StatusServiceUnavailable, "QUEUE_FULL") // bound.go; README, "Bounded queues"
	}
	s.nsqd.logf(errorLevel, "HTTP: %s failed - %s", what, err)
	return httpapi.Errorf(http.StatusInternalServerError, "INTERNAL_ERROR")
}
