package nsqd

import (
	"net/http/pprof"

	"github.com/julienschmidt/httprouter"
	"github.com/nsqgo/nsq/internal/httpapi"
)

// routes installs upstream 1.3's route table, no more and no less: the
// pre-1.0 aliases (/put, /mput, /create_topic, ...) were removed upstream
// in 1.0 and must 404 here too, and /debug/pprof/allocs, mutex and trace
// are not routed upstream either.
func (s *httpServer) routes(router *httprouter.Router) {
	router.GET("/ping", s.ping)
	router.GET("/healthz", s.healthz) // ours (health_probes.go)
	router.GET("/readyz", s.readyz)
	router.GET("/info", httpapi.V1(s.info))

	router.POST("/pub", httpapi.V1(s.countHTTPPublish(s.pub)))
	router.POST("/mpub", httpapi.V1(s.countHTTPPublish(s.mpub)))
	router.GET("/stats", httpapi.V1(s.stats))
	// Ours, beyond upstream's table (metrics.go).
	router.Handler("GET", "/metrics", s.nsqd.metrics.handler)

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
	s.objectConfigRoutes(router) // ours: /topic/config, /channel/config (http_object_config.go)

	s.peekRoutes(router) // ours: peek and the dead set's admin (http_peek.go, http_dead.go)

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
