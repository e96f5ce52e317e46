package httpserver

import (
	"errors"
	"net/http"
	"net/url"
	"strings"

	"github.com/julienschmidt/httprouter"
	"github.com/nsqgo/nsq/internal/authclient"
	"github.com/nsqgo/nsq/internal/httpapi"
	"github.com/nsqgo/nsq/internal/protocol"
	"github.com/nsqgo/nsq/nsqd/queue"
)

// Per-object queue settings over HTTP (ours, issue 12), in the API's verb
// style: POST /topic/config and /channel/config change a topic's or a
// channel's own settings, GET of the same paths shows the effective values
// and where each comes from, and /topic/create and /channel/create take
// the same parameters. A parameter given empty ("max_depth=") removes the
// object's own value, so it inherits again. A bad value is 400
// INVALID_ARG_<PARAMETER>; the topic and channel checks come first, with
// the tokens of the endpoints they extend (admin.go).

// objectConfigRoutes adds /topic/config and /channel/config.
func (s *Server) objectConfigRoutes(router *httprouter.Router) {
	router.GET("/topic/config", httpapi.V1(s.topicConfigGet))
	router.POST("/topic/config", httpapi.V1(s.topicConfigPost))
	router.GET("/channel/config", httpapi.V1(s.channelConfigGet))
	router.POST("/channel/config", httpapi.V1(s.channelConfigPost))
}

// TopicConfig is the answer of /topic/config: the effective values (msg_ttl
// in milliseconds, as it is given) and their sources.
type TopicConfig struct {
	Topic    string         `json:"topic"`
	MsgTTL   int64          `json:"msg_ttl"`
	MaxDepth int64          `json:"max_depth"`
	MaxBytes int64          `json:"max_bytes"`
	Overflow queue.Overflow `json:"overflow"`
	Source   TopicSources   `json:"source"`
}

// TopicSources says where each of a topic's effective values comes from.
type TopicSources struct {
	MsgTTL   queue.Source `json:"msg_ttl"`
	MaxDepth queue.Source `json:"max_depth"`
	MaxBytes queue.Source `json:"max_bytes"`
	Overflow queue.Source `json:"overflow"`
}

// ChannelConfig is the answer of /channel/config. dead_letter_topic ""
// means dead messages stay in the channel's dead set; max_dead_depth is
// the flag's (it has no per-channel setting).
type ChannelConfig struct {
	Topic           string         `json:"topic"`
	Channel         string         `json:"channel"`
	MaxAttempts     uint16         `json:"max_attempts"`
	MsgTTL          int64          `json:"msg_ttl"`
	MaxDepth        int64          `json:"max_depth"`
	MaxBytes        int64          `json:"max_bytes"`
	Overflow        queue.Overflow `json:"overflow"`
	DeadLetterTopic string         `json:"dead_letter_topic"`
	MaxDeadDepth    int64          `json:"max_dead_depth"`
	Source          ChannelSources `json:"source"`
}

// ChannelSources says where each of a channel's effective values comes
// from.
type ChannelSources struct {
	MaxAttempts     queue.Source `json:"max_attempts"`
	MsgTTL          queue.Source `json:"msg_ttl"`
	MaxDepth        queue.Source `json:"max_depth"`
	MaxBytes        queue.Source `json:"max_bytes"`
	Overflow        queue.Source `json:"overflow"`
	DeadLetterTopic queue.Source `json:"dead_letter_topic"`
	MaxDeadDepth    queue.Source `json:"max_dead_depth"`
}

// settingsParams reads the settings parameters of q. A topic refuses the
// channel-only ones rather than ignore them: a caller who sends
// max_attempts to a topic expects it to take effect somewhere.
func settingsParams(q url.Values, forTopic bool) (queue.Settings, []queue.Field, error) {
	set, clear, err := queue.ParseParams(queue.Fields(), func(name string) (string, bool) { return queryParam(q, name) })
	if err != nil {
		return queue.Settings{}, nil, settingsError(err)
	}
	if forTopic {
		for _, f := range []queue.Field{queue.FieldMaxAttempts, queue.FieldDeadLetterTopic} {
			if _, given := q[f.Name()]; given {
				return queue.Settings{}, nil, fieldToken(f)
			}
		}
	}
	return set, clear, nil
}

// settingsError answers a refused setting as 400 INVALID_ARG_<PARAMETER>.
func settingsError(err error) error {
	var fe *queue.FieldError
	if errors.As(err, &fe) {
		return fieldToken(fe.Field)
	}
	return httpapi.Errorf(http.StatusBadRequest, "INVALID_REQUEST")
}

func fieldToken(f queue.Field) error {
	return httpapi.Errorf(http.StatusBadRequest, "INVALID_ARG_"+strings.ToUpper(f.Name()))
}

// existingTopic resolves the topic of /topic/config, checked as
// /topic/empty checks it.
func (s *Server) existingTopic(r *http.Request) (string, url.Values, error) {
	name, err := topicNameParam(r)
	if err != nil {
		return "", nil, err
	}
	if !protocol.ValidName(name) {
		return "", nil, httpapi.Errorf(http.StatusBadRequest, "INVALID_TOPIC")
	}
	if !s.daemon.TopicExists(name) {
		return "", nil, errTopicNotFound
	}
	q, err := httpapi.Query(r)
	return name, q, err
}

// topicConfig answers the topic's settings, 404 once it is gone.
func (s *Server) topicConfig(topic string) (any, error) {
	cfg, err := s.daemon.TopicConfig(topic)
	if answer, ok := notFound(err); ok {
		return nil, answer
	}
	return cfg, err
}

