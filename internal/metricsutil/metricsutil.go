package metricsutil

import (
	"fmt"
	"net/http"
	"runtime"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/nsqgo/nsq/internal/version"
)

var buildInfoDesc = prometheus.NewDesc("nsq_build_info",
	"Always 1; the labels say which build this is.", []string{"version", "revision", "goversion"}, nil)

// buildInfo is nsq_build_info: the semver /info reports, the commit
// --version shows (internal/version) and the Go release.
type buildInfo struct{ revision string }

func (buildInfo) Describe(ch chan<- *prometheus.Desc) { ch <- buildInfoDesc }

func (b buildInfo) Collect(ch chan<- prometheus.Metric) {
	ch <- prometheus.MustNewConstMetric(buildInfoDesc, prometheus.GaugeValue, 1, version.Version, b.revision, runtime.Version())
}

// Handler is a /metrics handler for a fresh registry holding own, the Go
// and process collectors and nsq_build_info. A collector that fails is
// logged through logf and the rest of the exposition still served.
func Handler(logf func(format string, args ...any), own ...prometheus.Collector) http.Handler {
	registry := prometheus.NewRegistry()
	registry.MustRegister(
		collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
		buildInfo{revision: version.Commit()},
	)
	registry.MustRegister(own...)
	return promhttp.HandlerFor(registry, promhttp.HandlerOpts{
		ErrorHandling: promhttp.ContinueOnError,
		ErrorLog:      errorLog(logf),
	})
}

// errorLog adapts logf to promhttp's Println logger.
type errorLog func(format string, args ...any)

func (l errorLog) Println(v ...any) { l("METRICS: %s", fmt.Sprint(v...)) }
