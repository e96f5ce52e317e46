package nsqadmin

import (
	"fmt"
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"time"

	"github.com/julienschmidt/httprouter"

	"github.com/nsqgo/nsq/internal/httpapi"
	"github.com/nsqgo/nsq/internal/logging"
)

// graphiteHandler is GET /api/graphite?metric=rate&target=...: the rate
// of a statsd counter over the last full statsd interval, per second, as
// {"rate":"12.34"} or "N/A" (upstream's answer).
func (n *NSQAdmin) graphiteHandler(w http.ResponseWriter, r *http.Request, _ httprouter.Params) (any, error) {
	query, err := httpapi.Query(r)
	if err != nil {
		return nil, err
	}
	if query.Get("metric") != "rate" {
		return nil, httpapi.Errorf(http.StatusBadRequest, "INVALID_ARG_METRIC")
	}
	if !query.Has("target") {
		return nil, httpapi.Errorf(http.StatusBadRequest, "INVALID_ARG_TARGET")
	}
	opts := n.getOpts()
	interval := int64(opts.StatsdInterval / time.Second)
	params := url.Values{}
	params.Set("from", fmt.Sprintf("-%dsec", interval*2))
	params.Set("until", fmt.Sprintf("-%dsec", interval))
	params.Set("format", "json")
	params.Set("target", query.Get("target"))
	endpoint := opts.GraphiteURL + "/render?" + params.Encode()
	n.logf(logging.Info, "GRAPHITE: %s", endpoint)

	var response []struct {
		Target     string       `json:"target"`
		DataPoints [][]*float64 `json:"datapoints"`
	}
	if err := n.cluster.nodes.get(r.Context(), endpoint, &response); err != nil {
		n.logf(logging.Error, "graphite request failed - %s", err)
		return nil, httpapi.Errorf(http.StatusInternalServerError, "INTERNAL_ERROR")
	}
	rate := "N/A"
	// Graphite answers null for a point it has no data for.
	if len(response) > 0 && len(response[0].DataPoints) > 0 && len(response[0].DataPoints[0]) > 0 &&
		response[0].DataPoints[0][0] != nil && *response[0].DataPoints[0][0] >= 0 && interval > 0 {
		rate = fmt.Sprintf("%.2f", *response[0].DataPoints[0][0]/float64(interval))
	}
	return struct {
		Rate string `json:"rate"`
	}{rate}, nil
}

// graphiteProxy forwards {base-path}/render to --graphite-url
// (--proxy-graphite), with the URL's user and password as basic auth.
func (n *NSQAdmin) graphiteProxy() http.Handler {
	opts := n.getOpts()
	target := n.graphiteURL
	return &httputil.ReverseProxy{
		Rewrite: func(pr *httputil.ProxyRequest) {
			pr.Out.URL.Scheme = target.Scheme
			pr.Out.URL.Host = target.Host
			pr.Out.URL.Path = singleJoiningSlash(target.Path, "/render")
			pr.Out.Host = target.Host
			if target.User != nil {
				password, _ := target.User.Password()
				pr.Out.SetBasicAuth(target.User.Username(), password)
			}
		},
		Transport: &http.Transport{
			DialContext:           (&net.Dialer{Timeout: opts.HTTPClientConnectTimeout}).DialContext,
			ResponseHeaderTimeout: opts.HTTPClientRequestTimeout,
		},
	}
}

func singleJoiningSlash(a, b string) string {
	if len(a) > 0 && a[len(a)-1] == '/' {
		return a + b[1:]
	}
	return a + b
}