// channelConfig answers the channel's settings, 404 when it or its topic
// is missing.
func (s *Server) channelConfig(topic, channel string) (any, error) {
	cfg, err := s.daemon.ChannelConfig(topic, channel)
	if answer, ok := notFound(err); ok {
		return nil, answer
	}
	return cfg, err
}

func (s *Server) topicConfigGet(w http.ResponseWriter, r *http.Request, _ httprouter.Params) (any, error) {
	topic, _, err := s.existingTopic(r)
	if err != nil {
		return nil, err
	}
	return s.topicConfig(topic)
}

// topicConfigPost changes the topic's settings and answers the result.
func (s *Server) topicConfigPost(w http.ResponseWriter, r *http.Request, _ httprouter.Params) (any, error) {
	topic, q, err := s.existingTopic(r)
	if err != nil {
		return nil, err
	}
	set, clear, err := settingsParams(q, true)
	if err != nil {
		return nil, err
	}
	if err := s.applyTopicSettings(topic, set, clear); err != nil {
		return nil, err
	}
	return s.topicConfig(topic)
}

func (s *Server) applyTopicSettings(topic string, set queue.Settings, clear []queue.Field) error {
	if set.IsZero() && len(clear) == 0 {
		return nil
	}
	return s.settingsRefused(s.daemon.ConfigureTopic(topic, set, clear))
}

// settingsRefused answers a Configure error: 404 for a missing object,
// 400 INVALID_ARG_<PARAMETER> for a refused value.
func (s *Server) settingsRefused(err error) error {
	if err == nil {
		return nil
	}
	if answer, ok := notFound(err); ok {
		return answer
	}
	return settingsError(err)
}

func (s *Server) channelConfigGet(w http.ResponseWriter, r *http.Request, _ httprouter.Params) (any, error) {
	topic, channel, err := s.topicChannelFromQuery(r)
	if err != nil {
		return nil, err
	}
	return s.channelConfig(topic, channel)
}

// channelConfigPost changes the channel's settings and answers the result.
func (s *Server) channelConfigPost(w http.ResponseWriter, r *http.Request, _ httprouter.Params) (any, error) {
	topic, channel, err := s.topicChannelFromQuery(r)
	if err != nil {
		return nil, err
	}
	// A missing channel is answered before its parameters are read.
	if _, err := s.channelConfig(topic, channel); err != nil {
		return nil, err
	}
	q, err := httpapi.Query(r)
	if err != nil {
		return nil, err
	}
	set, clear, err := settingsParams(q, false)
	if err != nil {
		return nil, err
	}
	if err := s.applyChannelSettings(topic, channel, set, clear); err != nil {
		return nil, err
	}
	return s.channelConfig(topic, channel)
}

func (s *Server) applyChannelSettings(topic, channel string, set queue.Settings, clear []queue.Field) error {
	if set.IsZero() && len(clear) == 0 {
		return nil
	}
	return s.settingsRefused(s.daemon.ConfigureChannel(topic, channel, set, clear))
}

// topicCreateConfigured is /topic/create with optional settings. Without
// any it is upstream's /topic/create exactly; with a bad one, the topic's
// own checks answer first and nothing is created.
func (s *Server) topicCreateConfigured(w http.ResponseWriter, r *http.Request, ps httprouter.Params) (any, error) {
	q, err := httpapi.Query(r)
	if err != nil {
		return nil, err
	}
	set, clear, settingsErr := settingsParams(q, true)
	if settingsErr != nil {
		name, err := topicNameParam(r)
		if err != nil {
			return nil, err
		}
		if !protocol.ValidName(name) {
			return nil, httpapi.Errorf(http.StatusBadRequest, "INVALID_TOPIC")
		}
		return nil, settingsErr
	}
	if _, err := s.topicCreate(w, r, ps); err != nil || set.IsZero() && len(clear) == 0 {
		return nil, err
	}
	// A topic deleted again between its creation and now is not found.
	name, _ := queryParam(q, "topic")
	return nil, s.applyTopicSettings(name, set, clear)
}

// channelCreateConfigured is /channel/create with optional settings, as
// topicCreateConfigured is /topic/create's.
func (s *Server) channelCreateConfigured(w http.ResponseWriter, r *http.Request, ps httprouter.Params) (any, error) {
	q, err := httpapi.Query(r)
	if err != nil {
		return nil, err
	}
	set, clear, settingsErr := settingsParams(q, false)
	if settingsErr == nil {
		// Refused here, before the channel exists, rather than after.
		topicName, _ := queryParam(q, "topic")
		if err := set.ValidateChannel(topicName); err != nil {
			settingsErr = settingsError(err)
		}
	}
	if settingsErr != nil {
		if _, _, err := s.topicChannelFromQuery(r); err != nil {
			return nil, err
		}
		return nil, settingsErr
	}
	if _, err := s.channelCreate(w, r, ps); err != nil || set.IsZero() && len(clear) == 0 {
		return nil, err
	}
	topic, channel, err := s.topicChannelFromQuery(r)
	if err != nil {
		return nil, err
	}
	return nil, s.applyChannelSettings(topic, channel, set, clear)
}

// DeadLetterTopicGranted is the --http-auth rule (nsqd/auth's HTTPGuard,
// given it by nsqd/http_auth.go) for a dead_letter_topic parameter: the
// channel will publish there, so the caller needs a publish grant on that
// topic as well as admin on the channel.
func DeadLetterTopicGranted(state *authclient.State, r *http.Request) bool {
	q, err := url.ParseQuery(r.URL.RawQuery)
	if err != nil {
		return true // answered 400 INVALID_REQUEST by the handler
	}
	topic, ok := queryParam(q, queue.FieldDeadLetterTopic.Name())
	return !ok || topic == "" || state.Allows(topic, "")
}
