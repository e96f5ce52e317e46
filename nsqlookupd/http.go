package nsqlookupd

import (
	"io"
	"net/http"
	"net/http/pprof"
	"net/url"

	"github.com/julienschmidt/httprouter"

	"github.com/nsqgo/nsq/internal/httpapi"
	"github.com/nsqgo/nsq/internal/logging"
	"github.com/nsqgo/nsq/internal/protocol"
)

// newHTTPHandler builds upstream 1.3's routes. Pre-1.0 aliases such as
// /create_topic are gone upstream and answer 404 here too.
func (l *NSQLookupd) newHTTPHandler() http.Handler {
	router := httpapi.NewRouter(func(format string, args ...any) { l.logf(logging.Error, format, args...) })

	router.GET("/ping", l.doPing)
	router.GET("/healthz", l.doHealthz) // ours (health.go)
	router.GET("/readyz", l.doReadyz)
	router.GET("/info", httpapi.V1(l.doInfo))

	router.GET("/debug", httpapi.V1(l.doDebug))
	router.GET("/lookup", httpapi.V1(l.doLookup))
	router.GET("/topics", httpapi.V1(l.doTopics))
	router.GET("/channels", httpapi.V1(l.doChannels))
	router.GET("/nodes", httpapi.V1(l.doNodes))

	router.POST("/topic/create", httpapi.V1(l.doCreateTopic))
	router.POST("/topic/delete", httpapi.V1(l.doDeleteTopic))
	router.POST("/channel/create", httpapi.V1(l.doCreateChannel))
	router.POST("/channel/delete", httpapi.V1(l.doDeleteChannel))
	router.POST("/topic/tombstone", httpapi.V1(l.doTombstoneTopicProducer))

	// Ours, beyond upstream's table (metrics.go).
	router.Handler(http.MethodGet, "/metrics", l.newMetricsHandler())

	router.HandlerFunc(http.MethodGet, "/debug/pprof", pprof.Index)
	router.HandlerFunc(http.MethodGet, "/debug/pprof/cmdline", pprof.Cmdline)
	router.HandlerFunc(http.MethodGet, "/debug/pprof/symbol", pprof.Symbol)
	router.HandlerFunc(http.MethodPost, "/debug/pprof/symbol", pprof.Symbol)
	router.HandlerFunc(http.MethodGet, "/debug/pprof/profile", pprof.Profile)
	router.Handler(http.MethodGet, "/debug/pprof/heap", pprof.Handler("heap"))
	router.Handler(http.MethodGet, "/debug/pprof/goroutine", pprof.Handler("goroutine"))
	router.Handler(http.MethodGet, "/debug/pprof/block", pprof.Handler("block"))
	router.Handler(http.MethodGet, "/debug/pprof/threadcreate", pprof.Handler("threadcreate"))
	return router
}

// doPing is plain text without the V1 header: load balancers probe it.
func (l *NSQLookupd) doPing(w http.ResponseWriter, r *http.Request, _ httprouter.Params) {
	w.WriteHeader(http.StatusOK)
	io.WriteString(w, "OK")
}

func (l *NSQLookupd) doInfo(http.ResponseWriter, *http.Request, httprouter.Params) (any, error) {
	return struct {
		Version string `json:"version"`
	}{Version}, nil
}

func (l *NSQLookupd) doDebug(http.ResponseWriter, *http.Request, httprouter.Params) (any, error) {
	return l.reg.debug(), nil
}

// param returns the first value of name and whether it was present at all:
// upstream treats "?topic=" as given (and then empty), not as missing.
func param(q url.Values, name string) (string, bool) {
	v, ok := q[name]
	if !ok || len(v) == 0 {
		return "", false
	}
	return v[0], true
}

// topicParam reads the required "topic" parameter without validating it.
func topicParam(r *http.Request) (string, error) {
	q, err := httpapi.Query(r)
	if err != nil {
		return "", err
	}
	topic, ok := param(q, "topic")
	if !ok {
		return "", httpapi.Errorf(http.StatusBadRequest, "MISSING_ARG_TOPIC")
	}
	return topic, nil
}

// topicChannelParams reads and validates "topic" and "channel" in
// upstream's order: topic missing, topic invalid, channel missing, invalid.
func topicChannelParams(r *http.Request) (string, string, error) {
	q, err := httpapi.Query(r)
	if err != nil {
		return "", "", err
	}
	topic, ok := param(q, "topic")
	if !ok {
		return "", "", httpapi.Errorf(http.StatusBadRequest, "MISSING_ARG_TOPIC")
	}
	if !protocol.ValidName(topic) {
		return "", "", httpapi.Errorf(http.StatusBadRequest, "INVALID_ARG_TOPIC")
	}
	channel, ok := param(q, "channel")
	if !ok {
		return "", "", httpapi.Errorf(http.StatusBadRequest, "MISSING_ARG_CHANNEL")
	}
	if !protocol.ValidName(channel) {
		return "", "", httpapi.Errorf(http.StatusBadRequest, "INVALID_ARG_CHANNEL")
	}
	return topic, channel, nil
}

