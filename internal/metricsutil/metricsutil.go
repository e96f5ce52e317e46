package metricsutil

import (
	"net/http"
	"runtime"

	"github.com/nsqgo/nsq/internal/promexpo"
	"github.com/nsqgo/nsq/internal/version"
)

var buildInfoDesc = promexpo.NewDesc(promexpo.Gauge, "nsq_build_info",
	"Always 1; the labels say which build this is.", "version", "revision", "goversion")

// buildInfo is nsq_build_info: the semver /info reports, the commit
// --version shows (internal/version) and the Go release.
type buildInfo struct{ revision string }

func (b buildInfo) Collect(s *promexpo.Scrape) error {
	s.Value(buildInfoDesc, 1, version.Version, b.revision, runtime.Version())
	return nil
}

// Handler is a /metrics handler for own, the Go and process collectors
// and nsq_build_info. A collector that fails is logged through logf and
// the rest of the exposition still served.
func Handler(logf func(format string, args ...any), own ...promexpo.Collector) http.Handler {
	collectors := []promexpo.Collector{
		promexpo.NewGoCollector(),
		promexpo.NewProcessCollector(),
		buildInfo{revision: version.Commit()},
	}
	return promexpo.NewRegistry(func(format string, args ...any) { logf("METRICS: "+format, args...) },
		append(collectors, own...)...)
}
