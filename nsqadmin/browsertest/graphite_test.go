package browsertest

import (
	"bytes"
	"image"
	"image/png"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/nsqgo/nsq/nsqadmin"
)

// fakeGraphite answers /render with a small PNG and records each target.
type fakeGraphite struct {
	url     string
	mu      sync.Mutex
	targets []string
}

func startGraphite(t *testing.T) *fakeGraphite {
	t.Helper()
	var img bytes.Buffer
	require.NoError(t, png.Encode(&img, image.NewGray(image.Rect(0, 0, 4, 2))))
	g := &fakeGraphite{}
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/render" {
			http.NotFound(w, r)
			return
		}
		g.mu.Lock()
		g.targets = append(g.targets, r.URL.Query()["target"]...)
		g.mu.Unlock()
		w.Header().Set("Content-Type", "image/png")
		w.Write(img.Bytes())
	}))
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	srv.Listener = l
	srv.Start()
	t.Cleanup(srv.Close)
	g.url = srv.URL
	return g
}

func (g *fakeGraphite) asked(substr string) bool {
	g.mu.Lock()
	defer g.mu.Unlock()
	for _, target := range g.targets {
		if strings.Contains(target, substr) {
			return true
		}
	}
	return false
}

func TestGraphiteGraphsWithGraphiteURL(t *testing.T) {
	t.Parallel()
	b := newBrowser(t)
	for _, proxy := range []bool{false, true} {
		g := startGraphite(t)
		c := startCluster(t, func(o *nsqadmin.Options) {
			o.GraphiteURL = g.url
			o.ProxyGraphite = proxy
		})
		c.populate(t)

		b.open(c.url + "/topics/orders/archive")
		b.waitJS("three graphite graphs drawn", `document.querySelectorAll('img.graphite-graph').length === 3 && Array.prototype.every.call(document.querySelectorAll('img.graphite-graph'), function (i) { return i.complete && i.naturalWidth === 4; })`)
		src := eval[string](b, `document.querySelector('img.graphite-graph').getAttribute('src')`)
		if proxy {
			require.True(t, strings.HasPrefix(src, "/render?"), "proxied graph from %s", src)
		} else {
			require.True(t, strings.HasPrefix(src, g.url+"/render?"), "graph from %s", src)
		}
		// nsqd's statsd keys with the default prefix and formats, summed over hosts.
		for _, want := range []string{
			"sumSeries(stats.counters.nsq.*.topic.orders.channel.archive.message_count.count)",
			"sumSeries(stats.gauges.nsq.*.topic.orders.channel.archive.depth)",
			"sumSeries(stats.gauges.nsq.*.topic.orders.channel.archive.in_flight_count)",
		} {
			require.True(t, g.asked(want), "graphite was not asked for %s (proxy %v)", want, proxy)
		}

		b.open(c.url + "/topics/orders")
		b.waitJS("two graphite graphs drawn", `document.querySelectorAll('img.graphite-graph').length === 2 && Array.prototype.every.call(document.querySelectorAll('img.graphite-graph'), function (i) { return i.complete && i.naturalWidth === 4; })`)
		require.True(t, g.asked("sumSeries(stats.counters.nsq.*.topic.orders.message_count.count)"))
	}

	// Without --graphite-url there are none.
	c := startCluster(t, nil)
	c.populate(t)
	b.open(c.url + "/topics/orders")
	b.waitJS("the history graphs", `!!document.querySelector('svg.chart[data-series="depth"]')`)
	require.Equal(t, 0, eval[int](b, `document.querySelectorAll('img.graphite-graph').length`))
}