func (l *NSQLookupd) doTopics(http.ResponseWriter, *http.Request, httprouter.Params) (any, error) {
	return struct {
		Topics []string `json:"topics"`
	}{l.reg.topicNames()}, nil
}

func (l *NSQLookupd) doChannels(_ http.ResponseWriter, r *http.Request, _ httprouter.Params) (any, error) {
	topic, err := topicParam(r)
	if err != nil {
		return nil, err
	}
	return struct {
		Channels []string `json:"channels"`
	}{l.reg.channelNames(topic)}, nil
}

// doLookup is the discovery call consumers poll. The name is not validated:
// an unknown (or impossible) topic is simply 404 TOPIC_NOT_FOUND.
func (l *NSQLookupd) doLookup(_ http.ResponseWriter, r *http.Request, _ httprouter.Params) (any, error) {
	topic, err := topicParam(r)
	if err != nil {
		return nil, err
	}
	channels, producers, found := l.reg.lookup(topic, l.clock.Now())
	if !found {
		return nil, httpapi.Errorf(http.StatusNotFound, "TOPIC_NOT_FOUND")
	}
	return struct {
		Channels  []string   `json:"channels"`
		Producers []PeerInfo `json:"producers"`
	}{channels, producers}, nil
}

func (l *NSQLookupd) doNodes(http.ResponseWriter, *http.Request, httprouter.Params) (any, error) {
	return struct {
		Producers []Node `json:"producers"`
	}{l.reg.nodes(l.clock.Now())}, nil
}

func (l *NSQLookupd) doCreateTopic(_ http.ResponseWriter, r *http.Request, _ httprouter.Params) (any, error) {
	topic, err := topicParam(r)
	if err != nil {
		return nil, err
	}
	if !protocol.ValidName(topic) {
		return nil, httpapi.Errorf(http.StatusBadRequest, "INVALID_ARG_TOPIC")
	}
	l.logf(logging.Info, "DB: adding topic(%s)", topic)
	l.reg.createTopic(topic)
	return nil, nil
}

// doDeleteTopic does not validate the name and succeeds for unknown topics.
func (l *NSQLookupd) doDeleteTopic(_ http.ResponseWriter, r *http.Request, _ httprouter.Params) (any, error) {
	topic, err := topicParam(r)
	if err != nil {
		return nil, err
	}
	channels, found := l.reg.deleteTopic(topic)
	for _, name := range channels {
		l.logf(logging.Info, "DB: removing channel(%s) from topic(%s)", name, topic)
	}
	if found {
		l.logf(logging.Info, "DB: removing topic(%s)", topic)
	}
	return nil, nil
}

func (l *NSQLookupd) doCreateChannel(_ http.ResponseWriter, r *http.Request, _ httprouter.Params) (any, error) {
	topic, channel, err := topicChannelParams(r)
	if err != nil {
		return nil, err
	}
	l.logf(logging.Info, "DB: adding channel(%s) in topic(%s)", channel, topic)
	l.reg.createChannel(topic, channel)
	return nil, nil
}

func (l *NSQLookupd) doDeleteChannel(_ http.ResponseWriter, r *http.Request, _ httprouter.Params) (any, error) {
	topic, channel, err := topicChannelParams(r)
	if err != nil {
		return nil, err
	}
	if !l.reg.deleteChannel(topic, channel) {
		return nil, httpapi.Errorf(http.StatusNotFound, "CHANNEL_NOT_FOUND")
	}
	l.logf(logging.Info, "DB: removing channel(%s) from topic(%s)", channel, topic)
	return nil, nil
}

// doTombstoneTopicProducer hides node (broadcast_address:http_port) from
// /lookup?topic= for the tombstone lifetime. Unknown node or topic is 200.
func (l *NSQLookupd) doTombstoneTopicProducer(_ http.ResponseWriter, r *http.Request, _ httprouter.Params) (any, error) {
	q, err := httpapi.Query(r)
	if err != nil {
		return nil, err
	}
	topic, ok := param(q, "topic")
	if !ok {
		return nil, httpapi.Errorf(http.StatusBadRequest, "MISSING_ARG_TOPIC")
	}
	node, ok := param(q, "node")
	if !ok {
		return nil, httpapi.Errorf(http.StatusBadRequest, "MISSING_ARG_NODE")
	}
	l.logf(logging.Info, "DB: setting tombstone for producer@%s of topic(%s)", node, topic)
	l.reg.tombstone(topic, node, l.clock.Now())
	return nil, nil
}
