package nsqd

import (
	"errors"
	"net/http"
	"net/url"
	"strings"

	"github.com/julienschmidt/httprouter"
	"github.com/nsqgo/nsq/internal/httpapi"
	"github.com/nsqgo/nsq/nsqd/queue"
)

// Per-object queue settings over HTTP (ours, issue 12), in the API's verb
// style: POST /topic/config and /channel/config change a topic's or a
// channel's own settings, GET of the same paths shows the effective values
// and where each comes from, and /topic/create and /channel/create take
// the same parameters. A parameter given empty ("max_depth=") removes the
// object's own value, so it inherits again. A bad value is 400
// INVALID_ARG_<PARAMETER>; the topic and channel checks come first, with
// the tokens of the endpoints they extend (http_admin.go).

// objectConfigRoutes adds /topic/config and /channel/config.
func (s *httpServer) objectConfigRoutes(router *httprouter.Router) {
	router.GET("/topic/config", httpapi.V1(s.topicConfigGet))
	router.POST("/topic/config", httpapi.V1(s.topicConfigPost))
	router.GET("/channel/config", httpapi.V1(s.channelConfigGet))
	router.POST("/channel/config", httpapi.V1(s.channelConfigPost))
}

// topicConfig is the answer of /topic/config: the effective values (msg_ttl
// in milliseconds, as it is given) and their sources.
type topicConfig struct {
	Topic    string         `json:"topic"`
	MsgTTL   int64          `json:"msg_ttl"`
	MaxDepth int64          `json:"max_depth"`
	MaxBytes int64          `json:"max_bytes"`
	Overflow queue.Overflow `json:"overflow"`
	Source   topicSources   `json:"source"`
}

type topicSources struct {
	MsgTTL   queue.Source `json:"msg_ttl"`
	MaxDepth queue.Source `json:"max_depth"`
	MaxBytes queue.Source `json:"max_bytes"`
	Overflow queue.Source `json:"overflow"`
}

// channelConfig is the answer of /channel/config. dead_letter_topic ""
// means dead messages stay in the channel's dead set; max_dead_depth is
// the flag's (it has no per-channel setting).
type channelConfig struct {
	Topic           string         `json:"topic"`
	Channel         string         `json:"channel"`
	MaxAttempts     uint16         `json:"max_attempts"`
	MsgTTL          int64          `json:"msg_ttl"`
	MaxDepth        int64          `json:"max_depth"`
	MaxBytes        int64          `json:"max_bytes"`
	Overflow        queue.Overflow `json:"overflow"`
	DeadLetterTopic string         `json:"dead_letter_topic"`
	MaxDeadDepth    int64          `json:"max_dead_depth"`
	Source          channelSources `json:"source"`
}

type channelSources struct {
	MaxAttempts     queue.Source `json:"max_attempts"`
	MsgTTL          queue.Source `json:"msg_ttl"`
	MaxDepth        queue.Source `json:"max_depth"`
	MaxBytes        queue.Source `json:"max_bytes"`
	Overflow        queue.Source `json:"overflow"`
	DeadLetterTopic queue.Source `json:"dead_letter_topic"`
	MaxDeadDepth    queue.Source `json:"max_dead_depth"`
}

func newTopicConfig(t *Topic) topicConfig {
	e := t.effectivePolicy()
	return topicConfig{
		Topic: t.name, MsgTTL: e.MsgTTL.Milliseconds(), MaxDepth: e.MaxDepth, MaxBytes: e.MaxBytes, Overflow: e.Overflow,
		Source: topicSources{MsgTTL: e.Sources.MsgTTL, MaxDepth: e.Sources.MaxDepth, MaxBytes: e.Sources.MaxBytes, Overflow: e.Sources.Overflow},
	}
}

