package nsqd

import (
	"errors"
	"net/http"

	"github.com/julienschmidt/httprouter"
	"github.com/nsqgo/nsq/internal/httpapi"
)

// The /topic/* and /channel/* endpoints. Their error tokens differ on
// purpose, as upstream's do: the topic endpoints each parse their own
// query (so /topic/delete and /topic/pause never validate the name and an
// invalid one is simply not found), while the channel endpoints share one
// parser that says INVALID_ARG_TOPIC / INVALID_ARG_CHANNEL.

func (s *httpServer) topicCreate(w http.ResponseWriter, r *http.Request, _ httprouter.Params) (any, error) {
	_, _, err := s.topicFromQuery(r)
	return nil, err
}

// topicNameParam reads the topic of the endpoints that do not create it.
func topicNameParam(r *http.Request) (string, error) {
	q, err := httpapi.Query(r)
	if err != nil {
		return "", err
	}
	name, ok := queryParam(q, "topic")
	if !ok {
		return "", httpapi.Errorf(http.StatusBadRequest, "MISSING_ARG_TOPIC")
	}
	return name, nil
}

func (s *httpServer) topicDelete(w http.ResponseWriter, r *http.Request, _ httprouter.Params) (any, error) {
	name, err := topicNameParam(r)
	if err != nil {
		return nil, err
	}
	if err := s.nsqd.DeleteExistingTopic(name); err != nil {
		if errors.Is(err, errTopicNotFound) {
			return nil, httpapi.Errorf(http.StatusNotFound, "TOPIC_NOT_FOUND")
		}
		// The topic is gone; only removing its data failed.
		s.nsqd.logf(errorLevel, "HTTP /topic/delete %s: %s", name, err)
		return nil, httpapi.Errorf(http.StatusInternalServerError, "INTERNAL_ERROR")
	}
	return nil, nil
}

func (s *httpServer) topicEmpty(w http.ResponseWriter, r *http.Request, _ httprouter.Params) (any, error) {
	name, err := topicNameParam(r)
	if err != nil {
		return nil, err
	}
	if !ValidName(name) {
		return nil, httpapi.Errorf(http.StatusBadRequest, "INVALID_TOPIC")
	}
	topic, err := s.nsqd.GetExistingTopic(name)
	if err != nil {
		return nil, httpapi.Errorf(http.StatusNotFound, "TOPIC_NOT_FOUND")
	}
	if err := topic.Empty(); err != nil {
		s.nsqd.logf(errorLevel, "HTTP /topic/empty %s: %s", name, err)
		return nil, httpapi.Errorf(http.StatusInternalServerError, "INTERNAL_ERROR")
	}
	return nil, nil
}

func (s *httpServer) topicPause(w http.ResponseWriter, r *http.Request, _ httprouter.Params) (any, error) {
	return s.setTopicPaused(r, true)
}

func (s *httpServer) topicUnpause(w http.ResponseWriter, r *http.Request, _ httprouter.Params) (any, error) {
	return s.setTopicPaused(r, false)
}

// setTopicPaused changes the state; the topic persists the metadata itself
// so that a crash cannot silently undo the change.
func (s *httpServer) setTopicPaused(r *http.Request, paused bool) (any, error) {
	name, err := topicNameParam(r)
	if err != nil {
		return nil, err
	}
	topic, err := s.nsqd.GetExistingTopic(name)
	if err != nil {
		return nil, httpapi.Errorf(http.StatusNotFound, "TOPIC_NOT_FOUND")
	}
	if paused {
		topic.Pause()
	} else {
		topic.Unpause()
	}
	return nil, nil
}

// channelCreate does not create the topic: it must exist.
func (s *httpServer) channelCreate(w http.ResponseWriter, r *http.Request, _ httprouter.Params) (any, error) {
	topic, channelName, err := s.topicChannelFromQuery(r)
	if err != nil {
		return nil, err
	}
	if _, err := topic.GetChannel(channelName); err != nil {
		if errors.Is(err, errExiting) {
			// The topic was deleted between the lookup and now.
			return nil, httpapi.Errorf(http.StatusNotFound, "TOPIC_NOT_FOUND")
		}
		s.nsqd.logf(errorLevel, "HTTP /channel/create %s/%s: %s", topic.Name(), channelName, err)
		return nil, httpapi.Errorf(http.StatusInternalServerError, "INTERNAL_ERROR")
	}
	return nil, nil
}

// channelDelete also closes the connections of the channel's consumers.
func (s *httpServer) channelDelete(w http.ResponseWriter, r *http.Request, _ httprouter.Params) (any, error) {
	topic, channelName, err := s.topicChannelFromQuery(r)
	if err != nil {
		return nil, err
	}
	if err := topic.DeleteExistingChannel(channelName); err != nil {
		if errors.Is(err, errChannelNotFound) {
			return nil, httpapi.Errorf(http.StatusNotFound, "CHANNEL_NOT_FOUND")
		}
		s.nsqd.logf(errorLevel, "HTTP /channel/delete %s/%s: %s", topic.Name(), channelName, err)
		return nil, httpapi.Errorf(http.StatusInternalServerError, "INTERNAL_ERROR")
	}
	return nil, nil
}

// existingChannel resolves the channel of /channel/empty and the pauses.
func (s *httpServer) existingChannel(r *http.Request) (*Channel, error) {
	topic, channelName, err := s.topicChannelFromQuery(r)
	if err != nil {
		return nil, err
	}
	channel, err := topic.GetExistingChannel(channelName)
	if err != nil {
		return nil, httpapi.Errorf(http.StatusNotFound, "CHANNEL_NOT_FOUND")
	}
	return channel, nil
}

// channelEmpty drops ready, deferred and in-flight messages.
func (s *httpServer) channelEmpty(w http.ResponseWriter, r *http.Request, _ httprouter.Params) (any, error) {
	channel, err := s.existingChannel(r)
	if err != nil {
		return nil, err
	}
	if err := channel.Empty(); err != nil {
		s.nsqd.logf(errorLevel, "HTTP /channel/empty %s/%s: %s", channel.topicName, channel.Name(), err)
		return nil, httpapi.Errorf(http.StatusInternalServerError, "INTERNAL_ERROR")
	}
	return nil, nil
}

func (s *httpServer) channelPause(w http.ResponseWriter, r *http.Request, _ httprouter.Params) (any, error) {
	channel, err := s.existingChannel(r)
	if err != nil {
		return nil, err
	}
	channel.Pause()
	return nil, nil
}

func (s *httpServer) channelUnpause(w http.ResponseWriter, r *http.Request, _ httprouter.Params) (any, error) {
	channel, err := s.existingChannel(r)
	if err != nil {
		return nil, err
	}
	channel.Unpause()
	return nil, nil
}
