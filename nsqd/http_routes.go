package nsqd

import (
	"net/http"

	"github.com/julienschmidt/httprouter"
	"github.com/nsqgo/nsq/internal/httpapi"
)

func (s *httpServer) routes(router *httprouter.Router) {
	router.GET("/ping", func(w http.ResponseWriter, r *http.Request, _ httprouter.Params) {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		w.Write([]byte("OK"))
	})
	router.POST("/topic/create", httpapi.V1(s.topicCreate))
	router.POST("/channel/create", httpapi.V1(s.channelCreate))
}

func (s *httpServer) topicCreate(w http.ResponseWriter, r *http.Request, _ httprouter.Params) (any, error) {
	q, err := httpapi.Query(r)
	if err != nil {
		return nil, err
	}
	name := q.Get("topic")
	if name == "" {
		return nil, httpapi.Errorf(400, "MISSING_ARG_TOPIC")
	}
	if !ValidName(name) {
		return nil, httpapi.Errorf(400, "INVALID_TOPIC")
	}
	_, err = s.nsqd.GetTopic(name)
	return nil, err
}

func (s *httpServer) channelCreate(w http.ResponseWriter, r *http.Request, _ httprouter.Params) (any, error) {
	q, err := httpapi.Query(r)
	if err != nil {
		return nil, err
	}
	topic, err := s.nsqd.GetExistingTopic(q.Get("topic"))
	if err != nil {
		return nil, httpapi.Errorf(404, "TOPIC_NOT_FOUND")
	}
	_, err = topic.GetChannel(q.Get("channel"))
	return nil, err
}
