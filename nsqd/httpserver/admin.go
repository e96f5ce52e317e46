package httpserver

import (
	"net/http"

	"github.com/julienschmidt/httprouter"
	"github.com/nsqgo/nsq/internal/httpapi"
	"github.com/nsqgo/nsq/internal/protocol"
)

// The /topic/* and /channel/* endpoints. Their error tokens differ on
// purpose, as upstream's do: the topic endpoints each parse their own
// query (so /topic/delete and /topic/pause never validate the name and an
// invalid one is simply not found), while the channel endpoints share one
// parser that says INVALID_ARG_TOPIC / INVALID_ARG_CHANNEL.

func (s *Server) topicCreate(w http.ResponseWriter, r *http.Request, _ httprouter.Params) (any, error) {
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

func (s *Server) topicDelete(w http.ResponseWriter, r *http.Request, _ httprouter.Params) (any, error) {
	name, err := topicNameParam(r)
	if err != nil {
		return nil, err
	}
	if err := s.daemon.DeleteTopic(name); err != nil {
		if answer, ok := notFound(err); ok {
			return nil, answer
		}
		// The topic is gone; only removing its data failed.
		return nil, s.internalError("HTTP /topic/delete %s: %s", name, err)
	}
	return nil, nil
}

func (s *Server) topicEmpty(w http.ResponseWriter, r *http.Request, _ httprouter.Params) (any, error) {
	name, err := topicNameParam(r)
	if err != nil {
		return nil, err
	}
	if !protocol.ValidName(name) {
		return nil, httpapi.Errorf(http.StatusBadRequest, "INVALID_TOPIC")
	}
	if err := s.daemon.EmptyTopic(name); err != nil {
		if answer, ok := notFound(err); ok {
			return nil, answer
		}
		return nil, s.internalError("HTTP /topic/empty %s: %s", name, err)
	}
	return nil, nil
}

func (s *Server) topicPause(w http.ResponseWriter, r *http.Request, _ httprouter.Params) (any, error) {
	return s.setTopicPaused(r, true)
}

func (s *Server) topicUnpause(w http.ResponseWriter, r *http.Request, _ httprouter.Params) (any, error) {
	return s.setTopicPaused(r, false)
}

// setTopicPaused changes the state; the topic persists the metadata itself
// so that a crash cannot silently undo the change.
func (s *Server) setTopicPaused(r *http.Request, paused bool) (any, error) {
	name, err := topicNameParam(r)
	if err != nil {
		return nil, err
	}
	if err := s.daemon.PauseTopic(name, paused); err != nil {
		if answer, ok := notFound(err); ok {
			return nil, answer
		}
		return nil, s.internalError("HTTP /topic/pause %s: %s", name, err)
	}
	return nil, nil
}

// channelCreate does not create the topic: it must exist.
func (s *Server) channelCreate(w http.ResponseWriter, r *http.Request, _ httprouter.Params) (any, error) {
	topic, channel, err := s.topicChannelFromQuery(r)
	if err != nil {
		return nil, err
	}
	if err := s.daemon.CreateChannel(topic, channel); err != nil {
		if answer, ok := notFound(err); ok {
			// The topic was deleted between the lookup and now.
			return nil, answer
		}
		return nil, s.internalError("HTTP /channel/create %s/%s: %s", topic, channel, err)
	}
	return nil, nil
}

// channelDelete also closes the connections of the channel's consumers.
func (s *Server) channelDelete(w http.ResponseWriter, r *http.Request, _ httprouter.Params) (any, error) {
	topic, channel, err := s.topicChannelFromQuery(r)
	if err != nil {
		return nil, err
	}
	if err := s.daemon.DeleteChannel(topic, channel); err != nil {
		if answer, ok := notFound(err); ok {
			return nil, answer
		}
		return nil, s.internalError("HTTP /channel/delete %s/%s: %s", topic, channel, err)
	}
	return nil, nil
}

// channelEmpty drops ready, deferred and in-flight messages.
func (s *Server) channelEmpty(w http.ResponseWriter, r *http.Request, _ httprouter.Params) (any, error) {
	topic, channel, err := s.topicChannelFromQuery(r)
	if err != nil {
		return nil, err
	}
	if err := s.daemon.EmptyChannel(topic, channel); err != nil {
		if answer, ok := notFound(err); ok {
			return nil, answer
		}
		return nil, s.internalError("HTTP /channel/empty %s/%s: %s", topic, channel, err)
	}
	return nil, nil
}

func (s *Server) channelPause(w http.ResponseWriter, r *http.Request, _ httprouter.Params) (any, error) {
	return s.setChannelPaused(r, true)
}

func (s *Server) channelUnpause(w http.ResponseWriter, r *http.Request, _ httprouter.Params) (any, error) {
	return s.setChannelPaused(r, false)
}

func (s *Server) setChannelPaused(r *http.Request, paused bool) (any, error) {
	topic, channel, err := s.topicChannelFromQuery(r)
	if err != nil {
		return nil, err
	}
	if err := s.daemon.PauseChannel(topic, channel, paused); err != nil {
		if answer, ok := notFound(err); ok {
			return nil, answer
		}
		return nil, s.internalError("HTTP /channel/pause %s/%s: %s", topic, channel, err)
	}
	return nil, nil
}
