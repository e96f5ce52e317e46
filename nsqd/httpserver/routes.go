package httpserver

import (
	"errors"
	"net/http"
	"net/http/pprof"

	"github.com/julienschmidt/httprouter"
	"github.com/nsqgo/nsq/internal/httpapi"
)

// routes installs upstream 1.3's route table, no more and no less: the
// pre-1.0 aliases (/put, /mput, /create_topic, ...) were removed upstream
// in 1.0 and must 404 here too, and /debug/pprof/allocs, mutex and trace
// are not routed upstream either.
func (s *Server) routes(router *httprouter.Router) {
	router.GET("/ping", s.ping)
	router.GET("/healthz", s.healthz) // ours (probes.go)
	router.GET("/readyz", s.readyz)
	router.GET("/info", httpapi.V1(s.info))

	router.POST("/pub", httpapi.V1(s.countPublish(s.pub)))
	router.POST("/mpub", httpapi.V1(s.countPublish(s.mpub)))
	router.GET("/stats", httpapi.V1(s.stats))
	// Ours, beyond upstream's table: the daemon's Prometheus exposition.
	router.Handler("GET", "/metrics", s.daemon.Metrics())

	router.POST("/topic/create", httpapi.V1(s.topicCreateConfigured))
	router.POST("/topic/delete", httpapi.V1(s.topicDelete))
	router.POST("/topic/empty", httpapi.V1(s.topicEmpty))
	router.POST("/topic/pause", httpapi.V1(s.topicPause))
	router.POST("/topic/unpause", httpapi.V1(s.topicUnpause))
	router.POST("/channel/create", httpapi.V1(s.channelCreateConfigured))
	router.POST("/channel/delete", httpapi.V1(s.channelDelete))
	router.POST("/channel/empty", httpapi.V1(s.channelEmpty))
	router.POST("/channel/pause", httpapi.V1(s.channelPause))
	router.POST("/channel/unpause", httpapi.V1(s.channelUnpause))
	s.objectConfigRoutes(router) // ours: /topic/config, /channel/config (object_config.go)

	s.peekRoutes(router) // ours: peek and the dead set's admin (peek.go, dead.go)

	router.GET("/config/:opt", httpapi.V1(s.configGet))
	router.PUT("/config/:opt", httpapi.V1(s.configPut))

	router.HandlerFunc("GET", "/debug/pprof/", pprof.Index)
	router.HandlerFunc("GET", "/debug/pprof/cmdline", pprof.Cmdline)
	router.HandlerFunc("GET", "/debug/pprof/symbol", pprof.Symbol)
	router.HandlerFunc("POST", "/debug/pprof/symbol", pprof.Symbol)
	router.HandlerFunc("GET", "/debug/pprof/profile", pprof.Profile)
	router.Handler("GET", "/debug/pprof/heap", pprof.Handler("heap"))
	router.Handler("GET", "/debug/pprof/goroutine", pprof.Handler("goroutine"))
	router.Handler("GET", "/debug/pprof/block", pprof.Handler("block"))
	router.Handler("GET", "/debug/pprof/threadcreate", pprof.Handler("threadcreate"))
	router.PUT("/debug/setblockrate", s.setBlockRate)
	router.POST("/debug/freememory", s.freeMemory)
}

// countPublish wraps /pub and /mpub, counting a refusal by the message of
// its V1 error ("MSG_TOO_BIG", "BAD_TOPIC", ...).
func (s *Server) countPublish(h httpapi.Handler) httpapi.Handler {
	return func(w http.ResponseWriter, r *http.Request, ps httprouter.Params) (any, error) {
		data, err := h(w, r, ps)
		if err != nil {
			reason := "INTERNAL_ERROR"
			var apiErr httpapi.Error
			if errors.As(err, &apiErr) {
				reason = apiErr.Message
			}
			s.daemon.PublishRefused(reason)
		}
		return data, err
	}
}