func newChannelConfig(c *Channel) channelConfig {
	e := c.effectivePolicy()
	return channelConfig{
		Topic: c.topicName, Channel: c.name,
		MaxAttempts: e.MaxAttempts, MsgTTL: e.MsgTTL.Milliseconds(), MaxDepth: e.MaxDepth, MaxBytes: e.MaxBytes,
		Overflow: e.Overflow, DeadLetterTopic: e.DeadLetterTopic, MaxDeadDepth: e.MaxDeadDepth,
		Source: channelSources{
			MaxAttempts: e.Sources.MaxAttempts, MsgTTL: e.Sources.MsgTTL, MaxDepth: e.Sources.MaxDepth,
			MaxBytes: e.Sources.MaxBytes, Overflow: e.Sources.Overflow, DeadLetterTopic: e.Sources.DeadLetterTopic,
			MaxDeadDepth: e.Sources.MaxDeadDepth,
		},
	}
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
func (s *httpServer) existingTopic(r *http.Request) (*Topic, url.Values, error) {
	name, err := topicNameParam(r)
	if err != nil {
		return nil, nil, err
	}
	if !ValidName(name) {
		return nil, nil, httpapi.Errorf(http.StatusBadRequest, "INVALID_TOPIC")
	}
	topic, err := s.nsqd.GetExistingTopic(name)
	if err != nil {
		return nil, nil, httpapi.Errorf(http.StatusNotFound, "TOPIC_NOT_FOUND")
	}
	q, err := httpapi.Query(r)
	return topic, q, err
}

func (s *httpServer) topicConfigGet(w http.ResponseWriter, r *http.Request, _ httprouter.Params) (any, error) {
	topic, _, err := s.existingTopic(r)
	if err != nil {
		return nil, err
	}
	return newTopicConfig(topic), nil
}

// topicConfigPost changes the topic's settings and answers the result.
func (s *httpServer) topicConfigPost(w http.ResponseWriter, r *http.Request, _ httprouter.Params) (any, error) {
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
	return newTopicConfig(topic), nil
}

func (s *httpServer) applyTopicSettings(topic *Topic, set queue.Settings, clear []queue.Field) error {
	if set.IsZero() && len(clear) == 0 {
		return nil
	}
	if err := topic.updateSettings(set, clear); err != nil {
		return settingsError(err)
	}
	s.nsqd.logf(infoLevel, "TOPIC(%s): settings now %s", topic.name, settingsText(topic.settings()))
	s.nsqd.metadataChanged()
	return nil
}

func (s *httpServer) channelConfigGet(w http.ResponseWriter, r *http.Request, _ httprouter.Params) (any, error) {
	channel, err := s.existingChannel(r)
	if err != nil {
		return nil, err
	}
	return newChannelConfig(channel), nil
}

// channelConfigPost changes the channel's settings and answers the result.
func (s *httpServer) channelConfigPost(w http.ResponseWriter, r *http.Request, _ httprouter.Params) (any, error) {
	topic, channelName, err := s.topicChannelFromQuery(r)
	if err != nil {
		return nil, err
	}
	channel, err := topic.GetExistingChannel(channelName)
	if err != nil {
		return nil, httpapi.Errorf(http.StatusNotFound, "CHANNEL_NOT_FOUND")
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
	return newChannelConfig(channel), nil
}

func (s *httpServer) applyChannelSettings(topic *Topic, channel *Channel, set queue.Settings, clear []queue.Field) error {
	if set.IsZero() && len(clear) == 0 {
		return nil
	}
	if err := channel.updateSettings(topic, set, clear); err != nil {
		return settingsError(err)
	}
	s.nsqd.logf(infoLevel, "TOPIC(%s): channel(%s) settings now %s", topic.name, channel.name, settingsText(channel.settings()))
	s.nsqd.metadataChanged()
	return nil
}

// topicCreateConfigured is /topic/create with optional settings. Without
// any it is upstream's /topic/create exactly; with a bad one, the topic's
// own checks answer first and nothing is created.
func (s *httpServer) topicCreateConfigured(w http.ResponseWriter, r *http.Request, ps httprouter.Params) (any, error) {
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
		if !ValidName(name) {
			return nil, httpapi.Errorf(http.StatusBadRequest, "INVALID_TOPIC")
		}
		return nil, settingsErr
	}
	if _, err := s.topicCreate(w, r, ps); err != nil || set.IsZero() && len(clear) == 0 {
		return nil, err
	}
	name, _ := queryParam(q, "topic")
	topic, err := s.nsqd.GetExistingTopic(name)
	if err != nil {
		// Deleted again between its creation and now.
		return nil, httpapi.Errorf(http.StatusNotFound, "TOPIC_NOT_FOUND")
	}
	return nil, s.applyTopicSettings(topic, set, clear)
}

// channelCreateConfigured is /channel/create with optional settings, as
// topicCreateConfigured is /topic/create's.
func (s *httpServer) channelCreateConfigured(w http.ResponseWriter, r *http.Request, ps httprouter.Params) (any, error) {
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
	topic, channelName, err := s.topicChannelFromQuery(r)
	if err != nil {
		return nil, err
	}
	channel, err := topic.GetExistingChannel(channelName)
	if err != nil {
		return nil, httpapi.Errorf(http.StatusNotFound, "CHANNEL_NOT_FOUND")
	}
	return nil, s.applyChannelSettings(topic, channel, set, clear)
}

// deadLetterTopicGranted is the HTTP auth rule (http_auth.go) for a
// dead_letter_topic parameter: the channel will publish there, so the
// caller needs a publish grant on that topic as well as admin on the
// channel.
func deadLetterTopicGranted(state *authState, r *http.Request) bool {
	q, err := url.ParseQuery(r.URL.RawQuery)
	if err != nil {
		return true // answered 400 INVALID_REQUEST by the handler
	}
	topic, ok := queryParam(q, queue.FieldDeadLetterTopic.Name())
	return !ok || topic == "" || state.allows(topic, "")
}

// settingsText renders settings for the log, as nsqd.dat has them.
func settingsText(s queue.Settings) string {
	data, err := s.MarshalJSON()
	if err != nil {
		return err.Error()
	}
	return string(data)
}
