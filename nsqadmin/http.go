package nsqadmin

import (
	"errors"
	"fmt"
	"net/http"
	"path"
	"strings"

	"github.com/julienschmidt/httprouter"
	"github.com/klauspost/compress/gzhttp"

	"github.com/nsqgo/nsq/internal/httpapi"
	"github.com/nsqgo/nsq/internal/logging"
	"github.com/nsqgo/nsq/nsqadmin/ui"
)

// newHTTPHandler routes {base-path}/api/... and /ping and /config as
// upstream, and hands every other GET under the base path to the web app.
func (n *NSQAdmin) newHTTPHandler() http.Handler {
	opts := n.getOpts()
	base := opts.BasePath
	bp := func(p string) string { return path.Join(base, p) }
	router := httpapi.NewRouter(func(format string, args ...any) { n.logf(logging.Error, format, args...) })
	// The router's trailing-slash redirects would send a page such as
	// /topics/ (the app's) to an API-less path; the app handles both.
	router.RedirectTrailingSlash = false

	app := ui.Handler(base)
	apiPrefix := bp("/api") + "/"
	router.NotFound = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		underBase := base == "/" || r.URL.Path == base || strings.HasPrefix(r.URL.Path, base+"/")
		isAPI := r.URL.Path == bp("/api") || strings.HasPrefix(r.URL.Path, apiPrefix)
		if (r.Method == http.MethodGet || r.Method == http.MethodHead) && underBase && !isAPI {
			app.ServeHTTP(w, r)
			return
		}
		httpapi.RespondError(w, httpapi.Errorf(http.StatusNotFound, "NOT_FOUND"))
	})

	get := func(p string, h httpapi.Handler) { router.GET(bp(p), httpapi.V1(h)) }
	action := func(method, p string, h httpapi.Handler) {
		router.Handle(method, bp(p), httpapi.V1(n.countAction(method, p, n.sameOrigin(h))))
	}

	router.GET(bp("/ping"), func(w http.ResponseWriter, r *http.Request, _ httprouter.Params) {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		w.Write([]byte("OK"))
	})
	router.Handler(http.MethodGet, bp("/metrics"), n.metricsHandler())

	get("/api/topics", n.topicsHandler)
	get("/api/topics/:topic", n.topicHandler)
	get("/api/topics/:topic/:channel", n.channelHandler)
	get("/api/nodes", n.nodesHandler)
	get("/api/nodes/:node", n.nodeHandler)
	get("/api/counter", n.counterHandler)
	get("/api/graphite", n.graphiteHandler)
	get("/api/settings", n.settingsHandler)
	get("/api/history", n.historyHandler)

	action(http.MethodPost, "/api/topics", n.createTopicChannelHandler)
	action(http.MethodPost, "/api/topics/:topic", n.topicActionHandler)
	action(http.MethodPost, "/api/topics/:topic/:channel", n.channelActionHandler)
	action(http.MethodDelete, "/api/nodes/:node", n.tombstoneNodeForTopicHandler)
	action(http.MethodDelete, "/api/topics/:topic", n.deleteTopicHandler)
	action(http.MethodDelete, "/api/topics/:topic/:channel", n.deleteChannelHandler)
	action(http.MethodPost, "/api/auth", n.authLoginHandler)
	action(http.MethodDelete, "/api/auth", n.authLogoutHandler)

	router.GET(bp("/config/:opt"), httpapi.V1(n.configHandler))
	router.PUT(bp("/config/:opt"), httpapi.V1(n.configHandler))

	if opts.ProxyGraphite && n.graphiteURL != nil {
		router.Handler(http.MethodGet, bp("/render"), n.graphiteProxy())
	}
	// Answers are gzipped for clients that accept it, as upstream's are:
	// a big cluster's channel page with clients is megabytes of JSON.
	compressed, err := gzhttp.NewWrapper()
	if err != nil {
		n.logf(logging.Error, "gzip disabled - %s", err)
		return n.logRequests(router)
	}
	return n.logRequests(compressed(router))
}

// warnings collects what upstream reports in "message" when some nodes
// answered and others did not.
type warnings []string

// message is upstream's "message" field: empty, or "WARNING: " and each
// partial failure.
func (w warnings) message() string {
	if len(w) == 0 {
		return ""
	}
	return "WARNING: " + strings.Join(w, "; ")
}

// check sorts a cluster error: a partial one becomes a warning, a total
// one (no node answered) upstream's 502 UPSTREAM_ERROR.
func (n *NSQAdmin) check(w *warnings, err error, what string) error {
	if err == nil {
		return nil
	}
	var partial partialError
	if errors.As(err, &partial) {
		n.logf(logging.Warn, "%s", err)
		*w = append(*w, err.Error())
		return nil
	}
	n.logf(logging.Error, "failed to %s - %s", what, err)
	return httpapi.Errorf(http.StatusBadGateway, fmt.Sprintf("UPSTREAM_ERROR: %s", err))
}
